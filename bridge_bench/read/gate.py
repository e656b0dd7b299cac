"""The gate's rules: how a pair of cases is judged, by the class of case and the machine's readings.

Three kinds of case, three rules, each about the figure that is published:

- **Timed cases** (`time_convert`: looks, bridge_bench.estimate). The published figure is the
  median of the quiet looks, and the ratio is that figure against the same. On the shared machines
  this suite runs on, it moves between identical runs by a few percent when the call is bound by its
  own overhead, by more when it copies through the cache, and by more again when it streams memory
  (docs/calibration.md, "The gate's factors: identical runs"), so a case counts as changed when the
  ratio passes its class's factor (`FACTORS`, `classes.timed_class`) and other estimates of the same
  looks agree. A call-bound case's or an in-cache copy's fastest look must differ by at least half
  the factor's margin (a call-bound one's by at most `CALL_BOUND_FASTEST`): a slow stretch that
  covered most looks of one run moves the published figure, not the fastest look (the fastest look
  moves by layout, up to 1.14x, so it cannot be asked for the whole factor). A memory-bound case
  varies between processes (page placement, huge pages, other tenants' memory traffic), so there the
  fastest look and the median of all looks must differ past the factor, and the looks themselves by
  Mann-Whitney U (`MEMORY_P`): three estimates and the test agree, or nothing is said. The in-cache
  and memory-bound copies that torch makes (the catalogue's `threaded` paths) use its thread pool,
  so they are as fast as a second core is free; where the candidate's run had fewer free cores than
  the baseline's (`bench_context.track_parallel_speedup`, bridge_bench.measure.cores; by
  `CORES_AGREE`), such a copy that is slower is not called a regression but *contended*, and where
  it had more, one that is faster is not called an improvement: the machine changed, and the result
  says so instead of guessing. The CPU itself runs faster or slower through whole runs (every
  call-bound case 4-5 % slower in one run than in another); each run times a fixed call of no
  library under test (`bench_context.track_call_time`, bridge_bench.measure.cpu), and a call-bound
  case or an in-cache copy is judged on its ratios over the two runs' (`CPU_BOUND`).
- **Counts** (page faults and heap bytes per call, `track_faults`, `track_held_bytes`). They do
  not drift with the machine's speed, so the factor is tight (`COUNT_FACTOR`), with an absolute
  floor so that 0.1 against 0 faults is not a change.
- **Anything else** (peak memory, GB/s ceilings, asv's own time benchmarks): the factor
  `OTHER_FACTOR` and asv's significance test (Mann-Whitney U on samples, p < 0.002, else 99 %
  intervals that do not overlap).

Against a history (`--history`, the nightly gate), a CUDA case whose history holds fewer than
`CUDA_NIGHTS` nights of that machine is not gated: a change is reported as *new*.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import pandas as pd

from bridge_bench import catalogue, classes, errors, suite
from bridge_bench.read import results

#: Factors of the timed classes: the smallest that flagged no case between identical runs and still
#: caught most real slowdowns. The rule: docs/methodology.md, "Classes and the gate's factors".
#: The runs: docs/calibration.md, "The gate's constants".
FACTORS = {"call-bound": 1.11, "in-cache": 1.20, "memory-bound": 1.25}
#: A call-bound case's fastest look must move by half the factor's margin, but never more than this
#: (docs/calibration.md, "The gate's constants").
CALL_BOUND_FASTEST = 1.05
#: The call-bound factor of a paired run (`bridge-bench paired`): both sides meet the same slow
#: stretches, so it can be tighter (docs/calibration.md, "The gate's constants").
PAIRED_FACTORS = {**FACTORS, "call-bound": 1.08}
#: Two runs' parallel speedups (bridge_bench.measure.cores) differ when one is this many times the
#: other (docs/methodology.md, "Parallel speedup (free cores)").
CORES_AGREE = 1.15
#: The timed classes in which a `threaded` path's copy has more than 32768 elements.
THREADED = ("in-cache", "memory-bound")
#: The timed classes judged on their ratios over the two runs' call times (bridge_bench.measure.cpu):
#: what they cost is the CPU's work, not memory's.
CPU_BOUND = ("call-bound", "in-cache")
#: A memory-bound case's looks must also differ by Mann-Whitney U at this p (two-sided), where the
#: looks are enough for it (docs/calibration.md, "The gate's constants").
MEMORY_P = 0.01
#: Counts per call: changes beyond this factor and beyond the unit's floor are real.
COUNT_FACTOR = 1.10
COUNT_FLOORS = {"faults/call": 8.0, "bytes/call": 4096.0}
#: Everything else: peak memory, the CUDA ceilings' GB/s, asv-timed benchmarks.
OTHER_FACTOR = 1.5
MIN_FACTOR = 1.02
STATUSES = ("regression", "improvement", "contended", "new", "same")
#: What judging a pair of cases says (`compare_frames`): 'new' comes only against a history (`too_new`).
JUDGED = tuple(s for s in STATUSES if s != "new")
#: A CUDA case is gated against a history only once it holds this many nights of it: a GPU box's
#: first nights (a new driver, a new board in the class) set no bar on their own (docs/gpu.md).
CUDA_NIGHTS = 3


class CompareError(errors.InputError):
    """Bad input: printed as one line naming it, exit code 2."""


def lower_is_better(unit: str | None) -> bool:
    """Time and memory: lower is better; anything per second, and free cores: higher is."""
    return not (unit and ("/s" in unit or unit == "cores"))


def kind_of(benchmark: str, unit: str | None, looks: bool) -> str:
    """Which rule judges a case: 'timed' (looks on both sides), 'count' or 'other'."""
    if suite.is_timed(benchmark) and looks:
        return "timed"
    if unit in COUNT_FLOORS:
        return "count"
    return "other"


def _stats(row, side: str):
    stats = {key: row[f"{column}_{side}"] for key, column in results.INTERVAL.items()}
    if any(v is None or pd.isna(v) for v in stats.values()):
        return None
    return stats


def significant(row) -> bool | None:
    """asv's test on the two sides; None when neither samples nor intervals are recorded."""
    from asv._stats import is_different

    sa, sb = row["samples_base"], row["samples_cand"]
    samples_a = sa if isinstance(sa, list) else None
    samples_b = sb if isinstance(sb, list) else None
    stats_a, stats_b = _stats(row, "base"), _stats(row, "cand")
    if (samples_a is None or samples_b is None) and (stats_a is None or stats_b is None):
        return None
    if stats_a is None or stats_b is None:  # samples only: is_different needs intervals as fallback
        stats_a = stats_b = dict(zip(results.INTERVAL, (-math.inf, math.inf)))
    return bool(is_different(samples_a, samples_b, stats_a, stats_b))


