"""The memory bandwidth a run had: one thread's copy of 64 MiB by a function of no library under test.

A copy of tens of MiB streams memory, and on the shared machines this suite runs on the bandwidth one
core gets drifts with other tenants' traffic: on the Intel machine of the earlier figures (docs/calibration.md),
the 64 MiB copies of numpy and torch alike read 1.25-2x slower through one whole run than through
the next, with the same free cores. Like the free cores (bridge_bench.measure.cores), each round of a run
reads it and `track_memory_bandwidth` reports the median of the run's readings, so a reader (the
dashboard, `bridge-bench compare`) can see whether two runs' machines streamed memory alike.
compare does not divide by it: over two sets of four quiet runs on the AMD machine its readings
moved 1.11x and 1.20x while the median copy of 64 MiB and more moved at most 1.05x between two
runs (docs/calibration.md, "A second machine").

The copy is libc's `memmove` through ctypes, between two buffers touched before timing: no torch
or numpy code, so an upgrade of either cannot move it.
"""

from __future__ import annotations

import ctypes
import statistics
import timeit

from bridge_bench.measure import record, timing

#: One reading times copies for this long.
READING_S = 0.3
#: Bytes per copy: beyond the last-level cache of the machines this runs on, like the suite's 64 MiB cases.
SIZE = 64 * 1024 * 1024
#: The file of the run's record that keeps its readings, one per line.
READINGS = "memory-bandwidth"


def memory_bandwidth(seconds: float = READING_S, size: int = SIZE) -> float:
    """GB/s of one thread's `memmove` of `size` bytes: the median over copies timed for `seconds`
    (at least 3)."""
    source, target = (ctypes.c_char * size)(), (ctypes.c_char * size)()  # zero-filled: every page touched
    ctypes.memmove(target, source, size)

    def copy() -> float:
        start = timeit.default_timer()
        ctypes.memmove(target, source, size)
        return timeit.default_timer() - start
    return size / statistics.median(timing.repeat_for(copy, seconds)) / 1e9


def run_reading() -> float:
    """A reading added to this run's record; the median of the run's readings so far."""
    return record.run_median(READINGS, memory_bandwidth())
