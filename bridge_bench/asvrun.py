"""Running asv on this project: the existing environment, the machine entry, the commit, results.

The main job and the fidelity check both run a real `asv run -E existing`. asv saves results of an
existing environment only with `--set-commit-hash`, so the checkout's HEAD is passed. The fidelity
check and the tests run asv against a private copy of the configuration (results in a temporary
folder) and a private HOME, so they never touch the user's results or `~/.asv-machine.json`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

from bridge_bench import estimate, sampling, suite


class AsvError(RuntimeError):
    """asv or git failed; the message says what to do next."""


def load_config(config: Path) -> dict:
    from asv.util import load_json

    if not config.is_file():
        raise AsvError(f"{config}: no asv configuration here; run from a bridge-bench checkout or pass --config")
    try:
        return load_json(str(config), js_comments=True)
    except Exception as exc:  # asv raises its own UserError subclasses for bad JSON
        raise AsvError(f"{config}: not a readable asv configuration: {str(exc).splitlines()[0]}") from None


def head_commit(repo: Path) -> str:
    proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True)
    if proc.returncode:
        raise AsvError(f"{repo}: not a git checkout with a commit; asv needs one to label results")
    return proc.stdout.strip()


def private_config(config: Path, workdir: Path) -> Path:
    """A copy of `config` whose repo is the checkout and whose outputs live under `workdir`."""
    conf = load_config(config)
    workdir.mkdir(parents=True, exist_ok=True)
    root = config.resolve().parent
    conf.update({
        "repo": str(root),
        "benchmark_dir": str(root / conf.get("benchmark_dir", "benchmarks")),
        "results_dir": str(workdir / "results"),
        "html_dir": str(workdir / "html"),
        "env_dir": str(workdir / "env"),
    })
    out = workdir / "asv.conf.json"
    out.write_text(json.dumps(conf, indent=2))
    return out


def asv_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "asv", *args]


def run_asv(args: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run asv, streaming its progress lines to stderr; AsvError if it fails."""
    proc = subprocess.Popen(asv_command(*args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail: list[str] = []
    for line in proc.stdout:
        sys.stderr.write(line)
        tail = (tail + [line.rstrip()])[-5:]
    if proc.wait():
        raise AsvError(f"asv {args[0]} exited with {proc.returncode}: " + (tail[-1] if tail else "no output"))


def results_dir(config: Path) -> Path:
    """Where the configuration puts asv's results (relative paths are relative to the configuration)."""
    return config.resolve().parent / load_config(config).get("results_dir", "results")


def run_existing(config: Path, machine: str, bench: list[str], env: dict[str, str] | None = None,
                 extra: list[str] = (), python: str | None = None, rounds: int = sampling.LOOKS) -> str:
    """`asv run -E existing --record-samples` on the checkout's HEAD, one asv process per round,
    its timed results finalized (bridge_bench.estimate); returns the commit hash the results carry.

    One asv process per round (`-a rounds=1`, later rounds `--append-samples`): asv forks every
    benchmark process of a run from one forkserver, so within one `asv run` all looks share its
    libraries' addresses; a new asv process per round gives every round a new forkserver, so the
    looks sample those layouts too (README, "Figures": over four quiet runs of each kind, a call-bound
    case's published figure moved at most 1.07x with one process per round against 1.13x with one
    per run, and 0 against 24 comparisons passed 1.10; it costs a full run ~30 %). The rounds of
    one run share their
    `sampling.Looks` record through `sampling.RUN_VARIABLE`. Samples are always recorded: they are
    the looks. `python` runs the benchmarks in another interpreter that has this project
    installed (`-E existing:PYTHON`); by default the one running this.
    """
    with looks_record(env) as run_env:
        for r in range(rounds):
            print(f"bridge-bench: round {r + 1} of {rounds}", file=sys.stderr, flush=True)
            commit = run_round(config, machine, timed_only(bench) if r else bench, run_env, extra, python,
                               append=r > 0)
    estimate.finalize(results_dir(config))
    return commit


def timed_only(bench: list[str]) -> list[str]:
    """The `--bench` regexes narrowed to `time_` benchmarks and `suite.EVERY_ROUND`: rounds after
    the first look again, and read again what the machine gave the run (free cores, CPU speed,
    memory bandwidth), while counts, peak memory and the rest of the context, which do not vary
    with the machine's speed, are measured once (in the first round); at every round they doubled
    a full run's time."""
    tracks = "|".join(re.escape(b.name) for b in suite.EVERY_ROUND)
    again = rf"(?:\.time_|^(?:{tracks})$)"
    return [rf"^(?=.*{again}).*?(?:{regex})" for regex in bench] or [again]


@contextlib.contextmanager
def looks_record(env: dict[str, str] | None = None):
    """`env` (default: this process's) naming a new `sampling.Looks` record, removed afterwards,
    after saying how many cases a slow stretch kept from their quiet looks."""
    run = uuid.uuid4().hex
    try:
        yield {**(os.environ if env is None else env), sampling.RUN_VARIABLE: run}
        short, fast = sampling.short_of_quiet(run)
        if short:
            print(f"bridge-bench: {short} of {fast} cases under {sampling.BATCH_S * 1e3:g} ms a call found fewer than "
                  f"{sampling.QUIET_LOOKS} quiet looks, even extended: a slow stretch covered them and "
                  "their figures may read slow; run them again, or compare with bridge-bench paired",
                  file=sys.stderr)
    finally:
        shutil.rmtree(sampling.looks_folder(run), ignore_errors=True)


def run_round(config: Path, machine: str, bench: list[str], env: dict[str, str], extra: list[str] = (),
              python: str | None = None, append: bool = False, managed: bool = False) -> str:
    """One round: one `asv run -a rounds=1`, appending its samples to the run's results when `append`.
    On the existing environment (`python`, by default this one), or with `managed` on the
    configuration's own environments, which asv builds the checkout's HEAD into."""
    repo = config.resolve().parent / load_config(config).get("repo", ".")
    commit = head_commit(repo)
    where = [f"{commit}^!"] if managed else ["-E", f"existing:{python}" if python else "existing",
                                             "--set-commit-hash", commit]
    args = ["run", "--config", str(config), "--machine", machine, *where,
            "--record-samples", "-a", "rounds=1", *["--append-samples"] * append, *extra]
    for regex in bench:
        args += ["--bench", regex]
    run_asv(args, env=env, cwd=repo)
    return commit


def bench_regex(benchmark: str, params: tuple) -> str:
    """An asv --bench regex selecting one parameter combination of `benchmark`."""
    return re.escape(f"{benchmark}({', '.join(repr(p) for p in params)})") + "$"


def private_env(home: Path, machine: str, python: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for an asv run with a private HOME holding this machine's entry.

    The entry is written by `bridge-bench machine` in a child under that environment and with the
    interpreter that will run the benchmarks (`python`, by default this one): `extra` may change
    the context itself (OMP_NUM_THREADS, THP_MEM_ALLOC_ENABLE), which this process, its torch
    already started, cannot see.
    """
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home), **extra}
    proc = subprocess.run([python or sys.executable, "-m", "bridge_bench.cli", "machine", "--machine", machine,
                           "--file", str(home / ".asv-machine.json")], env=env, capture_output=True, text=True)
    if proc.returncode:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise AsvError(f"bridge-bench machine could not write {home / '.asv-machine.json'}: {last}")
    return env


def private_run(config: Path, workdir: Path, machine: str, bench: list[str], rounds: int = sampling.LOOKS,
                **extra: str) -> Path:
    """`run_existing` of the `bench` regexes with `config`'s suite, but everything it writes (results,
    machine file, environments) under `workdir`: a developer's results and machine file are never
    touched. `extra` goes into the benchmarks' environment. Returns the results folder."""
    conf = private_config(config, workdir)
    run_existing(conf, machine, bench, env=private_env(workdir / "home", machine, **extra), rounds=rounds)
    return results_dir(conf)


def result_files(results_dir: Path, machine: str) -> list[Path]:
    return [p for p in estimate.result_files(results_dir) if p.parent.name == machine]


def run_paired(config: Path, sides: dict[str, tuple[str | None, dict[str, str]]], bench: list[str], out: Path,
               rounds: int, machine: str = "bridge-bench-paired") -> dict[str, Path]:
    """Run two environments of one machine in alternation, one round at a time, ABBA, so that a
    slow stretch of the machine lands on both sides instead of on one.

    `sides` maps a name ("baseline", "candidate") to (python, extra environment variables); each
    side gets a private configuration and results folder under `out`, its rounds appended to one
    result file (`--append-samples`). asv's own `--interleave-rounds` does this for managed
    environments only, and cannot give two sides different environment variables.
    Returns each side's results folder, finalized.
    """
    names = list(sides)
    prepared = {}
    with contextlib.ExitStack() as stack:
        for name, (python, extra) in sides.items():
            conf = private_config(config, out / name)
            env = stack.enter_context(looks_record(private_env(out / name / "home", machine, python, **extra)))
            prepared[name] = (conf, env, python)
        for r in range(rounds):
            for name in (names if r % 4 in (0, 3) else names[::-1]):
                conf, env, python = prepared[name]
                print(f"paired: round {r + 1} of {rounds}: {name}", file=sys.stderr, flush=True)
                run_round(conf, machine, bench, env, python=python, append=r > 0)
    for conf, _, _ in prepared.values():
        estimate.finalize(results_dir(conf))
    return {name: results_dir(prepared[name][0]) for name in names}
