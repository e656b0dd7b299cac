"""The published figure: asv's own median of the looks, as a real run writes it."""

import json
import statistics

from bridge_bench import estimate


def _result_file(folder):
    (file,) = [p for p in folder.glob("*/*.json") if p.name != "machine.json"]
    return file


def test_timed_benchmarks_are_known_by_their_method():
    assert estimate.is_timed("bench_sizes.NumpyToTorch.time_convert")
    assert not estimate.is_timed("bench_sizes.NumpyToTorch.track_faults")
    assert not estimate.is_timed("bench_sizes.time_convert_extra")


def test_a_real_run_publishes_the_median_of_every_look_of_its_rounds(small_asv_run):
    """Four rounds, each its own `asv run --append-samples`: the stored figure is the median of the
    looks of all of them (not of the last round's), inside its stored 99 % interval."""
    data = json.loads(_result_file(small_asv_run[0]).read_text())
    columns = data["result_columns"]
    result, samples, low, high = (columns.index(c) for c in ("result", "samples", "stats_ci_99_a", "stats_ci_99_b"))
    looked = 0
    for name, row in data["results"].items():
        if not estimate.is_timed(name):
            continue
        for i, looks in enumerate(row[samples]):
            if looks:
                looked += 1
                assert len(looks) in (2, 4), f"{name}: one look per round (slow cases every second round)"
                assert row[result][i] == statistics.median(looks)
                assert row[low][i] <= row[result][i] <= row[high][i]
    assert looked >= 8, "the fixture times cases"
