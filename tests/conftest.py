"""What several test modules share: the CUDA skip, the rule for missing tools, the recorded full run
and helpers to read and damage copies of it, and the one small real asv run the tests share.

Plain helpers (`FULLRUN`, `fullrun_part`, `checksum`, `result_file`, `fake_sweep`, `needs`) are
imported as `from conftest import ...`: pytest puts this folder on sys.path, as for any test module
of this rootless layout.
"""

import hashlib
import json
import os
import shutil
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


def fullrun_part(dest: Path, *prefixes: str) -> Path:
    """A copy of the committed full run holding only the benchmarks named from `prefixes`: for tests
    of what a command does with its input (a report of the whole run costs 5-10 s)."""
    shutil.copytree(FULLRUN, dest)
    file = result_file(dest)
    data = json.loads(file.read_text())
    data["results"] = {name: row for name, row in data["results"].items() if name.startswith(prefixes)}
    file.write_text(json.dumps(data))
    return dest


SWEEP_PAIRS = (("2.0.1", "1.26.4"), ("2.2.2", "1.26.4"), ("2.4.1", "1.26.4"), ("2.4.1", "2.2.6"))


def fake_sweep(folder: Path, pairs=SWEEP_PAIRS) -> Path:
    """A folder laid out as `bridge-bench releases` leaves it (results/, semantics/), made from the
    recorded full run relabelled as the given torch x numpy pairs: what the releases report reads,
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


#: The cases of the one real recorded run the tests share, as (benchmark, parameters): timings and
#: counts of the size sweep (zero-copy and copies, in cache and memory-bound, call-bound and not),
#: cases the layout sweep refuses, peak memory, the context and one CUDA case (a later round must not
#: try it again). The CUDA tests run their own cases (tests/test_cuda.py): `bridge-bench gpu-check`
#: runs those tests on a GPU box and needs nothing else.
KiB, MiB = 2**10, 2**20
SIZE_CASES = [*((path, size) for path in ("from_numpy", "tensor", "np_copyto", "copy_")
                for size in (8, 64 * KiB, 4 * MiB)),
              ("from_numpy", 64 * MiB), ("tensor", 64 * MiB), ("numpy", 64 * MiB), ("np_copy", 4 * KiB),
              ("np_copy", 32 * KiB), ("clone", 64 * MiB)]
REFUSED_LAYOUTS = [("from_numpy", "negative"), ("dlpack_to_torch", "negative"), ("clone", "readonly")]
#: The batch family's cases of the recorded run, (benchmark class, path, batch, size): every way to
#: build a batch of 8 items of 4 KiB (its reference among them), taking one apart, and a DataFrame.
BATCH_CASES = [*(("BatchToTorch", pid, 8, 4 * KiB) for pid in (
                   "batch_tensor", "batch_as_tensor", "batch_stack_from_numpy", "batch_tensor_np_array",
                   "batch_torch_stack", "batch_collate", "batch_np_stack_out", "batch_torch_stack_out")),
               ("TorchToBatch", "unbatch_numpy", 8, 4 * KiB), ("FrameToTorch", "frame_from_numpy", 512, 64)]
CUDA_CASE = ("bench_cuda.HostToCuda.time_convert", ("cuda", MiB, "float32", "C"))
MACHINE = "bridge-bench-test"
#: The rounds of the shared run (and of the end-to-end run compared with it): the plan's first two
#: stages (2 x plan.FIRST_LOOKS), adaptive. What the tests read (results, counts, the rounds'
#: selections, the gate) needs no more. A user's run has 12 and the overtime (tested in
#: tests/test_plan.py): beside a busy process, as on CI, that made this run 18 rounds and 296 s.
RECORDED_ROUNDS = 8


class Recorded:
    """The shared run: its results and dashboard folders, the selection of each round, its outcome."""

    def __init__(self, work: Path, selections: list[list[str]], outcome):
        self.results, self.html, self.selections, self.outcome = work / "results", work / "html", selections, outcome


def recorded_regexes() -> list[str]:
    from bridge_bench import catalogue, inputs, suite
    from bridge_bench.drive import asvrun

    regexes = [asvrun.bench_regex(b.name, (path, size, "float32", "C")) for path, size in SIZE_CASES
               for b in suite.BENCHMARKS if b.module == "bench_sizes" and b.direction == catalogue.get(path).direction]
    regexes += [asvrun.bench_regex(suite.host_timing("bench_layouts", catalogue.get(path).direction).name,
                                   (path, inputs.IN_CACHE, "float32", layout)) for path, layout in REFUSED_LAYOUTS]
    regexes += [suite.regex(b, r"'(from_numpy|tensor)'.*") for b in suite.BENCHMARKS
                if b.method in (suite.PEAKMEM_CONVERT, suite.PEAKMEM_PREPARED)]
    regexes += [asvrun.bench_regex(f"bench_batch.{cls}.{suite.TIMED}", (pid, batch, size, "float32"))
                for cls, pid, batch, size in BATCH_CASES]
    return regexes + [asvrun.bench_regex(*CUDA_CASE)] + [suite.regex(b) for b in suite.CONTEXT_TRACKS]


@pytest.fixture(scope="session")
def recorded_run(tmp_path_factory, monkeypatch_session) -> Recorded:
    """One real `asv run -E existing` through bridge-bench's round loop, adaptive as a user's run is
    (bridge_bench.drive.rounds) but in `RECORDED_ROUNDS` rounds, on a private copy of the configuration and
    a private HOME, then `asv publish`: what every test that reads real results reads, and the
    selection asv was given in each round."""
    from bridge_bench.drive import asvrun, rounds

    work = tmp_path_factory.mktemp("recorded")
    conf = asvrun.private_config(ROOT / "asv.conf.json", work)
    env = asvrun.private_env(work / "home", MACHINE)
    selections = []
    real_round = asvrun.run_round

    def recording(config, machine, bench, *args, **kwargs):
        selections.append(list(bench))
        return real_round(config, machine, bench, *args, **kwargs)

    monkeypatch_session.setattr(asvrun, "run_round", recording)
    outcome = rounds.run(conf, MACHINE, recorded_regexes(), env=env, rounds=RECORDED_ROUNDS)
    monkeypatch_session.undo()
    asvrun.run_asv(["publish", "--config", str(conf)], env=env, cwd=ROOT)
    return Recorded(work, selections, outcome)


@pytest.fixture(scope="session")
def monkeypatch_session():
    with pytest.MonkeyPatch.context() as patch:
        yield patch
