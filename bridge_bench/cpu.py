"""How fast a run's CPU ran a fixed call of no library under test: the yardstick of call-bound cases.

In four back-to-back identical full runs on a 2-core AMD EPYC machine (README, "Figures"), every
call-bound case of runs 3 and 4 read 4-5 % slower than in run 1: the median case 1.047x and
1.050x, half the cases within 1.04-1.06x, alike for torch's, numpy's and DLPack's calls. The
machine ran slower through whole runs, and with the call-bound factor at 1.11 that offset kept
a 1.15x slowdown from the gate in 17 % of the cases. Like the free cores (bridge_bench.cores),
each round of a run reads it (`track_call_time`, the median of the run's readings) and
`bridge-bench compare` judges a call-bound case or an in-cache copy on its ratio over the runs'.

The call is `memoryview(buffer).cast("B")`: a call from Python into C that builds and drops
objects through the buffer protocol, as the bridge's zero-copy calls do, in code of neither torch
nor numpy, so an upgrade of either cannot move it. A reading times it as a look times a case
(bridge_bench.sampling): the fastest batch of each 10 ms window, the median over the windows.
"""

from __future__ import annotations

import statistics
import timeit

from bridge_bench import sampling

#: One reading times windows for this long.
READING_S = 0.3
#: The file of the run's record that keeps its readings, one per line.
READINGS = "call-time"
BUFFER = bytearray(64)


def _call():
    return memoryview(BUFFER).cast("B")


def call_time(seconds: float = READING_S) -> float:
    """Nanoseconds per call: the median over windows, timed for `seconds` (at least 3), of each
    window's fastest batch."""
    number = sampling.calibrate(timeit.Timer(_call))
    windows = sampling.repeat_for(lambda: sampling.time_window(_call, number, warmup_batches=0).seconds, seconds)
    return statistics.median(windows) * 1e9


def run_reading() -> float:
    """A reading added to this run's record; the median of the run's readings so far."""
    return sampling.run_median(READINGS, call_time())