def _reading(frame: pd.DataFrame, benchmark: suite.Benchmark) -> float | None:
    values = frame.loc[frame["benchmark"] == benchmark.name, "value"].dropna()
    return float(values.iloc[0]) if len(values) == 1 else None


def parallel_speedup(frame: pd.DataFrame) -> float | None:
    """A side's parallel speedup (`bench_context.track_parallel_speedup`), if it has one reading."""
    return _reading(frame, suite.PARALLEL_SPEEDUP)


def memory_bandwidth(frame: pd.DataFrame) -> float | None:
    """A side's memory bandwidth in GB/s (`bench_context.track_memory_bandwidth`), if it has one reading."""
    return _reading(frame, suite.MEMORY_BANDWIDTH)


def call_time(frame: pd.DataFrame) -> float | None:
    """A side's time of the fixed call in ns (`bench_context.track_call_time`), if it has one reading."""
    return _reading(frame, suite.CALL_TIME)


@dataclass(frozen=True)
class Machine:
    """What the machine gave each side's run, (baseline, candidate); None where a side has no reading."""

    cores: tuple[float | None, float | None] = (None, None)  # parallel speedup
    call_time: tuple[float | None, float | None] = (None, None)  # ns
    bandwidth: tuple[float | None, float | None] = (None, None)  # GB/s, reported only

    @classmethod
    def of(cls, base: pd.DataFrame, cand: pd.DataFrame) -> "Machine":
        return cls(*((read(base), read(cand)) for read in (parallel_speedup, call_time, memory_bandwidth)))

    @property
    def cpu_slowdown(self) -> float:
        """How much slower the candidate's run ran the fixed call; 1.0 if a side has no reading."""
        return 1.0 if None in self.call_time else self.call_time[1] / self.call_time[0]


