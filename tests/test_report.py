"""`bridge-bench report` end to end: from a real asv run to index.html, report.md, CSVs and images.

Also: where it refuses to write, HTML escaping of strings from results, the semantics table, and
a report over 100,000 result rows in asv's real format. That test prints its wall time (run it
with `-s`) for the issue's 20 s budget but does not assert it: a shared CI machine's speed is not
the report's, and speed figures belong in what we report, not in pass/fail.
"""

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from bridge_bench import cli, results, semantics
from test_results import REAL, checksum, result_file


def run_report(capsys, *args) -> tuple[int, str]:
    code = cli.main(["report", *map(str, args)])
    return code, capsys.readouterr().err


def test_report_from_a_real_asv_run(small_asv_run, tmp_path, capsys):
    results_dir, _ = small_asv_run
    before = checksum(results_dir)
    out = tmp_path / "report"
    code, err = run_report(capsys, results_dir, "--out", out)
    assert code == 0, err
    assert "report: loading" in err and "report: done" in err, "progress is shown"
    assert checksum(results_dir) == before

    page = (out / "index.html").read_text()
    pngs = sorted((out / "images").glob("*.png"))
    assert len(pngs) >= 4
    assert page.count("src='data:image/png;base64,") == len(pngs), "every image inline"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "nothing loaded from the network"
    assert "<script" not in page
    assert "torch.from_numpy(a)" in page and "np.copyto(dst, a)" in page

    latency = pd.read_csv(out / "tables" / "latency.csv")
    assert set(latency["label"]) == {"torch.from_numpy(a)", "torch.tensor(a)", "np.copyto(dst, a)", "dst.copy_(t)"}
    bandwidth = pd.read_csv(out / "tables" / "bandwidth.csv")
    assert "torch.from_numpy(a)" not in set(bandwidth["label"]), "a zero-copy call has no bandwidth"
    references = bandwidth[bandwidth["direction"] == "reference"]
    best = references.groupby("size")["pct_of_ceiling"].max()
    assert len(best) == 3 and (best.round(6) == 100).all(), "at each size the fastest reference is the ceiling"
    # other paths may pass it (torch.tensor copies with two threads, np.copyto with one)
    memory = pd.read_csv(out / "tables" / "peak_memory.csv").set_index("label")["allocated_x_array"]
    assert memory["torch.tensor(a)"] > 0.9 and memory["torch.from_numpy(a)"] < 0.1
    md = (out / "report.md").read_text()
    assert "| torch.from_numpy(a)" in md and "](images/" in md


def test_out_folder_is_never_someone_elses(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    code, err = run_report(capsys, REAL, "--out", mine)
    assert code == 2 and "refusing to overwrite" in err and str(mine) in err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]

    out = tmp_path / "report"
    assert run_report(capsys, REAL, "--out", out)[0] == 0
    (out / "images" / "added-by-user.png").write_bytes(b"x")
    first = (out / "index.html").stat().st_mtime_ns
    assert run_report(capsys, REAL, "--out", out)[0] == 0, "a previous report is replaced"
    assert (out / "index.html").stat().st_mtime_ns > first
    assert (out / "images" / "added-by-user.png").exists(), "only the previous report's own files go"


def test_strings_from_results_are_escaped(tmp_path, capsys):
    results_dir = Path(shutil.copytree(REAL, tmp_path / "results"))
    file = result_file(results_dir)
    data = json.loads(file.read_text())
    data["params"]["machine"] = "<script>alert('m')</script>"
    data["params"]["torch"] = "<img src=x onerror=alert(1)>|"
    file.write_text(json.dumps(data))
    out = tmp_path / "out"
    assert run_report(capsys, results_dir, "--out", out)[0] == 0
    page = (out / "index.html").read_text()
    assert "<script>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert('m')&lt;/script&gt;" in page
    md = (out / "report.md").read_text()
    assert "<script>" not in md and "&lt;img src=x onerror=alert(1)&gt;\\|" in md


def test_semantics_table(tmp_path, capsys):
    jobs = semantics.jobs_for(["from_numpy", "tensor"], ["float32", "float64"], ["C", "negative"])
    records = semantics.run(jobs, workers=1)
    file = tmp_path / "semantics.json"
    file.write_text(json.dumps({"versions": {"torch": "x"}, "size": 128, "summary": semantics.summary(records),
                                "cases": records}))
    out = tmp_path / "out"
    assert run_report(capsys, REAL, "--out", out, "--semantics", file)[0] == 0
    grid = pd.read_csv(out / "tables" / "semantics.csv").set_index(["label", "layout"])
    assert grid.loc[("torch.from_numpy(a)", "C"), "float32"] == "S"
    assert grid.loc[("torch.tensor(a)", "C"), "float64"] == "C"
    assert grid.loc[("torch.from_numpy(a)", "negative"), "float32"] == "E"
    errors = pd.read_csv(out / "tables" / "semantics_errors.csv")
    assert (errors["error_type"] == "ValueError").any()

    file.write_text('{"cases": ')
    code, err = run_report(capsys, REAL, "--out", tmp_path / "out2", "--semantics", file)
    assert code == 2 and str(file) in err and not (tmp_path / "out2").exists()


def replicate(template: Path, dest: Path, runs: int) -> None:
    """`runs` copies of a real result file as other commits, machines and environments (THP on/off,
    two torch versions), in asv's format."""
    shutil.copytree(template, dest)
    source = result_file(dest)
    data = json.loads(source.read_text())
    source.unlink()
    for i in range(runs):
        machine = f"box{i % 4}"
        variant = json.loads(json.dumps(data))
        variant["commit_hash"] = f"{i:08x}" * 5
        variant["date"] = data["date"] + i * 60_000
        variant["params"].update(machine=machine, THP_MEM_ALLOC_ENABLE=str(i % 2), torch=f"2.{12 + i // 2 % 2}.0")
        variant["env_name"] = f"existing-thp{i % 2}"
        for row in variant["results"].values():
            if isinstance(row[0], list):
                row[0] = [v * (1 + 0.1 * (i % 3)) if isinstance(v, float) else v for v in row[0]]
        folder = dest / machine
        folder.mkdir(exist_ok=True)
        shutil.copy(source.parent / "machine.json", folder / "machine.json")
        (folder / f"{variant['commit_hash'][:8]}-{variant['env_name']}.json").write_text(json.dumps(variant))


@pytest.mark.slow
def test_100k_rows_report_across_machines_and_environments(tmp_path):
    runs = -(-100_000 // len(results.load([REAL]).frame))
    replicate(REAL, tmp_path / "big", runs)
    out = tmp_path / "out"
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bridge_bench.cli", "report", str(tmp_path / "big"),
                           "--out", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    loaded = int(re.search(r"report: (\d+) values loaded", proc.stderr).group(1))
    assert loaded >= 100_000, proc.stderr
    print(f"\n100k-row report: {loaded} values in {runs} result files, {seconds:.1f} s (budget 20 s)")
    summary = pd.read_csv(out / "tables" / "cross_env.csv")
    assert {"THP_MEM_ALLOC_ENABLE", "torch"} <= set(summary["factor"])
