"""How many looks a timed case gets: the staged design (`adaptive`, the default) and the fixed one (`rigorous`).

A look is one window of one fresh benchmark process, one per asv round (bridge_bench.measure.timing);
what a case's looks were is its record (`record.Looks`). This module reads a record and says
whether the case looks in a round. The benchmark process asks it before looking, and the driver
(bridge_bench.drive.asvrun) asks it before a round, so that a case that will not look is not even given
a process: one costs ~20 ms of asv's bookkeeping, a fork and an exit.

- **rigorous** (`bridge-bench run --rigorous`): the fixed design. Every case looks in each of
  `LOOKS` rounds; a case whose call takes a batch or more (a copy of megabytes) looks in every
  `SLOW_STRIDE`-th round while its looks agree within `estimate.QUIET`, and in every round once they
  spread.
- **adaptive**: each case looks `FIRST_LOOKS` times, then stops as soon as its figure is known
  (`settled`): at least `QUIET_LOOKS` of its looks held a quiet moment (the canary; a slow case's
  spells are other tenants' memory traffic, which a canary of CPU work does not see), and a majority
  of the looks within `estimate.QUIET` of the fastest, at least `MIN_KEPT` of them, agree within
  its class's `AGREE` factor (`band`; bridge_bench.classes), so the published figure, their
  median, is pinned between them. A case whose looks spread, or met slow spells, keeps looking, up
  to `LOOKS`; a fast case that still has fewer than `QUIET_LOOKS` quiet looks then has `OVERTIME`
  rounds more (only such cases look in them): in a heavy stretch most looks at a call read 1.6-2x
  slow, and 12 looks with no fast one publish the slow figure. The time goes where the variance is.
  docs/methodology.md, "How many looks".

In both, a fast case (a call under a batch) that still lacks quiet looks in its last
`EXTEND_LOOKS` looks may go on timing until one is quiet (`extends`).

The mode reaches the benchmark processes through `MODE_VARIABLE` and the round through
`ROUND_VARIABLE` (set by the driver); in a plain `asv run` the round is the case's own count of
processes, since asv gives every case a process in every round.
"""

from __future__ import annotations

import ast
import math
import os

from bridge_bench import classes, estimate, suite
from bridge_bench.measure import timing

MODES = ("adaptive", "rigorous")
MODE_VARIABLE = "BRIDGE_BENCH_LOOKS"
ROUND_VARIABLE = "BRIDGE_BENCH_ROUND"
#: The looks every case may take in a run, and its rounds: one look per round (rigorous: all of a
#: run; adaptive: all but the overtime).
LOOKS = 12
#: adaptive: rounds after the `LOOKS`th for the fast cases still short of `QUIET_LOOKS` quiet looks.
#: On 2026-12-07 (a stretch where ~80 % of looks at a call read 1.6-2x slow), 4 small runs of 130
#: cases published 1.6-1.8x figures for cases whose 12 looks held none fast (docs/calibration.md).
OVERTIME = 6
#: The most looks a case takes in any run.
MOST_LOOKS = LOOKS + OVERTIME
#: rigorous: a slow case whose looks agree looks in every this-many-th round (its looks cost 5-30x more).
SLOW_STRIDE = 2
#: adaptive: looks every case takes before its figure can be known.
FIRST_LOOKS = 4
#: adaptive: how far a case's kept looks (those within `estimate.QUIET` of its fastest) may spread,
#: max / min, for its figure to be known; by class (bridge_bench.classes).
AGREE = {"call-bound": 1.05, "in-cache": 1.08, "memory-bound": 1.15}
#: adaptive: kept looks a known figure is the median of.
MIN_KEPT = 3
#: Looks that held a quiet moment (the canary, bridge_bench.measure.timing) before a figure is known,
#: and below which a fast case extends its last looks.
QUIET_LOOKS = 2
#: A fast case short of quiet looks may extend each of its last this-many looks.
EXTEND_LOOKS = 4


def mode() -> str:
    """This run's mode, from `MODE_VARIABLE`; adaptive by default."""
    chosen = os.environ.get(MODE_VARIABLE) or "adaptive"
    if chosen not in MODES:
        raise ValueError(f"{MODE_VARIABLE}={chosen!r}: use one of {', '.join(MODES)}")
    return chosen


