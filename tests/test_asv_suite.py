"""The suite under asv for real: `asv check`, and the shared recorded run (conftest), whose results
and rounds we read.

Both run against a private copy of asv.conf.json and a private HOME, so a developer's results and
machine file are never touched.
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import conftest
from bridge_bench import catalogue, estimate, inputs, suite
from bridge_bench.measure import plan
from bridge_bench.drive import asvrun, fidelity, rounds
from bridge_bench.read import results
from conftest import MACHINE, REFUSED_LAYOUTS

ROOT = Path(__file__).resolve().parents[1]
SIZES = suite.host_timing("bench_sizes", catalogue.NUMPY_TO_TORCH)
LAYOUTS = {d: suite.host_timing("bench_layouts", d) for d in (catalogue.NUMPY_TO_TORCH, catalogue.REFERENCE)}
COUNTS = [b for b in suite.BENCHMARKS if b.module == SIZES.module and b.direction == SIZES.direction
          and b.method in (suite.FAULTS, suite.HELD_BYTES)]
PEAKMEM = [b for b in suite.BENCHMARKS if b.method in (suite.PEAKMEM_CONVERT, suite.PEAKMEM_PREPARED)]


@pytest.fixture(scope="module")
def asv_run(recorded_run):
    (result_file,) = asvrun.result_files(recorded_run.results, MACHINE)
    return results.load([recorded_run.results], drop_unusable=False).frame, recorded_run.outcome.commit, result_file


def _one(frame, benchmark, path=None, size=None, layout="C"):
    rows = frame[(frame["benchmark"] == benchmark)]
    if path is not None:
        rows = rows[(rows["path"] == path) & (rows["size"] == size) & (rows["layout"] == layout)]
    (row,) = rows.itertuples()
    return row


def test_asv_check_passes(tmp_path):
    conf = asvrun.private_config(ROOT / "asv.conf.json", tmp_path)
    proc = subprocess.run(asvrun.asv_command("check", "-E", "existing", "--config", str(conf)),
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


def test_result_file_has_timings_skips_and_context(asv_run):
    frame, commit, result_file = asv_run
    assert result_file.name.startswith(commit[:8])
    sizes = SIZES.name
    from_numpy = _one(frame, sizes, "from_numpy", 8)
    tensor = _one(frame, sizes, "tensor", 65536)
    assert from_numpy.status == tensor.status == "ok" and from_numpy.unit == "seconds"
    assert 0 < from_numpy.value < 1e-4, "a zero-copy conversion takes about a microsecond, not more"
    assert tensor.value > from_numpy.value, "copying 64 KiB costs more than sharing"
    assert from_numpy.number > 100, "bare calls are batched: asv records the batch size"
    for row in (from_numpy, tensor):
        assert plan.FIRST_LOOKS <= len(row.samples) <= plan.MOST_LOOKS, "one look per round, as the plan gave them"
        assert row.value == estimate.published(row.samples), "the published figure is the median of the quiet looks"
        assert (row.ci_low, row.ci_high) == estimate.interval(row.samples)
    not_run = _one(frame, sizes, "as_tensor", 8)
    assert not_run.status == "skipped"

    for path, layout in REFUSED_LAYOUTS:
        row = _one(frame, LAYOUTS[catalogue.get(path).direction].name, path, inputs.IN_CACHE, layout)
        assert row.status == "skipped", f"{path} {layout} must be skipped (NaN), not failed (None)"

    for key in ("torch", "numpy", "torch_threads", "thp", "THP_MEM_ALLOC_ENABLE", "cpu"):
        assert from_numpy._asdict()[key], key


def test_counts_separate_sharing_from_copying(asv_run):
    frame = asv_run[0]

    def count(method, pid):
        (benchmark,) = [b.name for b in COUNTS if b.method == method]
        row = _one(frame, benchmark, pid, 65536)
        assert row.status == "ok" and row.unit.endswith("/call")
        return row.value

    assert count(suite.HELD_BYTES, "from_numpy") < 4096, "a view holds a header, not the data"
    assert 65536 <= count(suite.HELD_BYTES, "tensor") < 1.1 * 65536, "a copy holds the data"
    assert count(suite.FAULTS, "from_numpy") < 1


def test_peak_memory_separates_sharing_from_copying(asv_run):
    frame = asv_run[0]
    size = inputs.PEAKMEM_SIZE

    def extra(pid):
        peak = {b.method: _one(frame, b.name, pid, size).value for b in PEAKMEM}
        return peak[suite.PEAKMEM_CONVERT] - peak[suite.PEAKMEM_PREPARED]

    assert extra("from_numpy") < size / 8
    assert extra("tensor") > size * 0.9


def test_later_rounds_give_a_process_only_to_the_cases_that_look(recorded_run):
    """Round 1 runs everything; later rounds only timed host cases the plan says look, and the machine's
    readings. A refused case, a CUDA case (skipped here, measured once in round 1 on a GPU), counts,
    peak memory and the context are not run again; a case whose figure is known stops."""
    selections = recorded_run.selections
    assert len(selections) >= plan.FIRST_LOOKS and selections[0] == conftest.recorded_regexes()

    def picked(round_, name):
        return any(re.search(r, name) for r in selections[round_])

    refused = [f"{LAYOUTS[catalogue.get(p).direction].name}({p!r}, {inputs.IN_CACHE}, 'float32', {layout!r})"
               for p, layout in REFUSED_LAYOUTS]
    cuda = f"{conftest.CUDA_CASE[0]}{conftest.CUDA_CASE[1]}"
    from_numpy = f"{SIZES.name}('from_numpy', 8, 'float32', 'C')"
    for r in range(1, len(selections)):
        assert not any(picked(r, name) for name in refused + [cuda]), f"round {r + 1} tried again what cannot run"
        assert not picked(r, f"{COUNTS[0].name}('from_numpy', 8, 'float32', 'C')"), "counts are counted once"
        assert all(picked(r, b.name) for b in suite.EVERY_ROUND) and not picked(r, suite.TORCH_THREADS.name)
    assert all(picked(r, from_numpy) for r in range(1, plan.FIRST_LOOKS)), "every case takes its first looks"
    looks = len(_one(results.load([recorded_run.results]).frame, SIZES.name, "from_numpy", 8).samples)
    given = [r for r in range(len(selections)) if r == 0 or picked(r, from_numpy)]
    assert len(given) == looks, "a case looks in exactly the rounds it was given"
    assert set(recorded_run.outcome.refused) >= set(refused), "the run says why each refused case was"


def test_context_tracks(asv_run):
    import torch

    frame = asv_run[0]
    assert _one(frame, suite.TORCH_THREADS.name).value == torch.get_num_threads()


@pytest.mark.slow
def test_fidelity_command_reports_both_figures_per_case():
    rows = fidelity.run(ROOT / "asv.conf.json", ["from_numpy"], [8], looks=2)
    (row,) = rows
    assert row.asv_s and row.reference_s and row.loops >= 2, "a reference loop in every look"
    assert row.ratio is not None and 0.5 < row.ratio < 2
    assert "torch.from_numpy(a)" in fidelity.render(rows)


def test_a_benchmark_version_follows_what_it_times(monkeypatch):
    """asv joins results of one version into one series: editing a binding or its record must start a new one."""
    import dataclasses

    from benchmarks import common
    from bridge_bench import catalogue
    from bridge_bench.measure import bindings

    ids = ["np_copyto", "copy_"]
    before = common.version(ids, *common.TIMING)
    assert common.version(ids, *common.TIMING) == before, "deterministic"
    assert common.version(ids[::-1], *common.TIMING) == before, "not the order of the paths"
    assert common.version(ids, *common.TIMING[1:]) != before, "the timing code is part of it"

    text = common._bindings_text()
    assert '"copy_": _copy_into_tensor,' in text
    edited = text.replace('"copy_": _copy_into_tensor,', '"copy_": _copyto,')
    monkeypatch.setattr(common, "_bindings_text", lambda: edited)
    rebound_version = common.version(ids, *common.TIMING)
    assert rebound_version != before, "a different binding of the same record"
    monkeypatch.setitem(catalogue.BY_ID, "copy_", dataclasses.replace(catalogue.get("copy_"), output="result"))
    assert common.version(ids, *common.TIMING) != rebound_version, "the record is part of it"
    monkeypatch.undo()

    # np_copyto binds through helpers of the bindings module: their source counts too, as
    # inspect gives it (the versions of results already published stay what they were).
    sources = common._binding_sources("np_copyto")
    for helper in (bindings._copyto, bindings._into):
        assert common._source(helper) in sources
    assert sources[0] == common._source(bindings.BINDINGS["np_copyto"])


def test_listing_the_suite_imports_no_torch_and_gives_the_measured_versions():
    """asv lists the suite (`discover`) in every round: without torch, 2.2 s less a round; the
    versions it lists are those a measuring process computes, and the same in every listing."""
    import json

    from asv_runner.discovery import disc_benchmarks

    listing = ("import json, sys; sys.argv = ['benchmark.py', 'discover']; "
               "from asv_runner.discovery import disc_benchmarks; "
               "found = {b.name: b.version for b in disc_benchmarks('benchmarks')}; "
               "print(json.dumps(['torch' in sys.modules, found]))")
    listed = [json.loads(subprocess.run([sys.executable, "-c", listing], cwd=ROOT, capture_output=True, text=True,
                                        check=True).stdout) for _ in range(2)]
    measured = {b.name: b.version for b in disc_benchmarks(str(ROOT / "benchmarks"))}
    for imported_torch, versions in listed:
        assert not imported_torch
        assert versions == measured
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in measured.values()), measured


def test_every_timing_class_carries_its_version():
    from benchmarks import bench_cuda, bench_dtypes, bench_layouts, bench_sizes, common

    for mod in (bench_sizes, bench_dtypes, bench_layouts):
        for name, direction in suite.HOST_CLASSES:
            assert getattr(mod, name).version == common.version(catalogue.ids(direction, cuda=False), *common.TIMING)
    cuda = catalogue.ids(catalogue.HOST_TO_CUDA, cuda=True) + catalogue.ids(catalogue.CUDA_TO_HOST, cuda=True)
    assert bench_cuda.HostToCuda.version == common.version(cuda, *common.TIMING)


def test_every_path_has_the_fingerprint_it_joined_with():
    """A path without its line in benchmarks/fingerprints.txt counts as unchanged in `version`: its
    line makes its later edits count."""
    from benchmarks import common

    missing = [f"{pid} {common.fingerprint(pid)}" for pid in catalogue.PATH_IDS if pid not in common.joined()]
    assert not missing, "add to benchmarks/fingerprints.txt:\n" + "\n".join(missing)


def test_adding_a_path_restarts_no_series_and_editing_one_restarts_its_own(monkeypatch):
    """asv restarts every series of a benchmark when its `version` changes. A new path (a record and
    a binding) leaves every benchmark's version as it was, and so does removing a path; editing a
    path's binding, once it has joined, changes the version of its direction's benchmarks only."""
    from benchmarks import common

    host = {d: catalogue.ids(d, cuda=False) for _, d in suite.HOST_CLASSES}
    before = {d: common.version(ids, *common.TIMING) for d, ids in host.items()}

    new = catalogue.Conversion("from_numpy_again", catalogue.NUMPY_TO_TORCH, "torch.from_numpy(a)  # again", "numpy",
                               shares=True)
    monkeypatch.setitem(catalogue.BY_ID, new.id, new)
    text = common._bindings_text()
    binding = '    "from_numpy": lambda a: functools.partial(torch.from_numpy, a),\n'
    assert binding in text
    added = text.replace(binding, binding + binding.replace('"from_numpy"', '"from_numpy_again"'))
    monkeypatch.setattr(common, "_bindings_text", lambda: added)
    grown = {d: ids + [new.id] if d == new.direction else ids for d, ids in host.items()}
    assert {d: common.version(ids, *common.TIMING) for d, ids in grown.items()} == before, "adding a path"
    shrunk = {d: [pid for pid in ids if pid != "as_tensor"] for d, ids in host.items()}
    assert {d: common.version(ids, *common.TIMING) for d, ids in shrunk.items()} == before, "removing a path"

    # the new path joins (its line), then its binding changes: its direction's version changes, no other's
    joined = {**common.joined(), new.id: common.fingerprint(new.id)}
    monkeypatch.setattr(common, "joined", lambda: joined)
    assert {d: common.version(ids, *common.TIMING) for d, ids in grown.items()} == before
    rebound = added.replace('"from_numpy_again": lambda a: functools.partial(torch.from_numpy, a)',
                            '"from_numpy_again": lambda a: functools.partial(torch.as_tensor, a)')
    assert rebound != added
    monkeypatch.setattr(common, "_bindings_text", lambda: rebound)
    after = {d: common.version(ids, *common.TIMING) for d, ids in grown.items()}
    assert after[new.direction] != before[new.direction], "its binding changed"
    assert {d: v for d, v in after.items() if d != new.direction} == {
        d: v for d, v in before.items() if d != new.direction}, "other directions keep theirs"
    # and so does a change of its record
    monkeypatch.setattr(common, "_bindings_text", lambda: added)
    monkeypatch.setitem(catalogue.BY_ID, new.id, catalogue.Conversion(
        new.id, new.direction, new.label, "numpy", shares=True, output="destination"))
    assert common.version(grown[new.direction], *common.TIMING) != before[new.direction], "its record changed"


def test_the_suite_description_is_what_asv_discovers():
    """bridge_bench.suite names every benchmark once; a benchmark added to benchmarks/ without it fails here."""
    from asv_runner.discovery import disc_benchmarks

    found = {b.name: b for b in disc_benchmarks(str(ROOT / "benchmarks"))}
    assert sorted(found) == sorted(suite.BY_NAME)
    for name, bench in found.items():
        names = getattr(bench, "param_names", [])
        sizes = bench.params[names.index("size")] if "size" in names else []
        # the batch family's item sizes are a grid, not a latency curve of one call
        assert suite.BY_NAME[name].sweeps_size == (len(sizes) > 2 and not suite.BY_NAME[name].has_batch), name
        if "path" in names and suite.BY_NAME[name].direction:
            directions = {catalogue.get(ast.literal_eval(p)).direction for p in bench.params[names.index("path")]}
            assert directions == {suite.BY_NAME[name].direction}, name


#: A benchmark process as asv_runner runs one (`asv_runner.run`): the benchmark of one case by its
#: name and parameter index, its setup, its run; here quick (one call) and for each case named on
#: the command line in turn, after the Python statements of the first argument.
BENCHMARK_PROCESS = """
import sys
from asv_runner.discovery import get_benchmark_from_name
exec(sys.argv[1])
for name in sys.argv[2:]:
    bench = get_benchmark_from_name("benchmarks", name, {"number": 1, "repeat": 1})
    bench.do_setup()
    try:
        print("timed", sorted(bench.do_run()))
    except RuntimeError as exc:
        print("RuntimeError:", exc)
