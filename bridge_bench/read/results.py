"""asv results directories -> one tidy pandas DataFrame, a row per benchmark x parameter combination.

asv's own reader (`asv.results.Results.load`) parses each result file: it checks the format version,
reads the columnar `results` table and never writes. Parameters are stored as repr strings
("'float32'", "268435456"); they are turned back into values with `ast.literal_eval` (never
unpickled). Parameter names and units come from the directory's `benchmarks.json`.

Unusable files are skipped with a warning naming them; `ResultsError` only when nothing is usable.
"""

from __future__ import annotations

import ast
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bridge_bench import catalogue, errors, estimate, messages, suite
from bridge_bench.read import problems
from bridge_bench.read.problems import Problem

#: Keys of a result's `params` (machine entry + environment requirements) kept as columns.
CONTEXT_KEYS = ("torch", "numpy", "python", "cpu", "torch_threads", "thp", "thp_defrag",
                "THP_MEM_ALLOC_ENABLE", "num_cpu", "os", "gpu", "gpu_driver", "cuda", "pcie")
#: The columns that identify one run: every per-run table and comparison groups by them.
RUN = ["machine", "env", "commit"]
#: What the benchmark processes report themselves (benchmarks/bench_context.py): the machine-file
#: key each track checks and whether a stated value agrees with a tracked one. The machine file is
#: written before a run and shared by every run under that machine name, so it can be stale.
TRACKED_CONTEXT = {
    suite.TORCH_THREADS.name: ("torch_threads", lambda stated, seen: stated == str(int(seen))),
    suite.THP_MEM_ALLOC_ENABLE.name: ("THP_MEM_ALLOC_ENABLE", lambda stated, seen: (stated == "1") == (seen == 1)),
}
#: The columns that identify one case within a run: a benchmark and its parameters.
#: `batch` is the batch family's items per batch (benchmarks/bench_batch.py), empty for a single array.
CASE = ["benchmark", "path", "size", "dtype", "layout", "batch"]
#: asv's 99 % interval of a result, by asv's stats key and this frame's column.
INTERVAL = {"ci_99_a": "ci_low", "ci_99_b": "ci_high"}
STAT_COLUMNS = {**INTERVAL, "q_25": "q25", "q_75": "q75", "repeat": "repeat", "number": "number"}
#: `date` is asv's date of the commit; `started` is when the run began (its first benchmark), which
#: tells apart nightly runs of one commit.
COLUMNS = ["results_dir", "result_file", "machine", "env", "commit", "date", "started", *CONTEXT_KEYS, "benchmark",
           "suite",
           "sweep", "kind", "path", "label", "direction", "size", "dtype", "layout", "batch", "status", "value",
           "unit", *STAT_COLUMNS.values(), "samples"]


class ResultsError(errors.InputError):
    """Nothing usable was found; the message names what was looked at and what to do."""


@dataclass
class Loaded:
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    files: int = 0


def _literal(text):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _benchmarks(results_dir: Path) -> dict:
    file = results_dir / "benchmarks.json"
    if not file.is_file():
        raise ResultsError(f"{file}: missing; asv writes it with every run (`bridge-bench run` or `asv run`)")
    from asv.util import UserError, load_json

    try:
        data = load_json(str(file))  # asv's reader: the file holds NaN literals
    except (UserError, ValueError, OSError) as exc:  # ValueError: not UTF-8; OSError: unreadable
        raise ResultsError(f"{file}: not valid JSON ({messages.first_line(exc, type(exc).__name__)})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{file}: not an asv benchmarks.json")
    return {k: v for k, v in data.items() if isinstance(v, dict) and "name" in v}


def _status(value) -> str:
    if value is None:
        return "failed"
    if isinstance(value, float) and math.isnan(value):
        return "skipped"
    return "ok"


def _rows(results_dir: Path, file: Path, result, benchmarks: dict):
    context = {k: result.params.get(k) for k in CONTEXT_KEYS}
    started = [t for t in result.started_at.values() if t]
    base = {"results_dir": str(results_dir), "result_file": str(file), "machine": result.params.get("machine"),
            "env": result.env_name, "commit": result.commit_hash,
            "date": pd.to_datetime(result.date, unit="ms") if result.date else None,
            "started": pd.to_datetime(min(started), unit="ms") if started else None, **context}
    # Every result the file holds for a benchmark benchmarks.json knows, whatever its code version:
    # asv's get_result_keys would drop results of older benchmark versions, which are still true
    # measurements of their commit.
    for name in sorted(result.get_all_result_keys() & benchmarks.keys()):
        meta = benchmarks[name]
        params = result.get_result_params(name)
        values = result.get_result_value(name, params)
        stats = result.get_result_stats(name, params)
        samples = result.get_result_samples(name, params)
        names = meta.get("param_names") or []
        # literal_eval once per parameter value, not once per combination: 100k rows in seconds
        combos = list(itertools.product(*([_literal(v) for v in p] for p in params))) if params else [()]
        group, sweep = name.rsplit(".", 1)[0], suite.sweep(name)
        for i, combo in enumerate(combos):
            case = dict(zip(names, combo))
            pid = case.get("path")
            record = catalogue.BY_ID.get(pid)
            stat = stats[i] if stats and stats[i] else {}
            row = {
                **base, "benchmark": name, "suite": group, "sweep": sweep, "kind": meta.get("type"),
                "path": pid, "label": record.label if record else pid,
                "direction": record.direction if record else None,
                "size": case.get("size"), "dtype": case.get("dtype"), "layout": case.get("layout"),
                "batch": case.get("batch"), "status": _status(values[i]),
                "value": values[i] if _status(values[i]) == "ok" else None,
                "unit": meta.get("unit"),
                "samples": samples[i] if samples and samples[i] else None,
            }
            for key, column in STAT_COLUMNS.items():
                row[column] = stat.get(key)
            yield row


