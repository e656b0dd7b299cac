"""The round loop's plan of processes (bridge_bench.drive.rounds): which cases a later round gives a process,
checked with asv's own matching of --bench regexes against parameterized benchmarks."""

import itertools
import re

from bridge_bench import suite
from bridge_bench.measure import plan
from bridge_bench.drive import rounds

from test_plan import COPY_64MIB, ZERO_COPY, record

SIZES_N2T = "bench_sizes.NumpyToTorch.time_convert"
PARAMS = [["'from_numpy'", "'tensor'"], ["8", "65536", "67108864"], ["'float32'"], ["'C'"]]


def asv_selects(regexes, name=SIZES_N2T, params=PARAMS):
    """The parameter sets of `name` that asv runs for these --bench regexes (asv.benchmarks.Benchmarks)."""
    return [combo for combo in itertools.product(*params)
            if any(re.search(r, f"{name}({', '.join(combo)})") for r in regexes)]


def test_a_later_round_gives_a_process_to_the_due_cases_only():
    states = [record(f"{SIZES_N2T}('from_numpy', 8, 'float32', 'C')", [5e-7] * 4),  # settled
              record(f"{SIZES_N2T}('tensor', 65536, 'float32', 'C')", [6e-6, 7e-6, 6.1e-6, 6.9e-6]),  # spread
              record(f"{SIZES_N2T}('tensor', 8, 'float32', 'C')", [3e-6]),  # still in its first looks
              {**record(f"{SIZES_N2T}('from_numpy', 65536, 'float32', 'C')", []), "refused": "no"}]
    cases = rounds.due_cases(states, 5, "adaptive")
    assert cases == sorted([f"{SIZES_N2T}('tensor', 65536, 'float32', 'C')",
                            f"{SIZES_N2T}('tensor', 8, 'float32', 'C')"])
    regexes = rounds.schedule(cases, bench=[])
    assert asv_selects(regexes) == [("'tensor'", "8", "'float32'", "'C'"), ("'tensor'", "65536", "'float32'", "'C'")]
    assert not asv_selects(regexes, name="bench_dtypes.NumpyToTorch.time_convert"), "another benchmark's cases"
    readings = {b.name for b in suite.EVERY_ROUND}
    assert {n for n in readings if any(re.search(r, n) for r in regexes)} == readings, "the machine is read again"
    assert not any(re.search(r, suite.TORCH_THREADS.name) for r in regexes), "context read once"
    assert not any(re.search(r, "bench_sizes.NumpyToTorch.track_faults") for r in regexes), "counts counted once"


def test_readings_the_first_round_left_out_stay_out():
    regexes = rounds.schedule([ZERO_COPY], bench=[r"^bench_sizes\."])
    assert not any(re.search(r, b.name) for r in regexes for b in suite.EVERY_ROUND)


def test_nothing_due_means_no_round():
    assert rounds.due_cases([record(ZERO_COPY, [5e-7] * plan.LOOKS)], 3, "adaptive") == []
    assert rounds.due_cases([record(COPY_64MIB, [5e-3, 5.1e-3])], 4, "rigorous") == [], "a slow case resting"


def test_the_summary_counts_looks_per_class_and_the_short_of_quiet():
    said = rounds.summary([record(ZERO_COPY, [5e-7] * 4), record(ZERO_COPY.replace(", 8,", ", 16,"), [5e-7] * 6),
                           record(COPY_64MIB, [5e-3] * 8, [False] * 8)])
    assert "call-bound 2 cases, 5.0 looks each (4-6)" in said and "memory-bound 1 cases, 8.0 looks each (8-8)" in said
    assert "fewer than" not in said
    short = rounds.summary([record(ZERO_COPY, [5e-7] * 12, [False] * 12)])
    assert "1 of 1 fast cases found fewer than 2 quiet looks" in short
