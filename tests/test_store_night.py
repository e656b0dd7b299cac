"""scripts/store-night against a local bare repository standing in for GitHub's: the history branch
grows by one commit a night, is never forced, survives a push that lost a race, starts on the first
night, and a failed restore never reaches it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bridge_bench.read import runfiles

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "store-night"
BRANCH = "bench-results"


def store(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, env=env)


def git(repo: Path, *args) -> str:
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def remote(tmp_path) -> Path:
    """An empty bare repository that serves partial fetches, as GitHub does."""
    repo = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(repo)], check=True)
    git(repo, "config", "uploadpack.allowFilter", "true")
    return repo


def tonight(folder: Path, value: int) -> Path:
    """A stand-in for tonight's merged asv results: two machines, one result file each."""
    for machine in ("h200", "l40s"):
        (folder / machine).mkdir(parents=True)
        (folder / machine / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}))
        (folder / machine / "c4e7898f-existing-py_venv-torch-2.13.0_bin_python.json").write_text(
            json.dumps({"night": value, "machine": machine}))
    (folder / "benchmarks.json").write_text(json.dumps({"version": 2}))
    return folder


def staged(tmp_path: Path, night: str, value: int) -> Path:
    out = tmp_path / f"night-{night}"
    proc = store("stage", tonight(tmp_path / f"tonight-{night}", value), "--night", night, "--into", out)
    assert proc.returncode == 0, proc.stderr
    return out


def stored(repo: Path) -> list[str]:
    return sorted(git(repo, "ls-tree", "-r", "--name-only", BRANCH).split())


def test_the_first_night_starts_the_branch(remote, tmp_path):
    restored = store("restore", remote, "--into", tmp_path / "history")
    assert restored.returncode == 0 and restored.stdout == "absent\n", restored.stderr
    assert not any((tmp_path / "history").iterdir()), "nothing restored: the first night"
    night = staged(tmp_path, "2026-12-01-101", 1)
    proc = store("push", night, remote, "--restored", "absent", "--wait", "0")
    assert proc.returncode == 0, proc.stderr
    assert git(remote, "rev-list", "--count", BRANCH).strip() == "1"
    assert stored(remote) == ["results/benchmarks.json",
                              "results/h200/2026-12-01-101-c4e7898f-existing-py_venv-torch-2.13.0_bin_python.json",
                              "results/h200/machine.json",
                              "results/l40s/2026-12-01-101-c4e7898f-existing-py_venv-torch-2.13.0_bin_python.json",
                              "results/l40s/machine.json"]


def test_two_nights_make_two_commits_holding_both_nights(remote, tmp_path):
    assert store("push", staged(tmp_path, "2026-12-01-101", 1), remote, "--restored", "absent").returncode == 0
    first = git(remote, "rev-parse", BRANCH).strip()
    restored = store("restore", remote, "--into", tmp_path / "history")
    assert restored.stdout == "present\n", restored.stderr
    proc = store("push", staged(tmp_path, "2026-12-02-102", 2), remote, "--restored", "present")
    assert proc.returncode == 0, proc.stderr
    assert git(remote, "rev-parse", f"{BRANCH}~1").strip() == first, "on top of the first night, not instead of it"
    nights = [f for f in stored(remote) if "torch" in f]
    assert [Path(f).name[:14] for f in nights] == ["2026-12-01-101", "2026-12-02-102"] * 2
    again = store("restore", remote, "--into", tmp_path / "again")
    files = sorted((tmp_path / "again" / "results").glob("*/*torch*.json"))
    assert again.stdout == "present\n" and len(files) == 4
    assert json.loads(files[0].read_text())["night"] == 1 and json.loads(files[1].read_text())["night"] == 2
    # the reader orders them by the night in their names, as the script wrote them
    ordered = runfiles.order(pd.DataFrame({"result_file": list(map(str, reversed(files))), "date": pd.NaT}))
    assert list(ordered["result_file"]) == sorted(map(str, files), key=lambda f: (Path(f).name, f))

    rerun = store("push", tmp_path / "night-2026-12-02-102", remote, "--restored", "present")
    assert rerun.returncode == 0 and "stored already" in rerun.stderr
    assert git(remote, "rev-list", "--count", BRANCH).strip() == "2", "a re-run of a stored night adds nothing"
    changed = tmp_path / "night-2026-12-02-102" / "h200"
    next(changed.glob("*torch*")).write_text("{}")
    refused = store("push", tmp_path / "night-2026-12-02-102", remote, "--restored", "present")
    assert refused.returncode == 1 and "stored already with other contents" in refused.stderr
    assert git(remote, "rev-list", "--count", BRANCH).strip() == "2", "a stored night is never changed"


