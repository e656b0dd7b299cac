"""bridge-bench compare: unit tests on real result files, and end-to-end on real asv runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bridge_bench import asvrun, compare

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "bridge-bench-compare"
COPIES = [("tensor", 64 * 2**20), ("clone", 64 * 2**20), ("copy_", 64 * 2**20)]
ZERO_COPY = [("from_numpy", 64 * 2**20), ("numpy", 64 * 2**20), ("from_numpy", 8)]
BENCH = {"tensor": "NumpyToTorch", "from_numpy": "NumpyToTorch", "numpy": "TorchToNumpy", "copy_": "Reference",
         "clone": "Reference"}


def real_run(work: Path, cases, **env) -> Path:
    """A real filtered `asv run -E existing` into work/results; returns that folder."""
    conf = asvrun.private_config(ROOT / "asv.conf.json", work)
    regexes = [asvrun.bench_regex(f"bench_sizes.{BENCH[p]}.time_convert", (p, s, "float32", "C")) for p, s in cases]
    asvrun.run_existing(conf, MACHINE, regexes, env=asvrun.private_env(work / "home", MACHINE, **env),
                        extra=["--record-samples"])
    return work / "results"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return real_run(tmp_path_factory.mktemp("baseline"), COPIES + ZERO_COPY)


def scaled_copy(results: Path, dest: Path, path_id: str, factor: float) -> Path:
    """A copy of a real results folder with one path's times (value, samples, intervals) scaled."""
    shutil.copytree(results, dest)
    (file,) = asvrun.result_files(dest, MACHINE)
    data = json.loads(file.read_text())
    columns = data["result_columns"]
    for row in data["results"].values():
        params = row[columns.index("params")]
        if f"'{path_id}'" not in params[0]:
            continue
        index = params[0].index(f"'{path_id}'")
        width = len(row[columns.index("result")]) // len(params[0])
        for name in ("result", "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75", "samples"):
            values = row[columns.index(name)]
            for i in range(index * width, (index + 1) * width):
                if isinstance(values[i], list):
                    values[i] = [v * factor for v in values[i]]
                elif values[i] is not None:
                    values[i] = values[i] * factor
    file.write_text(json.dumps(data))
    return dest


def beyond_noise(results: Path, path_id: str) -> float:
    """A scale factor that lifts every sample of a path above the slowest of its own run (and at
    least 3x): a shift no noise explains. The fixture is a real run on a shared machine, and once on
    CI the spread of torch.tensor's samples at 64 MiB was wide enough that 3x did not separate them."""
    frame = compare.Side(results).load()[0]
    samples = [s for row in frame[frame["path"] == path_id]["samples"] for s in row]
    return max(3.0, 1.5 * max(samples) / min(samples))


def test_identical_sides_show_no_change(baseline):
    result = compare.compare(compare.Side(baseline), compare.Side(baseline))
    assert len(result.cases) == len(COPIES + ZERO_COPY)
    assert set(result.cases["status"]) == {"same"} and not len(result.regressions)


def test_a_slower_path_is_a_regression_and_a_faster_one_an_improvement(baseline, tmp_path):
    factor = beyond_noise(baseline, "tensor")
    slower = scaled_copy(baseline, tmp_path / "slow", "tensor", factor)
    result = compare.compare(compare.Side(baseline), compare.Side(slower))
    (row,) = result.regressions.itertuples()
    assert row.path == "tensor" and row.ratio == pytest.approx(factor) and row.significant
    assert result.cases.iloc[0]["path"] == "tensor", "sorted worst first"
    back = compare.compare(compare.Side(slower), compare.Side(baseline))
    assert list(back.cases[back.cases["status"] == "improvement"]["path"]) == ["tensor"]
    assert not len(back.regressions)


def test_a_change_inside_the_factor_is_not_flagged(baseline, tmp_path):
    mild = scaled_copy(baseline, tmp_path / "mild", "tensor", 1.3)
    result = compare.compare(compare.Side(baseline), compare.Side(mild), factor=1.5)
    assert not len(result.regressions)


def test_higher_is_better_for_rates():
    assert compare.lower_is_better("seconds") and compare.lower_is_better("bytes")
    assert not compare.lower_is_better("GB/s")


