"""The round loop: a run is rounds of `asv run`, one asv process each, every round given only the
cases that look in it.

One asv process per round: asv forks every benchmark process of one `asv run` from one forkserver,
so within one `asv run` all looks share its libraries' addresses; a new asv process per round gives
every round a new forkserver, so the looks sample those layouts too (docs/methodology.md, "How a case is timed").
The rounds of one run share their record of looks (`record.Looks`, named by
`record.RUN_VARIABLE`).

Round 1 runs everything selected (timings, counts, peak memory, CUDA, context). Before each later
round the driver reads every case's record and asks `bridge_bench.measure.plan` which cases look in it:
only those get a benchmark process, with the readings of what the machine gave the run
(`suite.EVERY_ROUND`). So a case that was refused or skipped (no CUDA, a dtype this torch lacks) is
tried once per run, a CUDA case is measured in round 1 only (its looks are consecutive windows of
one process), and an adaptive case whose figure is known costs nothing more. Every run, sweep pair,
paired side and test run goes through `run` (or `paired`), and finalizes its results
(bridge_bench.estimate).
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bridge_bench import estimate, messages, suite
from bridge_bench.measure import plan, record
from bridge_bench.drive import asvrun


@dataclass(frozen=True)
class Outcome:
    """What a run leaves besides its results: the commit they carry, and why each refused or skipped
    case was (asv's result files keep no reason)."""

    commit: str
    refused: dict[str, str]


def run(config: Path, machine: str, bench: list[str], env: dict[str, str] | None = None, mode: str = "adaptive",
        rounds: int = plan.LOOKS, extra: list[str] = (), python: str | None = None, managed: bool = False,
        label: str = "bridge-bench", keep_looks: Path | None = None) -> Outcome:
    """`rounds` rounds of the `bench` regexes on the checkout's HEAD (adaptive: and the plan's
    overtime, `plan.last_round`), looks as `mode` plans them (bridge_bench.measure.plan), the timed results
    finalized. With `keep_looks`, the run's record of looks
    (every look and its canary verdict, which asv's result files do not keep) is copied there, for
    `scripts/replay-plan`.

    On the existing environment (`python`, by default this one) or, with `managed`, on the
    configuration's own environments (the sweep across releases). Samples are always recorded:
    they are the looks.
    """
    start = time.monotonic()
    with looks_record(env, mode, keep_looks) as run_env:
        run_id = run_env[record.RUN_VARIABLE]
        last = plan.last_round(rounds, mode)
        of = f"of {'at most ' * (mode == 'adaptive')}{last}"
        commit = _round(config, machine, list(bench), run_env, 1, f"{label}: round 1 {of}: every selected case",
                        extra, python, managed)
        for r in range(2, last + 1):
            cases = due_cases(record.records(run_id), r, mode)
            if cases:
                heading = f"{label}: round {r} {of}: {len(cases)} cases"
                _round(config, machine, schedule(cases, bench), run_env, r, heading,
                       extra, python, managed)
            elif mode == "adaptive":
                break  # every case's figure is known: no later round would look
        states = record.records(run_id)
        messages.progress(f"{label}: {summary(states)}; {time.monotonic() - start:.0f} s")
    estimate.finalize(asvrun.results_dir(config))
    return Outcome(commit, {s["case"]: s["refused"] for s in states if s.get("refused") and "case" in s})


def _round(config, machine, selection, run_env, r, heading, extra=(), python=None, managed=False) -> str:
    messages.progress(heading)
    return asvrun.run_round(config, machine, selection, {**run_env, plan.ROUND_VARIABLE: str(r)}, extra, python,
                            append=r > 1, managed=managed)


def due_cases(states: list[dict], round_: int, mode: str) -> list[str]:
    """The cases (asv's names, with parameters) whose records say they look in round `round_`."""
    return sorted(state["case"] for state in states if "case" in state and plan.due(state, round_, mode))


def schedule(cases: list[str], bench: list[str]) -> list[str]:
    """asv --bench regexes selecting `cases` (one regex per benchmark, its parameter sets as
    alternatives) and the readings of the machine, when round 1's `bench` took them too."""
    due = collections.defaultdict(list)
    for case in cases:
        name, _, params = case.partition("(")
        due[name].append(re.escape(params.removesuffix(")")))
    regexes = [rf"^{re.escape(name)}\((?:{'|'.join(sorted(params))})\)$" for name, params in sorted(due.items())]
    readings = [suite.regex(b) for b in suite.EVERY_ROUND if not bench or any(re.search(r, b.name) for r in bench)]
    return regexes + readings


def summary(states: list[dict]) -> str:
    """Looks per case by class, and how many fast cases a slow stretch kept from their quiet looks."""
    counts = collections.defaultdict(list)
    for state in states:
        if state.get("samples") and "case" in state:
            counts[plan.case_class(state)].append(len(state["samples"]))
    parts = [f"{cls} {len(n)} cases, {statistics.mean(n):.1f} looks each ({min(n)}-{max(n)})"
             for cls, n in sorted(counts.items())]
    short, fast = plan.short_of_quiet(states)
    said = "looks per case: " + ("; ".join(parts) or "none")
    if short:
        said += (f". {short} of {fast} fast cases found fewer than {plan.QUIET_LOOKS} quiet looks, even extended: "
                 "a slow stretch covered them and their figures may read slow; run them again, or compare with "
                 "bridge-bench paired")
    return said


@contextlib.contextmanager
def looks_record(env: dict[str, str] | None = None, mode: str = "adaptive", keep: Path | None = None):
    """`env` (default: this process's) naming a new `record.Looks` record and the run's mode;
    the record is removed afterwards (copied to `keep` first, when given)."""
    if mode not in plan.MODES:
        raise ValueError(f"unknown mode {mode!r}; known: {', '.join(plan.MODES)}")
    run_id = uuid.uuid4().hex
    try:
        yield {**(os.environ if env is None else env), record.RUN_VARIABLE: run_id, plan.MODE_VARIABLE: mode}
    finally:
        if keep is not None and record.looks_folder(run_id).exists():
            shutil.copytree(record.looks_folder(run_id), keep, dirs_exist_ok=True)
        shutil.rmtree(record.looks_folder(run_id), ignore_errors=True)


def private_run(config: Path, workdir: Path, machine: str, bench: list[str], rounds: int = plan.LOOKS,
                mode: str = "adaptive", keep_looks: Path | None = None, **extra: str) -> Path:
    """`run` of the `bench` regexes with `config`'s suite, but everything it writes (results,
    machine file, environments) under `workdir`: a developer's results and machine file are never
    touched. `extra` goes into the benchmarks' environment. Returns the results folder."""
    conf = asvrun.private_config(config, workdir)
    run(conf, machine, bench, env=asvrun.private_env(workdir / "home", machine, **extra), mode=mode, rounds=rounds,
        keep_looks=keep_looks)
    return asvrun.results_dir(conf)


def paired(config: Path, sides: dict[str, tuple[str | None, dict[str, str]]], bench: list[str], out: Path,
           rounds: int, machine: str = "bridge-bench-paired") -> dict[str, Path]:
    """Run two environments of one machine in alternation, one round at a time, ABBA, so that a
    slow stretch of the machine lands on both sides instead of on one.

    `sides` maps a name ("baseline", "candidate") to (python, extra environment variables); each
    side gets a private configuration and results folder under `out`, its rounds appended to one
    result file (`--append-samples`), its looks planned as in a rigorous run (the same looks on both
    sides). asv's own `--interleave-rounds` does this for managed environments only, and cannot
    give two sides different environment variables. Returns each side's results folder, finalized.
    """
    names = list(sides)
    prepared = {}
    with contextlib.ExitStack() as stack:
        for name, (python, extra) in sides.items():
            conf = asvrun.private_config(config, out / name)
            env = stack.enter_context(looks_record(asvrun.private_env(out / name / "home", machine, python, **extra),
                                                   "rigorous"))
            prepared[name] = (conf, env, python)
        for r in range(1, rounds + 1):
            for name in (names if r % 4 in (1, 0) else names[::-1]):
                conf, env, python = prepared[name]
                cases = due_cases(record.records(env[record.RUN_VARIABLE]), r, "rigorous") if r > 1 else []
                if r == 1 or cases:
                    selection = list(bench) if r == 1 else schedule(cases, bench)
                    _round(conf, machine, selection, env, r, f"paired: round {r} of {rounds}: {name}", python=python)
    for conf, _, _ in prepared.values():
        estimate.finalize(asvrun.results_dir(conf))
    return {name: asvrun.results_dir(prepared[name][0]) for name in names}
