"""Reading only the runs a question needs (bridge_bench.read.runfiles): `compare --history N` and `report`
choose result files from their names and headers, read those alone, and choose exactly what a load
of every file would; the input's problems come after the answer, in a few lines.

The history is scripts/synthetic-history's, made from a trimmed copy of the real run (a few
benchmarks, so that the nights are small and the tests take seconds): nine nights of two machines
and two torch versions, as the workflow keeps them.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from asv.results import Results

from bridge_bench import cli
from bridge_bench.read import compare, problems, results, runfiles
from conftest import FULLRUN, fullrun_part, result_file

ROOT = Path(__file__).resolve().parents[1]
NIGHTS = 9
KEPT = ("bench_context.", "bench_memory.", "bench_sizes.NumpyToTorch.time_convert",
        "bench_sizes.Reference.time_convert", "bench_sizes.NumpyToTorch.track_faults")


def trimmed(folder: Path) -> Path:
    """The real run with a few of its benchmarks: the size sweeps the findings read, a count, peak
    memory, the context."""
    return fullrun_part(folder, *KEPT)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """The synthetic history's results folder, with two damaged files: the newest night of h200 and
    torch 2.13.0 has a readable header and unreadable values; a night of l40s and torch 2.12.0 is
    not JSON at all. Shared: tests copy it before changing it."""
    work = tmp_path_factory.mktemp("synthetic")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "synthetic-history"), str(work / "out"),
                           "--nights", str(NIGHTS), "--template", str(trimmed(work / "template"))],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    folder = work / "out" / "results"
    newest = sorted(folder.glob("h200/*torch-2.13.0*.json"))[-1]
    text = newest.read_text()
    newest.write_text(text[:text.index('"results"') + 200])
    sorted(folder.glob("l40s/*torch-2.12.0*.json"))[5].write_text("not json\n")
    return folder


def test_the_synthetic_history_is_laid_out_as_the_workflow_keeps_it(history):
    names = sorted(p.name for p in history.glob("h200/*.json"))
    assert len(names) == 2 * NIGHTS + 1 and names[-1] == "machine.json"
    assert all(runfiles.NIGHT.match(name) for name in names[:-1])
    assert (history / "benchmarks.json").is_file() and len(list((history.parent / "tonight").glob("*/*.json"))) == 6
    loaded = results.load([history.parent / "tonight"])
    assert set(loaded.frame["machine"]) == {"h200", "l40s"}
    assert set(loaded.frame["torch"]) == {"2.12.0+cu128", "2.13.0+cu128"}
    assert not loaded.warnings, "each night's published figures are its looks' (bridge_bench.estimate)"
    first, last = (results.load([history]).frame.groupby("result_file")["started"].min().sort_index().iloc[[0, -1]])
    assert first < last


@pytest.mark.parametrize("machine, torch", [("h200", "2.13.0"), ("l40s", "2.12.0"), ("l40s", "2.13.0")])
@pytest.mark.parametrize("n", [1, 7, 30])
def test_selective_loading_chooses_the_runs_a_full_load_chooses(history, machine, torch, n, monkeypatch):
    side = compare.Side(history, {"machine": machine, "torch": torch}, history=n)
    every, _ = side.every_row()
    reads = []
    real = Results.load.__func__
    monkeypatch.setattr(Results, "load",
                        classmethod(lambda cls, path, *a, **k: reads.append(path) or real(cls, path, *a, **k)))
    chosen, warnings = side.load()
    pd.testing.assert_frame_equal(chosen.reset_index(drop=True), side.window(every).reset_index(drop=True))
    runs, scanned = runfiles.scan([history])
    selected = runfiles.load([history], side.narrow(runs, frozenset()), n, scanned).frame
    assert set(selected["result_file"]) == set(runfiles.newest(every, n)["result_file"])
    broken = (machine, torch) == ("h200", "2.13.0")  # its newest night reads, then gives way to the night before
    garbage = (machine, torch) == ("l40s", "2.12.0")  # a night whose header does not read: never a candidate
    assert selected["result_file"].nunique() == min(n, NIGHTS - broken - garbage)
    assert len(reads) == 2 * min(n + broken, NIGHTS - garbage), "this side's files, twice (load, then the check)"


def test_the_header_is_what_asvs_reader_reads_in_either_layout(tmp_path):
    file = result_file(FULLRUN)  # indented and sorted, as `bridge-bench finalize` rewrites it
    result = Results.load(str(file))
    expected = {"commit_hash": result.commit_hash, "env_name": result.env_name, "date": result.date,
                "params": result.params}
    assert runfiles.header(file) == expected
    result.save(str(tmp_path))  # asv's own writer: compact, results before durations and version
    assert runfiles.header(tmp_path / file.parent.name / file.name) == expected
    text = file.read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[:text.index('"results"')] + "garbage")
    assert runfiles.header(cut) == expected, "read no further than the header"


def test_runs_are_ordered_by_the_night_in_their_name_then_by_commit_date():
    day = pd.Timestamp("2026-12-01")
    runs = pd.DataFrame({"result_file": ["r/m/2026-12-02-7-old.json", "r/m/2026-12-01-9-new.json",
                                         "r/m/2026-12-02-10-x.json", "r/m/bbbbbbbb-env.json", "r/m/aaaaaaaa-env.json"],
                         "date": [day, day + pd.Timedelta(days=5), day, day + pd.Timedelta(days=1), day]})
    assert list(runfiles.order(runs)["result_file"]) == [
        "r/m/aaaaaaaa-env.json", "r/m/bbbbbbbb-env.json",  # asv's names: by commit date
        "r/m/2026-12-01-9-new.json", "r/m/2026-12-02-7-old.json", "r/m/2026-12-02-10-x.json"]  # by night, run id


def run(*args) -> list[str]:
    """stdout and stderr of `bridge-bench ARGS`, interleaved as a terminal shows them."""
    proc = subprocess.run([sys.executable, "-u", "-m", "bridge_bench.cli", *map(str, args)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout.splitlines()


def test_report_reads_the_newest_run_of_each_machine_and_environment(history, tmp_path, capsys):
    assert cli.main(["report", str(history), "--out", str(tmp_path / "newest")]) == 0
    err = capsys.readouterr().err
    assert f"4 of {4 * NIGHTS - 1} result files" in err, err
    runs = pd.read_csv(tmp_path / "newest" / "tables" / "runs.csv")
    assert len(runs) == 4
    findings = pd.read_csv(tmp_path / "newest" / "tables" / "findings.csv")
    assert findings.groupby(["machine", "env"])["commit"].nunique().eq(1).all()
    assert "4 result file(s)" in (tmp_path / "newest" / "report.md").read_text()

    assert cli.main(["report", str(history), "--out", str(tmp_path / "all"), "--all-runs"]) == 0
    assert f"{4 * NIGHTS - 2} result file(s)" in (tmp_path / "all" / "report.md").read_text()


def test_many_problem_files_are_summarized_after_the_answer(history, tmp_path):
    folder = Path(shutil.copytree(history, tmp_path / "results"))
    for i in range(12):
        (folder / "h200" / f"2026-01-01-{i}-broken.json").write_text("")
    code, lines = run("report", folder, "--out", tmp_path / "report")
    assert code == 0
    answer = lines.index(str(tmp_path / "report" / "index.html"))
    warned = [i for i, line in enumerate(lines) if line.startswith("bridge-bench: warning:")]
    assert warned and min(warned) > answer and len(warned) == problems.SHOWN, lines
    assert lines[warned[0]] == "bridge-bench: warning: 14 input problems: 14 unreadable"
    assert lines[warned[-1]].endswith(f"more: every one is listed at the end of {tmp_path / 'report' / 'report.md'}")
    md = (tmp_path / "report" / "report.md").read_text()
    assert md.index("## Findings") < md.index("## Input warnings") and md.count("> warning: ") == 14
    assert md.splitlines()[2] == "> 14 input warnings: see Input warnings (the last section)."

    code, lines = run("compare", folder, history.parent / "tonight", "--history", "3",
                      "--filter", "machine=h200", "torch=2.13.0")
    warned = [i for i, line in enumerate(lines) if line.startswith("bridge-bench: warning:")]
    assert code in (0, 1) and lines[0].startswith("baseline:"), lines
    assert len(warned) == problems.SHOWN and min(warned) > max(set(range(len(lines))) - set(warned))
    assert lines[warned[0]] == "bridge-bench: warning: 14 input problems: 14 unreadable"


def test_a_problem_is_a_line_with_a_kind_and_many_are_summarized():
    lines = [problems.Problem(f"f{i}.json: skipped, Error parsing JSON", "unreadable") for i in range(6)]
    lines.append(problems.Problem("g.json: context says torch_threads=1 ...", "stale context"))
    assert lines[0] == "f0.json: skipped, Error parsing JSON" and lines[0].kind == "unreadable"
    assert problems.summary(lines[:3] + lines[:3], "x") == lines[:3], "each once, all of few"
    assert problems.summary(lines, "see the report") == [
        "7 input problems: 6 unreadable, 1 stale context", lines[0], lines[1], lines[2],
        "... and 4 more: see the report"]