"""
LOOKED = "timed ['number', 'samples']"  # asv's result of a look
#: asv's ids of the size sweep's first two cases: from_numpy of 8 and of 16 bytes.
FIRST, SECOND = (f"{SIZES.name}-{index}" for index in (0, 1))
CASE_8, CASE_16 = (("from_numpy", size, "float32", "C") for size in (8, 16))
#: A cache in front of `bind`: `time_convert` hands back the call bound first, for 16 bytes, whatever it is asked.
CACHED = """
from benchmarks import common
from bridge_bench import inputs
stale = common.bind("from_numpy", inputs.Case(16))
common.bind = lambda path_id, case: stale
"""


@pytest.mark.parametrize("prelude, cases, printed", [
    ("", [FIRST, SECOND],
     [LOOKED, f"RuntimeError: asked to time {CASE_16} in a benchmark process that times {CASE_8}"]),
    (CACHED, [FIRST], [f"RuntimeError: the call to time for {CASE_8} is not the one bind made for it "
                       f"(last bound: {CASE_16})"]),
], ids=["a-second-case", "a-call-bound-earlier"])
def test_a_benchmark_process_times_only_the_case_its_parameters_name(prelude, cases, printed):
    """The guard of benchmarks/common.py (`_check_case`): without it, both processes print a look."""
    with rounds.looks_record() as env:
        proc = subprocess.run([sys.executable, "-c", BENCHMARK_PROCESS, prelude, *cases], capture_output=True,
                              text=True, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == printed, proc.stderr
