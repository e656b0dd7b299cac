"""`bridge-bench`: thin argparse front end. Bad input (`errors.InputError`): one line naming it on
stderr, exit 2; a bug: its traceback, exit 3; asv failing: exit 1."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from bridge_bench import catalogue, errors, estimate, inputs, messages, options, pins, suite
from bridge_bench.measure import context, plan
from bridge_bench.drive import asvrun, fidelity, releases, rounds
from bridge_bench.read import problems, sweep_folder

EXIT_BAD_INPUT = 2
#: A bug in bridge-bench itself: the traceback is printed; the nightly workflow fails on it.
EXIT_INTERNAL = 3
DESCRIPTION = ("What it costs to move data across the NumPy <-> PyTorch bridge: zero-copy against copying "
               "conversions and host <-> CUDA transfers, timed with asv, reported and compared.")


def _require_torch() -> None:
    """The commands that run the suite or the probe need torch, which the package leaves to the user to pin."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise errors.InputError(f"torch is not installed for {sys.executable}: this command runs conversions; "
                                f"install a pinned build first, e.g. {pins.install_hint()} (README: an unpinned "
                                "torch is a multi-GB CUDA build)")


_size = options.argument(inputs.parse_size)
#: NAME=VALUE of an environment variable; set to '' is allowed.
_assignment = options.argument(options.key_value, empty_value=True, what="environment variable",
                               example="OMP_NUM_THREADS=1")


def cmd_list(args) -> int:
    rows = []
    for p in catalogue.CATALOGUE:
        needs = [x for x in (p.cuda and "CUDA", p.min_torch and f"torch>={p.min_torch}",
                             p.min_numpy and f"numpy>={p.min_numpy}") if x]
        rows.append({"id": p.id, "direction": p.direction, "shares": "yes" if p.shares else "no",
                     "code": p.label, "needs": ", ".join(needs), "note": p.note})
    from tabulate import tabulate

    print(tabulate(rows, headers="keys", tablefmt="simple"))
    return 0


def cmd_machine(args) -> int:
    entry = context.update_machine_file(args.machine, context.machine_entry(), path=args.file)
    print(json.dumps(entry, indent=2, sort_keys=True))
    return 0


def _default_machine() -> str:
    from asv.machine import Machine

    return Machine.get_unique_machine_name()


def cmd_run(args) -> int:
    entry = context.update_machine_file(args.machine, context.machine_entry())
    print("context: " + ", ".join(f"{k}={entry[k]}" for k in
                                  ("torch", "numpy", "torch_threads", "thp", "THP_MEM_ALLOC_ENABLE", "cpu")),
          file=sys.stderr)
    extra = ["--quick"] * args.quick + ["--show-stderr"] * args.show_stderr
    mode = "rigorous" if args.rigorous else "adaptive"
    rounds.run(args.config, args.machine, suite.with_readings(args.bench), mode=mode, extra=extra,
               rounds=1 if args.quick else plan.LOOKS, keep_looks=args.keep_looks)
    if not args.no_publish:
        asvrun.run_asv(["publish", "--config", str(args.config)], cwd=args.config.resolve().parent)
        conf = asvrun.load_config(args.config)
        print(f"dashboard: {(args.config.resolve().parent / conf.get('html_dir', 'html') / 'index.html')}"
              f"  (serve it: asv preview --config {args.config})", file=sys.stderr)
    return 0


def cmd_releases(args) -> int:
    config = args.config or sweep_folder.default(sweep_folder.CONFIG)
    return releases.run(config, args.machine, args.torch, args.keep_envs, args.bench)


def cmd_finalize(args) -> int:
    from asv.util import UserError

    for folder in args.results_dir:
        if not folder.is_dir():
            raise errors.InputError(f"{folder}: no such results directory")
        try:
            changed = estimate.finalize(folder)
        except (UserError, ValueError, KeyError, IndexError) as exc:
            raise errors.InputError(f"{folder}: a result file is not asv's ({messages.first_line(exc)}); "
                                    "nothing after it was changed")
        print(f"{folder}: {changed} timed results now carry the median of their quiet looks", file=sys.stderr)
    return 0


