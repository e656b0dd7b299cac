"""`bridge-bench gpu-check`: the CUDA transfer benchmarks checked for real on a GPU box.

Runs the CUDA benchmarks (not --quick) over a reduced size set (devices.CHECK_SIZES, float32; no
dtype sweep), the first-call pin_memory case, both ceilings and the context trackers, then the
CUDA-marked tests, and prints GB/s per path and size against the same run's ceiling, flagging any
figure above it. Passes when every case ran, no figure beats its ceiling and the tests pass.
Without CUDA it refuses (bad input) unless allowed: then it passes only if every CUDA case skipped
cleanly, which is what CPU CI checks. `scripts/gpu-check` installs what a bare GPU box lacks from a
folder of wheels and then runs this.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bridge_bench import asvrun, ceilings, devices, errors, results, rounds, suite
from bridge_bench.inputs import Unsupported


def bench_regexes(sizes) -> list[str]:
    """asv --bench regexes: the CUDA size sweep and first-call pin at `sizes`, the ceilings, the context."""
    size = "|".join(str(s) for s in sizes)
    return ([suite.regex(b, rf"'\w+', ({size}), 'float32', 'C'") for b in suite.CUDA_SIZE_SWEEPS]
            + [suite.regex(b) for b in (suite.CUDA_CEILINGS, *suite.CONTEXT_TRACKS)])


def statuses(frame, sizes) -> dict[str, int]:
    """ok / skipped / failed counts of the CUDA cases run (asv stores cases it did not run as skipped too)."""
    cuda = frame[frame["benchmark"].isin([b.name for b in suite.CUDA]) & frame["size"].isin(sizes)]
    return {s: int((cuda["status"] == s).sum()) for s in ("ok", "skipped", "failed")}


def has_cuda(allow_no_cuda: bool) -> bool:
    """Whether CUDA is usable; bad input without it, unless allowed."""
    try:
        devices.require()
        return True
    except Unsupported as exc:
        if not allow_no_cuda:
            raise errors.InputError(f"{exc}; --allow-no-cuda runs the check anyway (every CUDA case must skip)") from None
        print(f"gpu-check: {exc}: every CUDA case must skip", file=sys.stderr)
        return False


def run(config: Path, out: Path, machine: str, allow_no_cuda: bool) -> int:
    """The check; 0 when it passes, 1 otherwise."""
    cuda = has_cuda(allow_no_cuda)
    root = config.resolve().parent
    results_dir = rounds.private_run(config, out.resolve(), machine, bench_regexes(devices.CHECK_SIZES))
    try:
        frame = results.load([results_dir], drop_unusable=False).frame
    except results.ResultsError as exc:  # not the user's input: asv's output
        raise asvrun.AsvError(f"asv wrote nothing usable: {exc}") from None
    counts = statuses(frame, devices.CHECK_SIZES)
    measured = frame[frame["status"] == "ok"]
    gpu = measured["gpu"].dropna().unique()
    print(f"\nGPU: {', '.join(gpu) if len(gpu) else 'none'}; CUDA cases: "
          + ", ".join(f"{n} {s}" for s, n in counts.items()))
    if cuda:
        print(ceilings.render(measured))
    tests = subprocess.call([sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-p", "no:cacheprovider",
                             str(root / "tests")], cwd=root)
    print(f"CUDA-marked tests: exit {tests}")
    if cuda:
        ok = counts["failed"] == 0 and counts["ok"] > 0 and ceilings.violations(measured).empty
    else:
        ok = counts["failed"] == 0 and counts["ok"] == 0 and counts["skipped"] > 0
    return 0 if ok and tests == 0 else 1
