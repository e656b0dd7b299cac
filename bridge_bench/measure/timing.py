"""Timing one bound call on a shared, noisy machine: many short looks, spread over the run.

This module holds the window of one look and its canary; `looks` keeps a case's looks across
the run, `process` gives each look its layout, `child` runs a case where a crash cannot kill the run.

What was measured on the machines this suite runs on (docs/calibration.md, "Observations behind the rules") shapes it:

- **The harness must be amortised, not just small.** asv_runner calls a parameterised benchmark
  through a closure (`self.func(*param)`): 80-290 ns per call depending on the CPU, against a
  0.5 us `torch.from_numpy`. Here the timed statement is the bound call itself, run `number`
  times in `timeit`'s loop (pyperf's inner loops, timeit's `number`), and the batch is divided by
  `number`, which asv records with the result (`stats_number`).
- **Noise only adds time, in spells.** Another tenant slows this VM by 1.6x-2.1x for stretches
  of 0.1 ms to several seconds (thread CPU time is as slow as wall time: contention, not steal);
  in a noisy phase two thirds of all 10 ms windows hold no quiet moment, yet over 20 minutes every
  10-second stretch but one held a batch within 2 % of the quietest. So a case is looked at many
  times, each look short and keeping its fastest batch, the looks spread over the whole run
  (asv's rounds, `Looks`).
- **Layout matters as much as noise.** Every benchmark process is forked from the same parent and
  so allocates at the same addresses: one run timed `torch.from_numpy` 1.8x slow in every look,
  and `a.copy()` of 4 KiB runs 250 or 360 ns depending on where the copy lands. Each look
  randomizes its memory layout (`randomize_layout`), and each round is its own asv process with
  its own forkserver, hence its own library addresses (`bridge_bench.drive.asvrun`), so every run
  samples the same layouts.
- **Some variance lives between processes** (page placement, huge pages, the allocator's state):
  each look is a fresh process, forked by asv for the round, and the published figure is a
  median over the looks no spell reached, i.e. over processes and layouts (bridge_bench.estimate).

Nothing here knows asv; `benchmarks/common.py` turns looks into asv samples and
`bridge_bench.estimate` turns samples into the published figure.
"""

from __future__ import annotations

import ctypes
import math
import time
import timeit
from dataclasses import dataclass
from typing import Any, Callable

#: A batch of calls lasts at least this long: the timer reads and loop set-up are then under
#: 0.1 %, and a batch is short enough to fit into a quiet moment.
BATCH_S = 0.0005
#: A look times batches for at least this long...
WINDOW_S = 0.01
#: ...and at least this many of them (memory-bound calls take milliseconds each).
MIN_BATCHES = 3
#: Batches run and discarded before the window: first-call effects (lazy initialisation, a thread
#: pool starting, a destination's pages, the cache) land in them...
WARMUP_BATCHES = 4
#: ...unless they take longer than this (a 64 MiB copy: two or three calls).
WARMUP_S = 0.02
#: CUDA paths measure in one process (no fork after CUDA): this many consecutive windows.
IN_PROCESS_WINDOWS = 5
#: A *canary* is timed between the batches of every look: `ctypes.memmove` of 4 KiB, a call of no
#: library under test that slows with the same spells (docs/methodology.md, "The canary"; how well
#: it tracks them: docs/calibration.md, "Observations behind the rules"). A batch of it lasts about
#: this long...
CANARY_S = 0.0001
#: ...and reads quiet within this factor of the run's fastest canary (`Looks.canary_floor`).
CANARY_QUIET = 1.2
#: A look is *quiet* when one of its batches has a quiet canary on both sides. On a noisy day
#: every look at a case can meet a slow spell (docs/calibration.md, "Observations behind the rules"):
#: a fast case short of quiet looks may extend its last looks (`bridge_bench.measure.plan.extends`), each for up to
#: `EXTEND_S`, until one is quiet, and a run spends at most `EXTEND_BUDGET_S` in all on extending.
#: A quiet look then sets the fastest look, and the looks that met a spell are set aside
#: (bridge_bench.estimate). Slow cases are not extended: their spells are other tenants' memory
#: traffic, and a look costs more.
EXTEND_S = 1.0
EXTEND_BUDGET_S = 60.0


