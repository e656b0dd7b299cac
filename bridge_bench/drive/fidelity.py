"""Is asv timing the call, or itself? The figure asv stores for zero-copy paths against a tight loop.

A zero-copy conversion costs about half a microsecond, so anything the harness adds per call (a
setup hook that forces `number` = 1, asv_runner's closure around a parameterised benchmark) shows
up directly, and differently on every CPU. The check runs a real `asv run -E existing` on the
chosen cases with BRIDGE_BENCH_REFERENCE_DIR set: every look of a case (a measuring process,
benchmarks/common.py) then also times the same bound call in plain `timeit` loops of 10,000
calls, so both figures come from the same processes at the same moments.

Both sides use the same estimator (bridge_bench.estimate): asv's stored figure is the median of
the quiet looks, each look the fastest batch of its window; the reference is the same estimate
over the same looks' fastest 10,000-call loops. The ratio must lie within the limit both ways:
a harness that adds time reads high, an estimator that undercuts the call's cost reads low.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bridge_bench import catalogue, errors, estimate, inputs, messages, suite, units
from bridge_bench.measure import plan, tightloop
from bridge_bench.drive import asvrun, rounds
from bridge_bench.read import results

BENCHMARKS = {d: suite.host_timing("bench_sizes", d).name for d in (catalogue.NUMPY_TO_TORCH, catalogue.TORCH_TO_NUMPY)}
#: The batch family's check: every way to build a batch and to take one apart, at `inputs.BATCH_CHECK`.
BATCH_BENCHMARKS = {b.direction: b.name for b in suite.BENCHMARKS
                    if b.cls in ("BatchToTorch", "TorchToBatch")}
DEFAULT_PATHS = ("from_numpy", "numpy")
DEFAULT_SIZES = (8, 256 * inputs.MiB)
THRESHOLD = 1.10
MACHINE = "bridge-bench-fidelity"


@dataclass
class Row:
    path: str
    size: int
    asv_s: float | None
    reference_s: float | None
    loops: int
    batch: int | None = None

    @property
    def ratio(self) -> float | None:
        if self.asv_s is None or not self.reference_s:
            return None
        return self.asv_s / self.reference_s

    def ok(self, threshold: float = THRESHOLD) -> bool:
        return self.ratio is not None and 1 / threshold <= self.ratio <= threshold

    @property
    def case(self) -> str:
        size = inputs.format_size(self.size)
        return size if self.batch is None else f"{self.batch} x {size}"


def validate(path_ids, sizes, batch: int | None = None) -> None:
    for pid in path_ids:
        path = catalogue.get(pid)
        if batch is not None:
            if path.direction not in BATCH_BENCHMARKS:
                raise errors.InputError(f"path {pid!r} is not one of the batch family's host paths: "
                                        f"{', '.join(batch_paths())}")
        elif path.direction not in BENCHMARKS or not path.shares:
            raise errors.InputError(f"path {pid!r} copies; the fidelity check times zero-copy paths "
                                    "(a 10,000-call loop of a copy would take minutes), or with --batch the "
                                    f"batch family: {', '.join(catalogue.ids(shares=True, cuda=False))}")
    grid = inputs.BATCH_ITEM_SIZES if batch is not None else inputs.SIZES
    for size in sizes:
        if size not in grid:
            raise errors.InputError(f"size {size} is not in the suite's grid; use one of "
                                    f"{', '.join(inputs.format_size(s).replace(' ', '') for s in grid)}")
    if batch is not None and batch not in inputs.BATCH_SIZES:
        raise errors.InputError(f"batch {batch} is not in the suite's grid; use one of "
                                f"{', '.join(map(str, inputs.BATCH_SIZES))}")


def batch_paths() -> list[str]:
    """The batch family's host paths the check covers (building a batch, taking one apart)."""
    return [pid for direction in BATCH_BENCHMARKS for pid in catalogue.ids(direction, cuda=False)]


def _params(pid: str, size: int, batch: int | None) -> tuple:
    return inputs.Case(size, batch=batch).params(pid)


def _benchmark(pid: str, batch: int | None) -> str:
    return (BATCH_BENCHMARKS if batch is not None else BENCHMARKS)[catalogue.get(pid).direction]


def _asv_figures(results_dir: Path, cases, batch: int | None) -> dict:
    frame = results.load([results_dir]).frame
    out = {}
    for pid, size in cases:
        rows = frame[(frame["benchmark"] == _benchmark(pid, batch)) & (frame["path"] == pid)
                     & (frame["size"] == size) & (frame["dtype"] == "float32")]
        rows = rows[rows["batch"] == batch] if batch is not None else rows[rows["layout"] == "C"]
        if len(rows):
            out[pid, size] = float(rows["value"].iloc[-1])
    return out