def cmd_fidelity(args) -> int:
    batch = inputs.BATCH_CHECK[0] if args.batch else None
    paths = args.path or (fidelity.batch_paths() if args.batch else list(fidelity.DEFAULT_PATHS))
    sizes = args.size or ([inputs.BATCH_CHECK[1]] if args.batch else list(fidelity.DEFAULT_SIZES))
    fidelity.validate(paths, sizes, batch)
    rows = fidelity.run(args.config, paths, sizes, batch=batch)
    print(fidelity.render(rows, args.threshold))
    return 0 if fidelity.passed(rows, args.threshold) else 1


def cmd_noise(args) -> int:
    from bridge_bench.read import noise

    if len(args.runs) < 2:
        raise errors.InputError("give two or more runs: the noise is what they disagree on")
    runs = [noise.load_run(source) for source in args.runs]
    print(noise.render(args.runs, runs, fidelity.zero_copy_loops() if args.tight_loop else None))
    return 0


def cmd_semantics(args) -> int:
    from bridge_bench import outcomes
    from bridge_bench.measure import semantics

    jobs = semantics.jobs_for(args.path, args.dtype, args.layout, args.size)
    print(f"probing {len(jobs)} cases in worker processes", file=sys.stderr)
    records = semantics.run(jobs, workers=args.jobs, progress=messages.count)
    if args.json:
        semantics.write(records, args.size, sys.stdout)
    else:
        print(outcomes.render(records))
    return 0


def cmd_ceilings(args) -> int:
    from bridge_bench.read import ceilings, results

    frame = results.load(args.results_dir).frame
    print(ceilings.render(frame))
    return 1 if len(ceilings.violations(frame)) else 0


def cmd_gpu_check(args) -> int:
    from bridge_bench.drive import gpucheck

    return gpucheck.run(args.config, args.out, args.machine, args.allow_no_cuda)


def cmd_compare(args) -> int:
    from bridge_bench.read import compare, gate

    if args.history is not None and args.history < 1:
        raise errors.InputError(f"--history {args.history}: give a number of runs, 1 or more (e.g. 7 nights)")
    both = compare.parse_filters(args.both)
    base = compare.Side(args.baseline, {**both, **compare.parse_filters(args.base_filters)}, history=args.history)
    cand = compare.Side(args.candidate, {**both, **compare.parse_filters(args.cand_filters)})
    factors = gate.factors_for(args.factor, args.memory_factor, args.cache_factor)
    return _print_comparison(compare.compare(base, cand, factors), args)


def _print_comparison(result, args) -> int:
    """compare's answer on stdout in the format asked for, then the input's problems; 1 on regressions."""
    from bridge_bench.write import comparison

    if args.json:
        json.dump(comparison.to_json(result), sys.stdout, indent=1, default=str)
        print()
    elif args.markdown:
        print(comparison.render_markdown(result, args.all), end="")
    else:
        print(comparison.render_text(result, args.all))
    sys.stdout.flush()
    _warn(result.warnings, "every one is in the output of --json ('warnings')")
    return 1 if len(result.regressions) else 0


def _warn(warnings: list[str], listed: str) -> None:
    """The input's problems on stderr, after the answer: a few lines however many files had one."""
    for line in problems.summary(warnings, listed):
        print(f"bridge-bench: warning: {line}", file=sys.stderr)


