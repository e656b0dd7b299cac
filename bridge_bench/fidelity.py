"""Is asv timing the call, or itself? The figure asv stores for zero-copy paths against a tight loop.

A zero-copy conversion costs about half a microsecond, so anything the harness adds per call (a
setup hook that forces `number` = 1, asv_runner's closure around a parameterised benchmark) shows
up directly, and differently on every CPU. The check runs a real `asv run -E existing` on the
chosen cases with BRIDGE_BENCH_REFERENCE_DIR set: every look of a case (a measuring process,
benchmarks/common.py) then also times the same bound call in a plain `timeit` loop of 10,000
calls, so both figures come from the same processes at the same moments.

Both sides use the same estimator, the fastest: asv's stored (finalized) figure is the fastest look
(bridge_bench.estimate), the reference the fastest of its 10,000-call loops (timeit's advice for a
noisy machine). The ratio must lie within the limit both ways: a harness that adds time reads
high, an estimator that undercuts the call's cost reads low.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bridge_bench import asvrun, inputs, paths, results

BENCHMARKS = {paths.NUMPY_TO_TORCH: "bench_sizes.NumpyToTorch.time_convert",
              paths.TORCH_TO_NUMPY: "bench_sizes.TorchToNumpy.time_convert"}
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

    @property
    def ratio(self) -> float | None:
        if self.asv_s is None or not self.reference_s:
            return None
        return self.asv_s / self.reference_s

    def ok(self, threshold: float = THRESHOLD) -> bool:
        return self.ratio is not None and 1 / threshold <= self.ratio <= threshold


def validate(path_ids, sizes) -> None:
    for pid in path_ids:
        path = paths.get(pid)
        if path.direction not in BENCHMARKS or not path.shares:
            raise ValueError(f"path {pid!r} copies; the fidelity check times zero-copy paths "
                             f"(a 10,000-call loop of a copy would take minutes): {', '.join(paths.ids(shares=True))}")
    for size in sizes:
        if size not in inputs.SIZES:
            raise ValueError(f"size {size} is not in the suite's size sweep; use one of "
                             f"{', '.join(inputs.format_size(s).replace(' ', '') for s in inputs.SIZES)}")


def _asv_figures(results_dir: Path, cases) -> dict:
    frame = results.load([results_dir]).frame
    out = {}
    for pid, size in cases:
        rows = frame[(frame["benchmark"] == BENCHMARKS[paths.get(pid).direction]) & (frame["path"] == pid)
                     & (frame["size"] == size) & (frame["dtype"] == "float32") & (frame["layout"] == "C")]
        if len(rows):
            out[pid, size] = float(rows["value"].iloc[-1])
    return out


def _reference_loops(folder: Path) -> dict:
    samples: dict = {}
    file = folder / "reference.jsonl"
    if file.exists():
        for line in file.read_text().splitlines():
            rec = json.loads(line)
            samples.setdefault((rec["path"], rec["size"]), []).append(rec["seconds_per_call"])
    return samples


def run(config: Path, path_ids=DEFAULT_PATHS, sizes=DEFAULT_SIZES) -> list[Row]:
    validate(path_ids, sizes)
    cases = list(itertools.product(path_ids, sizes))
    with tempfile.TemporaryDirectory(prefix="bridge-bench-fidelity-") as tmp:
        work = Path(tmp)
        conf = asvrun.private_config(config, work)
        env = asvrun.private_env(work / "home", MACHINE, BRIDGE_BENCH_REFERENCE_DIR=str(work))
        regexes = [asvrun.bench_regex(BENCHMARKS[paths.get(pid).direction], (pid, size, "float32", "C"))
                   for pid, size in cases]
        asvrun.run_existing(conf, MACHINE, regexes, env=env)
        measured = _asv_figures(work / "results", cases)
        reference = _reference_loops(work)
    return [Row(pid, size, measured.get((pid, size)),
                min(reference[pid, size]) if reference.get((pid, size)) else None,
                len(reference.get((pid, size), [])))
            for pid, size in cases]


def render(rows: list[Row], threshold: float = THRESHOLD) -> str:
    def ns(x):
        return "-" if x is None else f"{x * 1e9:,.0f} ns"

    lines = [f"{'path':<22} {'size':>9} {'asv':>10} {'reference':>10} {'ratio':>6}  verdict",
             "-" * 70]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.3f}"
        verdict = "ok" if r.ok(threshold) else "FAIL"
        lines.append(f"{paths.get(r.path).label:<22} {inputs.format_size(r.size):>9} {ns(r.asv_s):>10} "
                     f"{ns(r.reference_s):>10} {ratio:>6}  {verdict}")
    lines.append("asv: the figure asv stores, the fastest look; reference: the fastest 10,000-call timeit loop of "
                 f"the same bound call in the same processes; limit {threshold:.2f}x either way")
    return "\n".join(lines)


def passed(rows: list[Row], threshold: float = THRESHOLD) -> bool:
    return all(r.ok(threshold) for r in rows)


def tight_loop(path_id: str, size: int = 8, loops: int = 100, calls: int = 10_000) -> float:
    """Seconds per call of a path's bound call: the fastest of `loops` plain `timeit` loops, here and now."""
    import timeit

    call = paths.prepare(path_id, inputs.Case(size))
    call()
    return min(timeit.Timer(call).repeat(loops, calls)) / calls
