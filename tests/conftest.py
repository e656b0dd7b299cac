"""What several test modules share: the CUDA skip, the rule for missing tools, the recorded full run
and helpers to read and damage copies of it, and a small real asv run.

Plain helpers (`FULLRUN`, `checksum`, `result_file`, `fake_sweep`, `needs`) are imported as `from conftest import ...`:
pytest puts this folder on sys.path, as for any test module of this rootless layout.
"""

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: A real full `asv run` of the suite: the test data. A copy of the published sample's results
#: (reports/fullrun-results), so that republishing the sample never changes what the tests read.
FULLRUN = ROOT / "tests" / "data" / "fullrun-results"
#: The semantics probe's JSON of the same torch and numpy (a copy of reports/semantics.json).
PROBE = ROOT / "tests" / "data" / "semantics.json"


def checksum(folder: Path) -> str:
    """Names, sizes, modes, mtimes and contents of everything under `folder`: equal means untouched."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        st = p.stat()
        h.update(f"{p.relative_to(folder)} {st.st_mode} {st.st_size} {st.st_mtime_ns}".encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


def result_file(results_dir: Path) -> Path:
    """The one result file of a results folder of one machine and one commit."""
    (file,) = [p for p in results_dir.glob("*/*.json") if p.name != "machine.json"]
    return file


def fake_sweep(folder: Path, pairs=(("2.0.1", "1.26.4"), ("2.2.2", "1.26.4"), ("2.4.1", "1.26.4"), ("2.4.1", "2.2.6"))) -> Path:
    """A folder laid out as `bridge-bench history` leaves it (results/, semantics/), made from the
    recorded full run relabelled as the given torch x numpy pairs: what the history report reads,
    without building CUDA builds of torch. Returns the results folder."""
    import json
    import shutil

    results = folder / "results"
    (results / "exp").mkdir(parents=True)
    shutil.copy(FULLRUN / "benchmarks.json", results)
    shutil.copy(FULLRUN / "exp" / "machine.json", results / "exp")
    run = json.loads(result_file(FULLRUN).read_text())
    probe = json.loads(PROBE.read_text())
    (folder / "semantics").mkdir()
    for torch, numpy in pairs:
        name = f"virtualenv-py3.11-numpy{numpy}-torch{torch}"
        env = {**run, "env_name": name, "requirements": {"torch": torch, "numpy": numpy},
               "params": {**run["params"], "torch": torch, "numpy": numpy}}
        (results / "exp" / f"{run['commit_hash'][:8]}-{name}.json").write_text(json.dumps(env))
        (folder / "semantics" / f"{name}.json").write_text(
            json.dumps({**probe, "versions": {"torch": f"{torch}+cu121", "numpy": numpy}}))
    return results


def needs(tool: str, present: bool, install: str) -> None:
    """One rule for a tool a test needs that a developer may lack: on CI (CI set, as CI services set it
    and the README runs `CI=true bash .ci/run`), which installs every such tool, a missing one fails
    the test; elsewhere the test skips, naming the tool and how to install it."""
    if present:
        return
    reason = f"{tool} is not installed: {install}"
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI installs it: .ci/run, then `python3 dev.py test`)")
    pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    """CUDA tests skip, with the reason, where torch has no CUDA device."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device: torch.cuda.is_available() is False")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_asv_run(tmp_path_factory):
    """A small real `asv run -E existing` (copy and zero-copy paths at three sizes, their ceilings,
    peak memory; four looks a case) and its `asv publish` output: what the report, estimate and
    browser tests read. Returns (results_dir, html_dir)."""
    from bridge_bench import asvrun, catalogue, rounds, suite

    work = tmp_path_factory.mktemp("small-asv")
    conf = asvrun.private_config(ROOT / "asv.conf.json", work)
    env = asvrun.private_env(work / "home", "bridge-bench-report-test")
    benches = [asvrun.bench_regex(suite.host_timing("bench_sizes", catalogue.get(path).direction).name,
                                  (path, size, "float32", "C"))
               for path in ("from_numpy", "tensor", "np_copyto", "copy_") for size in (8, 65536, 4 * 1024 * 1024)]
    benches += [suite.regex(b, r"'(from_numpy|tensor)'.*") for b in suite.BENCHMARKS
                if b.method in (suite.PEAKMEM_CONVERT, suite.PEAKMEM_PREPARED)]
    rounds.run(conf, "bridge-bench-report-test", benches, env=env, rounds=4)
    asvrun.run_asv(["publish", "--config", str(conf)], env=env, cwd=ROOT)
    return work / "results", work / "html"
