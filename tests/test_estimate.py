"""The published figure: the median of the quiet looks, written into asv's own result files by `finalize`."""

import json
import shutil

from asv.util import load_json, write_json

from bridge_bench import cli, estimate, suite
from bridge_bench.measure import plan
from bridge_bench.read import results


def test_the_estimate_sets_spells_aside_and_takes_the_median_of_the_rest():
    # two looks met a spell (2x); one lucky layout (0.95); the usual layout around 1.0
    looks = [2.0, 1.0, 0.95, 1.01, 1.9, 1.02, 1.0]
    assert estimate.quiet(looks) == [0.95, 1.0, 1.0, 1.01, 1.02]
    assert estimate.published(looks) == 1.0
    assert estimate.interval(looks) == (0.95, 1.02)
    assert estimate.published([5.0]) == 5.0 and estimate.interval([5.0]) == (5.0, 5.0)
    timed = [b for b in suite.BENCHMARKS if b.method == suite.TIMED]
    assert [b for b in suite.BENCHMARKS if suite.is_timed(b.name)] == timed


def _result_file(folder):
    (file,) = [p for p in folder.glob("*/*.json") if p.name != "machine.json"]
    return file


def test_a_real_run_is_finalized_and_finalize_rewrites_only_timed_results(recorded_run, tmp_path):
    results_dir = shutil.copytree(recorded_run.results, tmp_path / "results")
    file = _result_file(results_dir)
    data = load_json(str(file), api_version=2)
    columns = data["result_columns"]
    result, samples, low, high = (columns.index(c) for c in ("result", "samples", "stats_ci_99_a", "stats_ci_99_b"))
    timed = {k: v for k, v in data["results"].items() if suite.is_timed(k)}
    assert timed, "the fixture times cases"

    def looks_of(row) -> list:
        """A row's looks per case; asv drops a row's trailing empty columns (a skipped case has none)."""
        return (row[samples] if len(row) > samples and row[samples] else None) or [None] * len(row[result])

    for row in timed.values():
        for value, looks in zip(row[result], looks_of(row)):
            if looks:
                assert plan.FIRST_LOOKS <= len(looks) <= plan.MOST_LOOKS, "one look per round, as the plan gave them"
                assert value == estimate.published(looks), "the run wrote the estimate (asv alone writes the median)"

    # What a plain `asv run` leaves: asv's median of all looks, here made to differ. finalize puts the estimate back.
    untouched = {k: json.dumps(v) for k, v in data["results"].items() if not suite.is_timed(k)}
    for row in timed.values():
        row[result] = [max(s) * 2 if s else v for v, s in zip(row[result], looks_of(row))]
    write_json(str(file), data, api_version=2)
    (warning,) = results.load([results_dir]).warnings
    assert str(file) in warning and "not of the quiet ones" in warning and "bridge-bench finalize" in warning
    assert cli.main(["finalize", str(results_dir)]) == 0
    assert not results.load([results_dir]).warnings
    again = load_json(str(file), api_version=2)
    for name, row in again["results"].items():
        if name in untouched:
            assert json.dumps(row) == untouched[name], f"{name} is not a timed benchmark and must not change"
            continue
        for i, looks in enumerate(looks_of(row)):
            if looks:
                assert row[result][i] == estimate.published(looks)
                assert (row[low][i], row[high][i]) == estimate.interval(looks)
    assert estimate.finalize(results_dir) == 0, "finalizing twice changes nothing"


def test_finalize_names_a_broken_file_and_a_missing_folder(tmp_path, capsys):
    assert cli.main(["finalize", str(tmp_path / "nope")]) == 2
    broken = tmp_path / "results" / "box"
    broken.mkdir(parents=True)
    (broken / "abc-env.json").write_text("{not json")
    assert cli.main(["finalize", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "nope" in err[0] and "results" in err[1]
    assert (broken / "abc-env.json").read_text() == "{not json"
