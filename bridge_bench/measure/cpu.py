"""How fast a run's CPU ran a fixed call of no library under test: the yardstick of call-bound cases.

In four back-to-back identical full runs on a 2-core AMD EPYC machine (docs/calibration.md, "A second machine"), every
call-bound case of runs 3 and 4 read 4-5 % slower than in run 1: the median case 1.047x and
1.050x, half the cases within 1.04-1.06x, alike for torch's, numpy's and DLPack's calls. The
machine ran slower through whole runs, and with the call-bound factor at 1.11 that offset kept
a 1.15x slowdown from the gate in 17 % of the cases. Like the free cores (bridge_bench.measure.cores),
each round of a run reads it (`track_call_time`, the median of the run's readings) and
`bridge-bench compare` judges a call-bound case or an in-cache copy on its ratio over the runs'.

The call is `memoryview(buffer).cast("B")`: a call from Python into C that builds and drops
objects through the buffer protocol, as the bridge's zero-copy calls do, in code of neither torch
nor numpy, so an upgrade of either cannot move it. A reading times it as a look times a case
(bridge_bench.measure.timing: the fastest batch of each 10 ms window) and reads it as a case's figure is
read (bridge_bench.estimate: the median of the windows within 1.2x of the fastest), and the run's
value is read the same way over its rounds' readings. A plain median followed the noise instead:
in four runs made in a heavy noisy stretch, rounds read 195-230 ns or 340-470 ns, and the medians
of runs 274-285 ns against 365 ns made every call-bound case of the fourth run "faster" by 1.3x
(docs/calibration.md).
"""

from __future__ import annotations

import timeit

from bridge_bench import estimate
from bridge_bench.measure import record, timing

#: One reading times windows for this long.
READING_S = 0.3
#: The file of the run's record that keeps its readings, one per line.
READINGS = "call-time"
BUFFER = bytearray(64)


def _call():
    return memoryview(BUFFER).cast("B")


def call_time(seconds: float = READING_S) -> float:
    """Nanoseconds per call: of windows timed for `seconds` (at least 3), each its fastest batch, the
    median of those within `estimate.QUIET` of the fastest."""
    number = timing.calibrate(timeit.Timer(_call))
    windows = timing.repeat_for(lambda: timing.time_window(_call, number, warmup_batches=0).seconds, seconds)
    return estimate.published(windows) * 1e9


def run_reading() -> float:
    """A reading added to this run's record; the run's value so far, read as a case's figure is."""
    return estimate.published(record.run_readings(READINGS, call_time()))