def _reference_loops(folder: Path) -> dict:
    """Each case's reference loops, by its asv parameters."""
    samples: dict = {}
    file = folder / "reference.jsonl"
    if file.exists():
        for line in file.read_text().splitlines():
            rec = json.loads(line)
            samples.setdefault(tuple(rec["params"]), []).append(rec["seconds_per_call"])
    return samples


def run(config: Path, path_ids=DEFAULT_PATHS, sizes=DEFAULT_SIZES, looks: int = plan.LOOKS,
        batch: int | None = None) -> list[Row]:
    """asv's figure and the reference of each case (of the batch family, with `batch` items each),
    from one private run of at most `looks` rounds."""
    validate(path_ids, sizes, batch)
    cases = list(itertools.product(path_ids, sizes))
    with tempfile.TemporaryDirectory(prefix="bridge-bench-fidelity-") as tmp:
        work = Path(tmp)
        regexes = [asvrun.bench_regex(_benchmark(pid, batch), _params(pid, size, batch)) for pid, size in cases]
        results_dir = rounds.private_run(config, work, MACHINE, regexes, rounds=looks,
                                         BRIDGE_BENCH_REFERENCE_DIR=str(work))
        measured = _asv_figures(results_dir, cases, batch)
        reference = _reference_loops(work)
    rows = []
    for pid, size in cases:
        loops = reference.get(_params(pid, size, batch), [])
        rows.append(Row(pid, size, measured.get((pid, size)), estimate.published(loops) if loops else None,
                        len(loops), batch))
    return rows


def render(rows: list[Row], threshold: float = THRESHOLD) -> str:
    width = max([22] + [len(catalogue.get(r.path).label) for r in rows])
    lines = [f"{'path':<{width}} {'case':>12} {'asv':>10} {'reference':>10} {'ratio':>6}  verdict",
             "-" * (width + 50)]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}"
        verdict = "ok" if r.ok(threshold) else "FAIL"
        asv, reference = (units.measured(s, "seconds") for s in (r.asv_s, r.reference_s))
        lines.append(f"{catalogue.get(r.path).label:<{width}} {r.case:>12} {asv:>10} "
                     f"{reference:>10} {ratio:>6}  {verdict}")
    lines.append("asv: the figure asv stores, the median of the quiet looks; reference: the same estimate over the "
                 "same looks' fastest timeit loops of the same bound call (10,000 calls, or 5 ms of a longer "
                 f"call); limit {threshold:.2f}x either way")
    return "\n".join(lines)


def passed(rows: list[Row], threshold: float = THRESHOLD) -> bool:
    return all(r.ok(threshold) for r in rows)


def tight_loops(path_ids: list[str], progress=None) -> dict[str, float]:
    """`tightloop.tight_loop` of each path, measured from a fresh interpreter
    (`python -m bridge_bench.measure.tightloop`); path id -> seconds per call (paths that cannot run
    here are left out).

    Why not from this process: its children are forked from it, and a parent that has loaded
    results (pandas frames of four runs, `bridge-bench noise`) made every tight loop 8-20 % slower
    than the same loops forked from a bare interpreter (docs/calibration.md, "Fidelity"), which is what asv's
    benchmark processes are forked from.
    """
    proc = subprocess.Popen([sys.executable, "-m", "bridge_bench.measure.tightloop", *path_ids], stdout=subprocess.PIPE,
                            text=True)
    found = {}
    for n, line in enumerate(proc.stdout, 1):
        record = json.loads(line)
        if progress:
            progress(n, len(path_ids), record["path"])
        if record["seconds"] is not None:
            found[record["path"]] = record["seconds"]
    if proc.wait():
        raise RuntimeError(f"the tight loops' interpreter exited with status {proc.returncode}")
    return found


def zero_copy_loops() -> dict[str, float]:
    """`tight_loops` of every host zero-copy path, saying on stderr how far it is; label -> seconds per call
    (what `bridge-bench noise --tight-loop` holds asv's figures against)."""
    ids = [p.id for p in catalogue.CATALOGUE if p.shares and not p.cuda]
    messages.progress(f"tight loops of {len(ids)} zero-copy paths, in {tightloop.PROCESSES} fresh processes each")
    def progress(n, total, pid):
        messages.progress(f"  {n}/{total} {catalogue.get(pid).label}")

    loops = tight_loops(ids, progress=progress)
    return {catalogue.get(pid).label: seconds for pid, seconds in loops.items()}