def cmd_paired(args) -> int:
    from bridge_bench.read import compare, gate

    if args.out.exists() and any(args.out.iterdir()):
        raise errors.InputError(f"--out {args.out}: not empty; give a new folder (paired runs never overwrite results)")
    for flag, python in (("--baseline-python", args.baseline_python), ("--candidate-python", args.candidate_python)):
        if python and not Path(python).is_file():
            raise errors.InputError(f"{flag} {python}: no such interpreter")
    factors = gate.factors_for(args.factor, args.memory_factor, args.cache_factor, defaults=gate.PAIRED_FACTORS)
    sides = {"baseline": (args.baseline_python, dict(args.baseline_env)),
             "candidate": (args.candidate_python, dict(args.candidate_env))}
    dirs = rounds.paired(args.config, sides, suite.with_readings(args.bench), args.out, args.rounds)
    sides = compare.Side(dirs["baseline"]), compare.Side(dirs["candidate"])
    return _print_comparison(compare.compare(*sides, factors), args)


def cmd_report(args) -> int:
    from bridge_bench.write import report

    loaded = report.build(args.results_dir, args.out, semantics_file=args.semantics, progress=messages.progress,
                          all_runs=args.all_runs)
    print(args.out / "index.html", flush=True)
    _warn(loaded.warnings, f"every one is listed at the end of {args.out / 'report.md'}")
    return 0


def cmd_releases_report(args) -> int:
    from bridge_bench.write import releases_report

    releases_report.build(args.results_dir or sweep_folder.default(sweep_folder.RESULTS), args.semantics, args.out,
                          progress=messages.progress)
    print(args.out / "index.html")
    return 0


def _compare_options(p) -> None:
    p.add_argument("--factor", type=float, default=None,
                   help="smallest ratio that counts for call-bound timed cases "
                        "(default: the gate's, docs/methodology.md)")
    p.add_argument("--cache-factor", type=float, default=None,
                   help="the same for copies of 4 KiB to 1 MiB that take under 10 us (in cache)")
    p.add_argument("--memory-factor", type=float, default=None,
                   help="the same for memory-bound timed cases (10 us a call and more)")
    p.add_argument("--all", action="store_true", help="list unchanged cases too")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--markdown", action="store_true", help="markdown for a pull request or CI job summary")
    out.add_argument("--json", action="store_true", help="machine-readable output")


#: Options several commands share, added by name (`_command`).
SHARED = {
    "--config": dict(type=Path, default=Path("asv.conf.json"), help="asv configuration (default: ./asv.conf.json)"),
    "--machine": dict(help="machine name (default: asv's, the host name)"),
    "--bench": dict(action="append", default=[], help="asv --bench regex (repeatable; default: everything)"),
    "results_dir": dict(nargs="*", type=Path, default=[Path(".asv/results")],
                        help="asv results directories (default: .asv/results, where asv.conf.json puts them)"),
}
#: Former command names, kept as aliases until the next release (with a note on stderr): their new names.
RENAMED = {"history": "releases", "history-report": "releases-report"}