def round_of(state: dict) -> int:
    """The round a benchmark process runs in: the driver's (`ROUND_VARIABLE`), else the case's own
    count of processes (`state['rounds']`, this one included)."""
    return int(os.environ.get(ROUND_VARIABLE) or state.get("rounds") or 1)


def params(case: str) -> tuple:
    """The parameters of a case named as asv names it: `module.Class.method('path', 8, 'float32', 'C')`."""
    _, _, rest = case.partition("(")
    return ast.literal_eval("(" + rest) if rest else ()


def case_class(state: dict) -> str:
    """The class of the case a record holds (path and bytes from its name, time from its looks)."""
    name = state["case"].partition("(")[0]
    path, *values = params(state["case"]) + (None, None)
    size = suite.moved_bytes(name, values)
    return classes.timed_class(path, size, estimate.published(state["samples"]))


def slow(state: dict) -> bool:
    """A case whose call takes a batch or more (`timing.BATCH_S`: a copy of megabytes)."""
    samples = state.get("samples") or []
    return bool(samples) and min(samples) >= timing.BATCH_S


def settled(state: dict) -> bool:
    """adaptive: whether the looks so far pin the case's figure, or it has had all it gets (module
    docstring)."""
    samples = state.get("samples") or []
    short = not slow(state) and sum(state.get("quiet") or []) < QUIET_LOOKS
    if len(samples) >= LOOKS:
        return not short or len(samples) >= MOST_LOOKS
    if len(samples) < FIRST_LOOKS or short:
        return False
    return band(estimate.quiet(samples)) <= AGREE[case_class(state)]


def last_round(rounds: int, chosen: str) -> int:
    """The last round a run of `rounds` rounds may take: adaptive runs of `LOOKS` rounds or more
    add the `OVERTIME` rounds (a shorter run, a test's, is held to what it asked for)."""
    return rounds + (OVERTIME if chosen == "adaptive" and rounds >= LOOKS else 0)


def band(kept: list[float]) -> float:
    """How tightly a majority of the kept looks (sorted; at least `MIN_KEPT` of them) agree: the
    narrowest max / min over that many consecutive looks; infinite with fewer than `MIN_KEPT`.

    The published figure is the median of the kept looks, and a majority of them inside a band puts
    the median inside it too: one look of a rare layout (~9 % faster here) or a mild spell does not
    keep a case looking, two modes of equal weight do."""
    size = max(MIN_KEPT, len(kept) // 2 + 1)
    if len(kept) < size:
        return math.inf
    return min(kept[i + size - 1] / kept[i] for i in range(len(kept) - size + 1))


def due(state: dict, round_: int, chosen: str) -> bool:
    """Whether a case with this record looks in round `round_` of a run of mode `chosen`."""
    if state.get("refused"):
        return False
    samples = state.get("samples") or []
    if chosen == "adaptive":
        return not settled(state)
    agree = not samples or max(samples) <= min(samples) * estimate.QUIET
    stride = SLOW_STRIDE if slow(state) and agree else 1
    return (round_ - 1) % stride == 0


def extends(state: dict, round_: int, chosen: str) -> bool:
    """Whether this look of a fast case may go on for a quiet moment: one of its last
    `EXTEND_LOOKS` chances (rounds in rigorous, looks in adaptive) with fewer than `QUIET_LOOKS`
    quiet looks."""
    if slow(state) or sum(state.get("quiet") or []) >= QUIET_LOOKS:
        return False
    taken = round_ - 1 if chosen == "rigorous" else len(state.get("samples") or [])
    return taken >= LOOKS - EXTEND_LOOKS


def short_of_quiet(states: list[dict]) -> tuple[int, int]:
    """Of a run's fast cases (records), how many ended with fewer than `QUIET_LOOKS` quiet looks (a
    slow stretch covered even their extended looks), and how many there were."""
    fast = [s for s in states if s.get("samples") and not slow(s)]
    return sum(sum(s.get("quiet") or []) < QUIET_LOOKS for s in fast), len(fast)