def stale_context(file: Path, rows: list[dict]) -> list[str]:
    """Warnings where a result file's context (from the machine file) contradicts what its own
    benchmark processes reported: a calibration run once carried torch_threads=1 from a concurrent
    run's machine-file write while its processes ran with 2 threads."""
    out = []
    for row in rows:
        key, agree = TRACKED_CONTEXT.get(row["benchmark"], (None, None))
        if key and row["status"] == "ok" and row[key] is not None and not agree(row[key], row["value"]):
            out.append(Problem(f"{file}: context says {key}={row[key]} but its benchmark processes reported "
                               f"{row['benchmark'].rsplit('.', 1)[1]} = {row['value']:g}; the machine file was "
                               f"stale, trust the track", "stale context"))
    return out


def unfinalized(file: Path, rows: list[dict]) -> list[str]:
    """A warning when a file's timed results hold another figure than the published estimate:
    asv's median of all looks, written by a plain `asv run`, not by bridge-bench."""
    stale = [r for r in rows if r["status"] == "ok" and suite.is_timed(r["benchmark"])
             and isinstance(r["samples"], list) and r["value"] != estimate.published(r["samples"])]
    if not stale:
        return []
    return [Problem(f"{file}: {len(stale)} timed results hold asv's median of all looks, not of the quiet ones; "
                    f"`bridge-bench finalize {file.parent.parent}` publishes the estimate "
                    "(docs/methodology.md, 'The published figure')",
                    "not finalized")]


def result_files(results_dir: Path) -> tuple[list[Path], list[Problem]]:
    """The result files of a results directory, and a problem for each entry named like one that
    is not a file (a folder called x.json, a dangling link)."""
    found = estimate.result_files(results_dir)
    return ([p for p in found if p.is_file()],
            [Problem(f"{p}: not a file, skipped", "not a file") for p in found if not p.is_file()])


def unreadable(file: Path, exc: Exception) -> Problem:
    """A file asv's reader (or the header reader) refused, named with the first line of why."""
    return Problem(f"{file}: skipped, {messages.first_line(exc, type(exc).__name__)}", "unreadable")


def load(dirs, drop_unusable: bool = True) -> Loaded:
    """Load every result file under each asv results directory in `dirs`.

    Rows whose benchmark was skipped or failed are kept with `status` set and no value when
    `drop_unusable` is False; by default only measured rows are returned.
    """
    return usable(read(dirs), dirs, drop_unusable)


def read(dirs, only: set[str] | None = None) -> Loaded:
    """Every row of the result files under each results directory in `dirs`, or of those only the
    files in `only` (paths as `result_files` names them: what `bridge_bench.read.runfiles` selected from
    their headers), whatever their status; `usable` then says whether anything was measured."""
    from asv.results import Results
    from asv.util import UserError

    warnings: list[str] = []
    rows: list[dict] = []
    files = 0
    for d in map(Path, dirs):
        if not d.is_dir():
            warnings.append(Problem(f"{d}: no such results directory", "missing folder"))
            continue
        if not any(d.iterdir()):
            warnings.append(Problem(f"{d}: empty results directory", "empty folder"))
            continue
        try:
            benchmarks = _benchmarks(d)
        except ResultsError as exc:
            warnings.append(Problem(str(exc), "bad benchmarks.json"))
            continue
        found, problems = result_files(d)
        warnings += problems
        if not found:
            warnings.append(Problem(f"{d}: no result files (expected {d}/<machine>/<commit>-<env>.json)", "no files"))
        for file in found if only is None else [f for f in found if str(f) in only]:
            try:
                result = Results.load(str(file))
                new = list(_rows(d, file, result, benchmarks))
            except (UserError, ValueError, KeyError, TypeError, OSError) as exc:  # OSError: unreadable
                warnings.append(unreadable(file, exc))
                continue
            files += 1
            rows += new
            warnings += stale_context(file, new) + unfinalized(file, new)
            if not any(row["status"] == "ok" for row in new):
                warnings.append(Problem(f"{file}: no measured value, all {len(new)} results skipped or failed",
                                        "nothing measured"))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # float whatever the files held: a frame of single arrays only (no batch, all None) pairs with one that has batches
    return Loaded(frame.astype({"batch": "float64"}), warnings, files)


def usable(loaded: Loaded, dirs, drop_unusable: bool = True) -> Loaded:
    """`loaded` (from `read`) with only its measured rows, or all of them where `drop_unusable` is
    False; ResultsError, naming the problems, where nothing was measured."""
    frame, warnings = loaded.frame, problems.unique(loaded.warnings)
    measured = frame[frame["status"] == "ok"]
    if measured.empty:
        where = ", ".join(map(str, dirs)) or "(none given)"
        if len(frame):
            reason = f"all {len(frame)} results in {where} are skipped or failed"
        else:
            reason = f"no usable asv results in {where}"
        detail = f" ({'; '.join(problems.summary(warnings))})" if warnings else ""
        raise ResultsError(reason + detail + "; run `bridge-bench run` to produce some")
    out = measured if drop_unusable else frame
    return Loaded(out.reset_index(drop=True), warnings, loaded.files)