def test_a_failed_restore_never_reaches_the_branch(remote, tmp_path):
    broken = tmp_path / "no-such-repository.git"
    restored = store("restore", broken, "--into", tmp_path / "history")
    assert restored.returncode == 1 and restored.stdout == ""
    assert restored.stderr.startswith(f"store-night: error: reading {BRANCH} of {broken} failed: ")
    night = staged(tmp_path, "2026-12-01-101", 1)
    for said in ("", "failure"):  # the workflow passes the restore's output: empty when it failed
        proc = store("push", night, remote, "--restored", said)
        assert proc.returncode == 1 and "the history was not restored" in proc.stderr
    assert git(remote, "for-each-ref") == "", "nothing pushed"

    assert store("push", night, remote, "--restored", "absent").returncode == 0
    git(remote, "update-ref", "-d", f"refs/heads/{BRANCH}")
    gone = store("push", staged(tmp_path, "2026-12-02-102", 2), remote, "--restored", "present")
    assert gone.returncode == 1 and "is gone now" in gone.stderr
    assert git(remote, "for-each-ref") == "", "no new history in place of one that vanished"


def test_a_concurrent_push_is_retried_and_both_nights_survive(remote, tmp_path):
    """Between this night's fetch and its push, another night lands (a pre-push hook pushes it):
    the push is refused, and the script tries again on the new tip."""
    assert store("push", staged(tmp_path, "2026-12-01-101", 1), remote, "--restored", "absent").returncode == 0
    other = staged(tmp_path, "2026-12-02-102", 2)
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marker = tmp_path / "raced"
    (hooks / "pre-push").write_text(
        f"#!/bin/sh\n[ -e '{marker}' ] && exit 0\ntouch '{marker}'\n"
        f"env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE '{sys.executable}' '{SCRIPT}' push '{other}' '{remote}' "
        "--restored present --wait 0 >/dev/null 2>&1\n")
    (hooks / "pre-push").chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(config)}
    proc = store("push", staged(tmp_path, "2026-12-03-103", 3), remote, "--restored", "present", "--wait", "0", env=env)
    assert proc.returncode == 0, proc.stderr
    assert marker.exists() and "push 1 of 5 refused" in proc.stderr and "(try 2 of 5)" in proc.stderr
    assert git(remote, "rev-list", "--count", BRANCH).strip() == "3"
    nights = {Path(f).name[:14] for f in stored(remote) if "torch" in f}
    assert nights == {"2026-12-01-101", "2026-12-02-102", "2026-12-03-103"}


def test_stage_names_tonight_as_a_night_and_refuses_bad_input(tmp_path):
    night = staged(tmp_path, "2026-12-01-101", 1)
    assert sorted(p.name for p in night.glob("h200/*")) == [
        "2026-12-01-101-c4e7898f-existing-py_venv-torch-2.13.0_bin_python.json", "machine.json"]
    bad = store("stage", tmp_path / "tonight-2026-12-01-101", "--night", "last-night", "--into", tmp_path / "x")
    assert bad.returncode == 1 and "--night 'last-night'" in bad.stderr
    used = store("stage", tmp_path / "tonight-2026-12-01-101", "--night", "2026-12-01-101", "--into", night)
    assert used.returncode == 1 and "not an empty folder" in used.stderr
