"""The results loader on real asv output and on every kind of bad input the issue names.

Good input is the recorded real run (`conftest.FULLRUN`, written by `asv run`); bad input is that
run copied and damaged. Every failure must name the file, unusable files must be skipped with a
warning when others are usable, exit code 2 only when nothing is usable, and the input folder must
come out byte-for-byte unchanged.
"""

import json
import math
import shutil
from pathlib import Path

import pytest

from bridge_bench import catalogue, cli, suite
from bridge_bench.read import results
from conftest import FULLRUN, checksum, result_file


@pytest.fixture
def real(tmp_path) -> Path:
    """A private copy of the real run's results directory."""
    return Path(shutil.copytree(FULLRUN, tmp_path / "results"))


def second_file(results_dir: Path, edit) -> Path:
    """A second result file (another commit) next to the real one, rewritten by `edit(data)`."""
    source = result_file(results_dir)
    data = json.loads(source.read_text())
    data["commit_hash"] = "b" * 40
    edit(data)
    out = source.with_name("bbbbbbbb-" + source.name.split("-", 1)[1])
    out.write_text(json.dumps(data))
    return out


def run_cli(capsys, *args):
    """Exit code and stderr of `bridge-bench report ARGS`; a failure is exactly one error line."""
    code = cli.main(["report", *map(str, args)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("bridge-bench: error:")]
    assert len(errors) == (1 if code else 0), err
    return code, err


def test_real_run_loads_into_tidy_rows(real):
    loaded = results.load([real])
    frame = loaded.frame
    assert loaded.files == 1 and not loaded.warnings
    assert (frame["status"] == "ok").all()
    sizes = suite.host_timing("bench_sizes", catalogue.NUMPY_TO_TORCH).name
    one = frame[(frame["benchmark"] == sizes) & (frame["path"] == "from_numpy")]
    assert sorted(one["size"]) == sorted(set(one["size"])) and len(one) == 26
    assert set(one["label"]) == {"torch.from_numpy(a)"} and set(one["direction"]) == {"numpy->torch"}
    assert one["torch"].iloc[0].startswith("2.") and one["numpy"].iloc[0][0].isdigit()
    assert (one["ci_low"] <= one["value"]).all() and (one["value"] <= one["ci_high"]).all()
    assert (one["q25"] <= one["q75"]).all() and (one["number"] >= 1).all()
    skipped = results.load([real], drop_unusable=False).frame
    assert (skipped["status"] == "skipped").sum() > 0 and skipped["value"][skipped["status"] != "ok"].isna().all()


def test_missing_and_empty_directories_are_named(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    for folder, words in ((tmp_path / "nope", "no such results directory"), (tmp_path / "empty", "empty")):
        with pytest.raises(results.ResultsError, match=f"{folder}: {words}"):
            results.load([folder])
        code, err = run_cli(capsys, folder, "--out", tmp_path / "out")
        assert code == 2 and str(folder) in err


@pytest.mark.parametrize("damage, words, report", [
    (lambda f: f.write_text(f.read_text()[:5000]), "Error parsing JSON", True),
    (lambda f: f.write_text("garbage\n"), "Error parsing JSON", False),
    (lambda f: f.write_text(json.dumps({**json.loads(f.read_text()), "version": 1})), "old file format", False),
    (lambda f: f.write_text(json.dumps({**json.loads(f.read_text()), "version": 3})), "newer", False),
], ids=["truncated", "corrupt", "older-asv-format", "newer-asv-format"])
def test_unusable_file_is_skipped_with_a_warning_or_exit_2_alone(real, tmp_path, capsys, damage, words, report):
    """Every kind of damage reaches the reader's warning; the report's handling of a warning is one
    code path, checked on the first kind (a report takes seconds)."""
    bad = result_file(real)
    good = second_file(real, lambda data: None)
    damage(bad)
    loaded = results.load([real])
    assert loaded.files == 1 and len(loaded.frame) > 1000
    (warning,) = loaded.warnings
    assert warning.startswith(f"{bad}: skipped") and words in warning

    if report:
        before = checksum(real)
        code, err = run_cli(capsys, real, "--out", tmp_path / "report")
        assert code == 0 and f"warning: {bad}: skipped" in err
        assert checksum(real) == before, "the results directory was modified"

    good.unlink()
    with pytest.raises(results.ResultsError, match=str(bad)):
        results.load([real])
    code, err = run_cli(capsys, real, "--out", tmp_path / "report2")
    assert code == 2 and str(bad) in err
    assert not (tmp_path / "report2" / "index.html").exists()


def test_all_skipped_or_failed(real, capsys, tmp_path):
    file = result_file(real)
    data = json.loads(file.read_text())
    for i, (name, row) in enumerate(data["results"].items()):
        row[0] = [math.nan if i % 2 else None for _ in row[0]] if isinstance(row[0], list) else None
    file.write_text(json.dumps(data))
    with pytest.raises(results.ResultsError, match="skipped or failed") as exc:
        results.load([real])
    assert str(file) in str(exc.value)
    frame = results.load([FULLRUN]).frame  # the untouched original is fine
    assert len(frame)
    code, err = run_cli(capsys, real, "--out", tmp_path / "out")
    assert code == 2 and str(file) in err


def test_missing_or_corrupt_benchmarks_json_is_named(real, capsys, tmp_path):
    (real / "benchmarks.json").write_text("{")
    with pytest.raises(results.ResultsError, match=f"{real / 'benchmarks.json'}: not valid JSON"):
        results.load([real])
    (real / "benchmarks.json").unlink()
    with pytest.raises(results.ResultsError, match=f"{real / 'benchmarks.json'}: missing"):
        results.load([real])
    loaded = results.load([real, FULLRUN])
    assert loaded.files == 1 and loaded.warnings == [f"{real / 'benchmarks.json'}: missing; asv writes it with "
                                                     "every run (`bridge-bench run` or `asv run`)"]
    code, err = run_cli(capsys, real, "--out", tmp_path / "out")
    assert code == 2 and "benchmarks.json: missing" in err


def test_report_never_writes_into_the_results_directory(real, capsys):
    before = checksum(real)
    code, err = run_cli(capsys, real, "--out", real / "report")
    assert code == 2 and "never modifies" in err
    assert checksum(real) == before


def test_context_the_processes_contradict_is_a_warning(real):
    file = result_file(real)
    assert not results.load([real]).warnings, "the real run's machine file agreed with its processes"
    data = json.loads(file.read_text())
    threads = data["params"]["torch_threads"]
    data["params"].update(torch_threads=str(int(threads) + 1), THP_MEM_ALLOC_ENABLE="1")
    file.write_text(json.dumps(data))
    warnings = results.load([real]).warnings
    assert len(warnings) == 2 and all(str(file) in w for w in warnings)
    text = "\n".join(warnings)
    said = f"torch_threads={int(threads) + 1} but its benchmark processes reported track_torch_threads = {threads}"
    assert said in text
    assert "THP_MEM_ALLOC_ENABLE=1 but its benchmark processes reported track_thp_mem_alloc_enable = 0" in text