def looks_differ(a: list[float], b: list[float], p: float = MEMORY_P) -> bool:
    """Whether two sides' looks differ by Mann-Whitney U at `p`; True where there are too few looks
    for the test to reach `p` at all (then the estimates alone decide)."""
    from asv._stats import mann_whitney_u

    if 2 / math.comb(len(a) + len(b), len(a)) >= p:
        return True
    return mann_whitney_u(a, b)[1] < p


def judge(row, factors: dict[str, float], machine: Machine = Machine()) -> pd.Series:
    """One paired case: its class, ratio, factor and status.

    `evidence` says, for (worse, better), whether the data back a change beyond the factor: for
    call-bound cases the fastest look, past half the factor's margin; for memory-bound cases the
    fastest look and the median of all looks, past the factor, and the looks by `looks_differ`;
    for counts the floor; for the rest asv's test. A call-bound case or an in-cache copy
    (`CPU_BOUND`) is judged on its ratios over the machine's (`Machine.cpu_slowdown`, the column
    'expected'): a run whose CPU ran the fixed call slower is expected to run every such call slower
    by as much. A change of a copy torch makes with its thread pool, in the direction the free cores
    moved, is 'contended', not judged.
    """
    looks = isinstance(row["samples_base"], list) and isinstance(row["samples_cand"], list)
    kind = kind_of(row["benchmark"], row["unit_base"], looks)
    base, cand = row["value_base"], row["value_cand"]
    expected = 1.0
    if kind == "timed":
        kind = classes.timed_class(row["path"], classes.moved_bytes(row["size"], row["batch"]), base)
        factor = factors[kind]
        if kind in CPU_BOUND:
            expected = machine.cpu_slowdown
        looks_base, looks_cand = row["samples_base"], [x / expected for x in row["samples_cand"]]
        others = [min(looks_cand) / min(looks_base)]
        need = 1 + (factor - 1) / 2  # layouts move a fastest look by up to 1.14x
        if kind == "call-bound":
            need = min(need, CALL_BOUND_FASTEST)
        shifted = True
        if kind == "memory-bound":
            others.append(statistics.median(looks_cand) / statistics.median(looks_base))
            need = factor
            shifted = looks_differ(looks_base, looks_cand)
        evidence = (min(others) > need and shifted, max(others) < 1 / need and shifted)
    elif kind == "count":
        factor, floor = COUNT_FACTOR, COUNT_FLOORS[row["unit_base"]]
        evidence = (cand - base > floor, base - cand > floor)
    else:
        factor = factors["other"]
        evidence = (significant(row) is not False,) * 2
    ratio = cand / base if base else math.inf if cand else 1.0
    worse_by = ratio / expected if lower_is_better(row["unit_base"]) else 1 / ratio
    status = "same"
    if worse_by > factor and evidence[0]:
        status = "regression"
    elif worse_by < 1 / factor and evidence[1]:
        status = "improvement"
    record = catalogue.BY_ID.get(row["path"])
    cores = machine.cores
    if kind in THREADED and record is not None and record.threaded and None not in cores:
        fewer = cores[1] * CORES_AGREE < cores[0]
        more = cores[0] * CORES_AGREE < cores[1]
        if (status == "regression" and fewer) or (status == "improvement" and more):
            status = "contended"
    return pd.Series({"kind": kind, "ratio": ratio, "expected": expected, "worse_by": worse_by,
                      "factor": factor, "status": status})


def factors_for(call: float | None = None, memory: float | None = None, cache: float | None = None,
                defaults=FACTORS) -> dict[str, float]:
    """The gate's factors, `defaults` unless given; CompareError below `MIN_FACTOR`."""
    out = {**defaults, "other": OTHER_FACTOR}
    for key, value in (("call-bound", call), ("memory-bound", memory), ("in-cache", cache)):
        if value is not None:
            if not value >= MIN_FACTOR:
                raise CompareError(f"factor {value} is below {MIN_FACTOR}: no measurement here is that exact")
            out[key] = value
    return out