@dataclass(frozen=True)
class Window:
    """What one window measured: the fastest batch per call, the batch size, how many batches;
    with a canary, its fastest batch per call and whether the window held a quiet moment."""

    seconds: float
    number: int
    batches: int
    canary: float | None = None
    quiet: bool | None = None
    extended: float = 0.0


class Canary:
    """The canary of a look (`CANARY_S`): a fixed call of no library under test, timed in batches,
    and the fastest batch per call the run has seen (`floor`). With a floor, a batch is as many
    calls as `CANARY_S` holds at that speed (calibrating costs a look ~1 ms); the run's first look
    calibrates."""

    def __init__(self, floor: float | None = None):
        source, self._destination = ctypes.create_string_buffer(4096), ctypes.create_string_buffer(4096)
        self._timer = timeit.Timer(lambda: ctypes.memmove(self._destination, source, 4096))
        if floor:
            self.number = math.ceil(CANARY_S / floor)
            self._timer.timeit(self.number)  # warm, as calibrating would have
        else:
            self.number = calibrate(self._timer, CANARY_S)
        self.floor = floor

    def time(self) -> float:
        """One batch, per call; the floor follows the fastest."""
        seconds = self._timer.timeit(self.number) / self.number
        self.floor = min(seconds, self.floor or seconds)
        return seconds


def calibrate(timer: timeit.Timer, batch_s: float = BATCH_S) -> int:
    """The number of calls that makes a batch last at least `batch_s` (timeit's autorange, unrounded).

    It also warms the call up: first-call effects (lazy initialisation, a thread pool starting,
    a destination's pages) land in these discarded batches.
    """
    number = 1
    while True:
        took = timer.timeit(number)
        if took >= batch_s:
            return number
        number = max(number + 1, int(number * min(10.0, 1.2 * batch_s / max(took, 1e-9))))


def time_window(call: Callable[[], Any], number: int = 0, window_s: float = WINDOW_S,
                min_batches: int = MIN_BATCHES, warmup_batches: int = WARMUP_BATCHES,
                canary: Canary | None = None, extend_s: float = 0.0) -> Window:
    """Time `call` in batches of `number` calls (calibrated when 0) for `window_s`; keep the fastest.

    The first `warmup_batches` batches (at most `WARMUP_S` of them) are discarded: a copy into a
    destination allocated moments ago runs slower for its first calls (64 MiB here: 10-14 ms, then
    5-10 ms), and the window must measure the call, not its first-call effects. With a `canary`,
    a canary batch is timed before the first batch and after each, and the window is quiet when a
    batch has a quiet canary on both sides; with `extend_s`, a window that is not quiet by its end
    goes on for up to `extend_s` more until it is.
    """
    timer = timeit.Timer(call)
    number = number or calibrate(timer)
    warm_until = timeit.default_timer() + WARMUP_S
    for _ in range(warmup_batches):
        timer.timeit(number)
        if timeit.default_timer() > warm_until:
            break
    start = timeit.default_timer()
    batches, canaries, quiet = [], [canary.time()] if canary else [], False

    def going() -> bool:
        elapsed = timeit.default_timer() - start
        return (len(batches) < min_batches or elapsed < window_s
                or (canary is not None and not quiet and elapsed < window_s + extend_s))

    while going():
        batches.append(timer.timeit(number))
        if canary:
            canaries.append(canary.time())
            quiet = quiet or max(canaries[-2:]) <= CANARY_QUIET * canary.floor
    if not canary:
        return Window(min(batches) / number, number, len(batches))
    extended = max(0.0, timeit.default_timer() - start - window_s) if extend_s else 0.0
    return Window(min(batches) / number, number, len(batches), min(canaries), quiet, extended)


def repeat_for(measure: Callable[[], float], seconds: float, at_least: int = 3) -> list[float]:
    """`measure()` again and again for `seconds`, and at least `at_least` times: the readings of
    what the machine gives a run (`cores`, `cpu`, `bandwidth`)."""
    readings = []
    end = time.monotonic() + seconds
    while time.monotonic() < end or len(readings) < at_least:
        readings.append(measure())
    return readings
