import json
import re
import subprocess
import sys

import pytest

from bridge_bench import cli


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "bridge_bench.cli", *args], capture_output=True, text=True, **kw)


@pytest.mark.parametrize("args,named", [
    (["semantics", "--path", "nope"], "'nope'"),
    (["semantics", "--dtype", "float128"], "'float128'"),
    (["semantics", "--layout", "diagonal"], "'diagonal'"),
    (["semantics", "--size", "12XB"], "'12XB'"),
    (["fidelity", "--path", "from_numpy", "--size", "7"], "size 7"),
    (["fidelity", "--path", "bogus"], "'bogus'"),
    (["fidelity", "--path", "tensor"], "'tensor' copies"),
    (["fidelity", "--threshold", "x"], "'x'"),
    (["explode"], "'explode'"),
])
def test_bad_input_is_one_line_naming_it_with_exit_2(args, named):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and lines[0].startswith("bridge-bench: error:")
    assert "Traceback" not in proc.stderr


def test_list_shows_every_path_with_its_code():
    proc = run_cli("list")
    assert proc.returncode == 0
    assert "torch.from_numpy(a)" in proc.stdout and "np.copyto(dst, a)" in proc.stdout


def test_semantics_json_for_a_slice(tmp_path):
    proc = run_cli("semantics", "--path", "from_numpy", "tensor", "--dtype", "float32", "float64",
                   "--layout", "C", "negative", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["summary"]["shares"] == 2 and data["summary"]["copies"] == 2 and data["summary"]["raises"] == 4
    assert {c["path"] for c in data["cases"]} == {"from_numpy", "tensor"}
    assert data["versions"]["torch"]


def test_machine_merges_into_the_file_and_keeps_what_was_there(tmp_path):
    file = tmp_path / "machine.json"
    file.write_text(json.dumps({"version": 1, "other": {"machine": "other", "cpu": "x"},
                                "box": {"machine": "box", "mine": "kept", "ram": "1"}}))
    assert cli.main(["machine", "--machine", "box", "--file", str(file)]) == 0
    data = json.loads(file.read_text())
    assert data["other"] == {"machine": "other", "cpu": "x"}
    box = data["box"]
    assert box["mine"] == "kept" and box["ram"] == "1"
    for key in ("torch", "numpy", "torch_threads", "thp", "thp_defrag", "THP_MEM_ALLOC_ENABLE", "cpu", "os"):
        assert isinstance(box[key], str) and box[key]


def test_machine_refuses_a_corrupt_file_and_leaves_it_alone(tmp_path, capsys):
    file = tmp_path / "machine.json"
    file.write_text("{not json")
    assert cli.main(["machine", "--machine", "box", "--file", str(file)]) == 2
    assert file.read_text() == "{not json"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(file) in err[0]


def test_run_outside_a_checkout_says_what_to_do(tmp_path):
    proc = run_cli("run", "--config", str(tmp_path / "asv.conf.json"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "no asv configuration" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("bench,readings", [([r"^bench_sizes\.NumpyToTorch\.time_convert\('from_numpy'"], True),
                                           ([], False)])
def test_a_run_of_a_few_cases_reads_the_machine_as_a_full_run_does(monkeypatch, bench, readings):
    """`run --bench`: the selection gets the context tracks (the run's call time, bandwidth, cores),
    which compare judges the run's cases against; without --bench, everything is selected anyway."""
    from bridge_bench import suite
    from bridge_bench.measure import context
    from bridge_bench.drive import rounds

    entry = dict.fromkeys(("torch", "numpy", "torch_threads", "thp", "THP_MEM_ALLOC_ENABLE", "cpu"), "x")
    monkeypatch.setattr(context, "machine_entry", lambda: entry)
    monkeypatch.setattr(context, "update_machine_file", lambda machine, new: new)
    selected = []
    monkeypatch.setattr(rounds, "run", lambda config, machine, selection, **kw: selected.append(selection))
    assert cli.main(["run", "--machine", "m", "--no-publish", *(f"--bench={b}" for b in bench)]) == 0
    (selection,) = selected
    tracks = [suite.regex(b) for b in suite.CONTEXT_TRACKS]
    assert selection == ([*bench, *tracks] if readings else [])
    assert all(any(re.search(r, b.name) for r in tracks) for b in suite.CONTEXT_TRACKS)


def test_a_bug_is_exit_3_with_its_traceback_never_bad_input(monkeypatch, capsys):
    """The nightly workflow reads exit 2 from compare as "no baseline": a bug must not look like that,
    not even a ValueError raised by pandas inside compare."""
    from bridge_bench.read import compare

    def broken(*args, **kw):
        raise ValueError("cannot reindex on an axis with duplicate labels")

    monkeypatch.setattr(compare, "compare", broken)
    assert cli.main(["compare", "a", "b"]) == cli.EXIT_INTERNAL == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "cannot reindex" in err
    assert "bridge-bench: internal error" in err.splitlines()[-1]


def test_help_is_written_for_users():
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert "argparse" not in proc.stdout and "NumPy <-> PyTorch bridge" in proc.stdout


def test_every_unreadable_entry_of_a_results_folder_is_skipped_with_a_warning(tmp_path):
    """A folder named *.json, an empty file, a file that is not UTF-8, a dangling link: each is named
    in a warning, the rest of the folder still compares, and nothing ends in a traceback."""
    from conftest import fullrun_part, result_file

    results = fullrun_part(tmp_path / "results", "bench_sizes.NumpyToTorch.time")
    machine = result_file(results).parent
    (machine / "folder.json").mkdir()
    (machine / "empty.json").write_bytes(b"")
    (machine / "latin.json").write_bytes(b"\xff\xfe not utf-8")
    (machine / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    for command in (["compare", results, results], ["report", results, "--out", tmp_path / "report"]):
        proc = run_cli(*map(str, command))
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
        for name in ("folder.json", "empty.json", "latin.json", "dangling.json"):
            named = [line for line in proc.stderr.splitlines() if name in line]  # compare: once per side
            assert named and all(line.startswith("bridge-bench: warning:") and "skipped" in line for line in named)