def test_one_sided_cases_are_listed_apart(baseline, tmp_path):
    fewer = tmp_path / "fewer"
    shutil.copytree(baseline, fewer)
    (file,) = asvrun.result_files(fewer, MACHINE)
    data = json.loads(file.read_text())
    data["results"] = {k: v for k, v in data["results"].items() if "Reference" not in k}
    file.write_text(json.dumps(data))
    result = compare.compare(compare.Side(baseline), compare.Side(fewer))
    assert sorted(result.only_baseline["path"]) == ["clone", "copy_"]
    assert "2 cases only in the baseline" in compare.render_text(result)


def test_cli_exit_codes_markdown_and_json(baseline, tmp_path):
    slower = scaled_copy(baseline, tmp_path / "slow", "copy_", beyond_noise(baseline, "copy_"))
    run = lambda *a: subprocess.run([sys.executable, "-m", "bridge_bench.cli", "compare", *map(str, a)],
                                    capture_output=True, text=True)
    same = run(baseline, baseline)
    assert same.returncode == 0 and "0 regressions" in same.stdout
    worse = run(baseline, slower, "--markdown")
    assert worse.returncode == 1
    assert worse.stdout.startswith("## bridge-bench compare: regressions found") and "| regression" in worse.stdout
    data = json.loads(run(baseline, slower, "--json").stdout)
    assert data["summary"]["regression"] == 1 and data["cases"][0]["path"] == "copy_"
    for args, named in (([tmp_path / "missing", baseline], "missing"),
                        ([baseline, baseline, "--baseline-filter", "gpu=1"], "'gpu=1'"),
                        ([baseline, baseline, "--candidate-filter", "torch=0.1"], "no measured results"),
                        ([baseline, baseline, "--factor", "1.05"], "below 1.1")):
        proc = run(*args)
        assert proc.returncode == 2 and named in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_an_ambiguous_side_asks_to_be_narrowed(baseline, tmp_path):
    both = tmp_path / "both"
    shutil.copytree(baseline, both)
    (file,) = asvrun.result_files(both, MACHINE)
    data = json.loads(file.read_text())
    data["commit_hash"] = "0" * 40
    file.with_name("00000000-" + file.name.split("-", 1)[1]).write_text(json.dumps(data))
    with pytest.raises(compare.CompareError, match="several results per case.*commit"):
        compare.compare(compare.Side(both), compare.Side(baseline))
    narrowed = compare.compare(compare.Side(both, {"commit": "00000000"}), compare.Side(baseline))
    assert not len(narrowed.regressions)


@pytest.mark.slow
def test_end_to_end_noise_and_a_real_difference(baseline, tmp_path):
    """Reduced calibration on real runs. Back-to-back runs flag nothing. One torch thread against
    two: torch's copies at 1 MiB are 2.8-3.5x slower here and flagged; zero-copy paths are not.
    At 64 MiB the same copies are 1.5-2.7x slower, which this machine's noise (up to 1.9x) does not
    let the default factor flag every time (THP_MEM_ALLOC_ENABLE, which moves them 2.1-2.9x in
    the full calibration, depends on the kernel finding huge pages), so there the test asks only
    that the change points the right way."""
    again = real_run(tmp_path / "again", COPIES + ZERO_COPY)
    noise = compare.compare(compare.Side(baseline), compare.Side(again))
    assert not len(noise.regressions), compare.render_text(noise)

    cases = [(p, 2**20) for p, _ in COPIES] + COPIES + ZERO_COPY
    two = real_run(tmp_path / "two", cases)
    one = real_run(tmp_path / "one", cases, OMP_NUM_THREADS="1")
    assert set(compare.Side(one).load()[0]["torch_threads"]) == {"1"}, "the results carry the run's own context"
    result = compare.compare(compare.Side(two), compare.Side(one))
    flagged = result.regressions
    assert set(flagged[flagged["size"] == 2**20]["path"]) == {p for p, _ in COPIES}, compare.render_text(result)
    assert not set(flagged["path"]) & {p for p, _ in ZERO_COPY}, compare.render_text(result)
    large = result.cases[(result.cases["size"] == 64 * 2**20) & result.cases["path"].isin([p for p, _ in COPIES])]
    assert (large["ratio"] > 1.2).all(), compare.render_text(result, everything=True)
