"""How many cores a run could use at once: the parallel speedup of a GIL-free workload.

torch copies a tensor of more than 32768 elements with its thread pool, so on the 2-core machines
this suite runs on, a copy from 128 KiB up is as fast as the second core is free. A busy neighbour
(another process, CI's busy loop, another tenant's vCPU) can hold that core for a whole run: a 64
MiB `dst.copy_(t)` then read 7.5-9 ms in every look of one run against 2.7-3.4 ms in the next
(docs/calibration.md, "Free cores: the gate"), and no choice among one run's looks recovers the
other figure. What can be done is to measure it, so that `bridge-bench compare` does not call the
difference a regression.

`parallel_speedup` times one block of work on one thread, then the same block on `threads` threads
at once, and returns `threads` x one / together (the median over pairs): 1.85-1.9 with 2 threads on
an idle 2-core machine, 1.0 beside a busy loop. The work is hashlib's sha256 of a 64 KiB block,
which releases the GIL and stays in the core's own cache; `ctypes.memmove` of 256 KiB read 1.0 on
the idle machine (each call is 4 us, less than handing the GIL over). Each round of a run adds a
reading to the run's record (`record.record_folder`) and `track_parallel_speedup` reports the
median so far, so the run's figure covers all its rounds, not one moment.
"""

from __future__ import annotations

import hashlib
import statistics
import threading
import timeit
from typing import Callable

from bridge_bench.measure import record, timing

#: One reading lasts this long (pairs of one-thread and all-thread timings).
READING_S = 0.3
#: One block of work on one thread lasts at least this long.
WORK_S = 0.002
BLOCK = bytes(64 * 1024)
#: The file of the run's record that keeps its readings, one per line.
READINGS = "parallel-speedup"


def _hashing() -> Callable[[], None]:
    """The default block of work: sha256 of `BLOCK`, repeated to last `WORK_S` on one thread."""
    repeats = timing.calibrate(timeit.Timer(lambda: hashlib.sha256(BLOCK)), WORK_S)

    def work() -> None:
        for _ in range(repeats):
            hashlib.sha256(BLOCK)
    return work


def _together(work: Callable[[], None], threads: int) -> float:
    """Seconds from the first thread's start to the last one's end, `threads` threads each doing `work`."""
    barrier = threading.Barrier(threads)
    spans: list[tuple[float, float]] = []

    def run() -> None:
        barrier.wait()
        start = timeit.default_timer()
        work()
        spans.append((start, timeit.default_timer()))  # list.append is atomic

    helpers = [threading.Thread(target=run) for _ in range(threads - 1)]
    for helper in helpers:
        helper.start()
    run()
    for helper in helpers:
        helper.join()
    return max(end for _, end in spans) - min(start for start, _ in spans)


def parallel_speedup(threads: int, seconds: float = READING_S, work: Callable[[], None] | None = None) -> float:
    """How many of `threads` threads ran at once: the median of `threads` x one thread's time over
    all threads' time, over pairs measured for `seconds`; 1.0 for one thread."""
    if threads <= 1:
        return 1.0
    work = work or _hashing()

    def pair() -> float:
        start = timeit.default_timer()
        work()
        one = timeit.default_timer() - start
        return threads * one / _together(work, threads)
    return statistics.median(timing.repeat_for(pair, seconds))


def run_reading(threads: int) -> float:
    """A reading added to this run's record; the median of the run's readings so far."""
    return record.run_median(READINGS, parallel_speedup(threads))