def _command(sub, name: str, func, help: str, *shared: str, **defaults) -> argparse.ArgumentParser:
    """A subcommand running `func`, with the SHARED options named and its former names as aliases."""
    p = sub.add_parser(name, help=help, aliases=[old for old, new in RENAMED.items() if new == name])
    for option in shared:
        p.add_argument(option, **SHARED[option])
    p.set_defaults(func=func, **defaults)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = options.Parser(prog="bridge-bench", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=options.Parser, metavar="COMMAND")

    _command(sub, "list", cmd_list, "the catalogue of conversion paths")

    p = _command(sub, "machine", cmd_machine, "write versions, threads, THP mode and CPU into asv's machine file",
                 "--machine", needs_torch=True)
    p.add_argument("--file", type=Path, help="machine file (default: ~/.asv-machine.json)")

    p = _command(sub, "run", cmd_run, "the main job: the whole suite on this environment, then the dashboard",
                 "--config", "--machine", "--bench", needs_torch=True)
    p.add_argument("--quick", action="store_true", help="asv --quick: a smoke test, numbers not to be reported")
    p.add_argument("--rigorous", action="store_true",
                   help=f"the fixed design: every case {plan.LOOKS} looks (slow cases 6 while they agree), "
                        "instead of looking until each figure is known; to check what stopping early costs")
    p.add_argument("--keep-looks", type=Path, metavar="DIR",
                   help="keep the run's record of looks (each look's canary verdict) in DIR, for scripts/replay-plan")
    p.add_argument("--show-stderr", action="store_true", help="show skip reasons and benchmark output")
    p.add_argument("--no-publish", action="store_true", help="skip asv publish")

    p = _command(sub, "releases", cmd_releases,
                 "the suite and the probe on every torch x numpy pair of asv.releases.json",
                 "--machine", needs_torch=True)
    p.add_argument("--config", type=Path, help=f"asv configuration of the sweep (default: ./{sweep_folder.CONFIG}; "
                   f"./{sweep_folder.FORMER[sweep_folder.CONFIG]}, its former name, where only that exists)")
    p.add_argument("--torch", nargs="+", help="only the pairs of these torch versions (default: every pair)")
    p.add_argument("--keep-envs", action="store_true", help="keep each environment after measuring it (3-6 GB each)")
    p.add_argument("--bench", action="append", metavar="REGEX",
                   help="asv --bench regex (repeatable; default: the sweep's selection, docs/releases.md)")

    _command(sub, "finalize", cmd_finalize,
             "after a plain `asv run`: publish the median of each timed case's quiet looks",
             "results_dir")

    p = _command(sub, "fidelity", cmd_fidelity, "asv's figure for zero-copy paths against a tight loop; exit 1 beyond "
                 "the limit", "--config", needs_torch=True)
    p.add_argument("--path", nargs="+", help="zero-copy path ids (default: from_numpy numpy), or with --batch "
                   "batch paths (default: every way to build a batch and take one apart)")
    p.add_argument("--size", nargs="+", type=_size, help="sizes, e.g. 8 256MiB (default: 8 256MiB); with --batch, "
                   "item sizes (default: 4KiB)")
    p.add_argument("--batch", action="store_true",
                   help=f"check the batch family at {inputs.BATCH_CHECK[0]} items a batch")
    p.add_argument("--threshold", type=float, default=fidelity.THRESHOLD,
                   help="largest accepted asv/reference ratio, either way")

    p = _command(sub, "compare", cmd_compare, "candidate vs baseline, direction-aware; exit 1 on regressions")
    p.add_argument("baseline", type=Path, help="result file or results folder")
    p.add_argument("candidate", type=Path, help="result file or results folder")
    p.add_argument("--filter", dest="both", nargs="+", default=[], metavar="KEY=VALUE",
                   help="narrow both sides: machine, env, torch, numpy, commit")
    p.add_argument("--baseline-filter", dest="base_filters", nargs="+", default=[], metavar="KEY=VALUE",
                   help="narrow the baseline only, e.g. torch=2.13.0")
    p.add_argument("--candidate-filter", dest="cand_filters", nargs="+", default=[], metavar="KEY=VALUE",
                   help="narrow the candidate only, e.g. torch=2.14.1")
    p.add_argument("--history", type=int, metavar="N",
                   help="the baseline is the newest N runs of one machine and environment, each case read as "
                        "the second best of them (a nightly gate: catches slow drifts, ignores one odd night); "
                        "of a folder, only those runs' files are read, chosen from the file names and headers")
    _compare_options(p)

    _command(sub, "ceilings", cmd_ceilings, "GB/s of every transfer against its run's ceiling; exit 1 if one beats it",
             "results_dir")

    p = _command(sub, "gpu-check", cmd_gpu_check, "the CUDA benchmarks for real on this GPU box, the CUDA tests, GB/s "
                 "against the ceilings", "--config", needs_torch=True)
    p.add_argument("--out", type=Path, default=Path("test-artifacts") / "gpu-check",
                   help="where asv's results go (default: test-artifacts/gpu-check)")
    p.add_argument("--machine", default="gpu-check", help="asv machine name (default: gpu-check)")
    p.add_argument("--allow-no-cuda", action="store_true",
                   help="without CUDA, run anyway and pass only if every CUDA case skips")

    p = _command(sub, "noise", cmd_noise, "identical runs: stability of the published figures, what the gate flags")
    p.add_argument("runs", nargs="+", type=Path,
                   help="results folders (or result files) of identical runs, two or more")
    p.add_argument("--tight-loop", action="store_true",
                   help="also hold each zero-copy path against a tight timeit loop")

    p = _command(sub, "paired", cmd_paired, "two environments of this machine in alternation, then compared",
                 "--config", "--bench", needs_torch=True)
    p.add_argument("--baseline-python", help="interpreter of the baseline (default: this one)")
    p.add_argument("--candidate-python", help="interpreter of the candidate (default: this one)")
    p.add_argument("--baseline-env", nargs="+", type=_assignment, default=[], metavar="NAME=VALUE",
                   help="environment of the baseline")
    p.add_argument("--candidate-env", nargs="+", type=_assignment, default=[], metavar="NAME=VALUE",
                   help="environment of the candidate")
    p.add_argument("--rounds", type=int, default=8, help="alternations, ABBA (default 8): the looks per side")
    p.add_argument("--out", type=Path, required=True, help="new folder for both sides' results")
    _compare_options(p)

    p = _command(sub, "semantics", cmd_semantics, "share, copy, raise or crash: every path x dtype x layout",
                 needs_torch=True)
    p.add_argument("--path", nargs="+", help="path ids (default: all)")
    p.add_argument("--dtype", nargs="+", help="dtypes (default: all)")
    p.add_argument("--layout", nargs="+", help="layouts (default: all)")
    p.add_argument("--size", type=_size, default=128, help="bytes per source (default: 128)")
    p.add_argument("--jobs", type=int, help="worker processes (default: one per core)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = _command(sub, "report", cmd_report, "tables, plots, index.html and report.md from asv results directories",
                 "results_dir")
    p.add_argument("--out", type=Path, required=True,
                   help="output folder: new, empty, or a previous report (nothing else is overwritten)")
    p.add_argument("--semantics", type=Path, help="JSON of `bridge-bench semantics --json` to include")
    p.add_argument("--all-runs", action="store_true",
                   help="read every run, not only the newest of each machine x environment (of a nightly "
                        "history: every night, and every file is read)")

    p = _command(sub, "releases-report", cmd_releases_report,
                 "cost and behaviour across torch releases, from `bridge-bench releases`")
    p.add_argument("results_dir", nargs="?", type=Path,
                   help=f"the sweep's results folder (default: {sweep_folder.RESULTS}; "
                        f"{sweep_folder.FORMER[sweep_folder.RESULTS]}, "
                        "its former name, where only that exists)")
    p.add_argument("--semantics", type=Path,
                   help="folder of the sweep's probes (default: semantics/ beside the results folder)")
    p.add_argument("--out", type=Path, default=Path("reports/releases"),
                   help="output folder: new, empty, or a previous report (default: reports/releases)")
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command in RENAMED:
            print(f"bridge-bench: warning: `{args.command}` is deprecated and goes in the next release; "
                  f"use `{RENAMED[args.command]}`", file=sys.stderr)
        if getattr(args, "needs_torch", False) or getattr(args, "tight_loop", False):
            _require_torch()
        if "machine" in vars(args) and args.machine is None:
            args.machine = _default_machine()
        return args.func(args)
    except (errors.InputError, asvrun.AsvError) as exc:
        print(f"bridge-bench: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, errors.InputError) else 1
    except KeyboardInterrupt:
        print("bridge-bench: interrupted", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - a bug: say so, with the traceback, and never as bad input
        traceback.print_exc()
        print("bridge-bench: internal error: the traceback above is a bug in bridge-bench, not in your input; "
              "please report it with the command you ran", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
