"""The suite under asv for real: `asv check`, and a filtered `asv run -E existing` whose results we read.

Both run against a private copy of asv.conf.json and a private HOME, so a developer's results and
machine file are never touched.
"""

import subprocess
from pathlib import Path

import pytest

from bridge_bench import asvrun, estimate, fidelity, inputs, results

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "bridge-bench-test"
#: Four looks per case instead of sampling.LOOKS: these tests check what is recorded, not how
#: stable it is (README, "Figures" for that), and every look is paced seconds apart.
ROUNDS = 4


@pytest.fixture(scope="module")
def asv_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("asv")
    conf = asvrun.private_config(ROOT / "asv.conf.json", work)
    env = asvrun.private_env(work / "home", MACHINE)
    benches = [
        asvrun.bench_regex("bench_sizes.NumpyToTorch.time_convert", ("from_numpy", 8, "float32", "C")),
        asvrun.bench_regex("bench_sizes.NumpyToTorch.time_convert", ("tensor", 65536, "float32", "C")),
        r"bench_sizes\.NumpyToTorch\.track_(faults|held_bytes)\('(from_numpy|tensor)', 65536, 'float32', 'C'\)$",
        asvrun.bench_regex("bench_layouts.NumpyToTorch.time_convert", ("from_numpy", 32768, "float32", "negative")),
        asvrun.bench_regex("bench_layouts.NumpyToTorch.time_convert", ("dlpack_to_torch", 32768, "float32", "negative")),
        asvrun.bench_regex("bench_layouts.Reference.time_convert", ("clone", 32768, "float32", "readonly")),
        r"bench_memory\.PeakMemory\.peakmem_(convert|prepared)\('(from_numpy|tensor)'",
        r"bench_context\.",
    ]
    commit = asvrun.run_existing(conf, MACHINE, benches, env=env, rounds=ROUNDS)
    (result_file,) = asvrun.result_files(work / "results", MACHINE)
    return results.load([work / "results"], drop_unusable=False).frame, commit, result_file


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
    sizes = "bench_sizes.NumpyToTorch.time_convert"
    from_numpy = _one(frame, sizes, "from_numpy", 8)
    tensor = _one(frame, sizes, "tensor", 65536)
    assert from_numpy.status == tensor.status == "ok" and from_numpy.unit == "seconds"
    assert 0 < from_numpy.value < 1e-4, "a zero-copy conversion takes about a microsecond, not more"
    assert tensor.value > from_numpy.value, "copying 64 KiB costs more than sharing"
    assert from_numpy.number > 100, "bare calls are batched: asv records the batch size"
    for row in (from_numpy, tensor):
        assert len(row.samples) == ROUNDS, "one look per round"
        assert row.value == estimate.published(row.samples), "the published figure is the median of the quiet looks"
        assert (row.ci_low, row.ci_high) == estimate.interval(row.samples)
    not_run = _one(frame, sizes, "as_tensor", 8)
    assert not_run.status == "skipped"

    for benchmark, path, layout in (("bench_layouts.NumpyToTorch.time_convert", "from_numpy", "negative"),
                                    ("bench_layouts.NumpyToTorch.time_convert", "dlpack_to_torch", "negative"),
                                    ("bench_layouts.Reference.time_convert", "clone", "readonly")):
        row = _one(frame, benchmark, path, 32768, layout)
        assert row.status == "skipped", f"{path} {layout} must be skipped (NaN), not failed (None)"

    for key in ("torch", "numpy", "torch_threads", "thp", "THP_MEM_ALLOC_ENABLE", "cpu"):
        assert from_numpy._asdict()[key], key


def test_counts_separate_sharing_from_copying(asv_run):
    frame = asv_run[0]

    def count(method, pid):
        row = _one(frame, f"bench_sizes.NumpyToTorch.{method}", pid, 65536)
        assert row.status == "ok" and row.unit.endswith("/call")
        return row.value

    assert count("track_held_bytes", "from_numpy") < 4096, "a view holds a header, not the data"
    assert 65536 <= count("track_held_bytes", "tensor") < 1.1 * 65536, "a copy holds the data"
    assert count("track_faults", "from_numpy") < 1


def test_peak_memory_separates_sharing_from_copying(asv_run):
    frame = asv_run[0]
    size = inputs.PEAKMEM_SIZE

    def extra(pid):
        convert = _one(frame, "bench_memory.PeakMemory.peakmem_convert", pid, size).value
        prepared = _one(frame, "bench_memory.PeakMemory.peakmem_prepared", pid, size).value
        return convert - prepared

    assert extra("from_numpy") < size / 8
    assert extra("tensor") > size * 0.9


def test_context_tracks(asv_run):
    import torch

    frame = asv_run[0]
    assert _one(frame, "bench_context.track_torch_threads").value == torch.get_num_threads()


@pytest.mark.slow
def test_fidelity_command_reports_both_figures_per_case():
    rows = fidelity.run(ROOT / "asv.conf.json", ["from_numpy"], [8])
    (row,) = rows
    assert row.asv_s and row.reference_s and row.loops >= 2, "a reference loop in every look"
    assert row.ratio is not None and 0.5 < row.ratio < 2
    assert "torch.from_numpy(a)" in fidelity.render(rows)


def test_a_benchmark_version_follows_what_it_times(monkeypatch):
    """asv joins results of one version into one series: editing a binding or its record must start a new one."""
    import dataclasses

    from benchmarks import common
    from bridge_bench import bindings, catalogue

    ids = ["np_copyto", "copy_"]
    before = common.version(ids, *common.TIMING)
    assert common.version(ids, *common.TIMING) == before, "deterministic"
    assert common.version(["np_copyto"], *common.TIMING) != before, "the paths are part of it"

    def rebound(a):  # a different binding of the same record
        return a.copy

    monkeypatch.setitem(bindings.BINDINGS, "copy_", rebound)
    rebound_version = common.version(ids, *common.TIMING)
    assert rebound_version != before
    monkeypatch.setitem(catalogue.BY_ID, "copy_", dataclasses.replace(catalogue.get("copy_"), output="result"))
    assert common.version(ids, *common.TIMING) != rebound_version, "the record is part of it"

    # np_copyto binds through helpers of the bindings module: their source counts too.
    helpers = common._helpers(bindings.BINDINGS["np_copyto"], bindings)
    assert bindings._copyto in helpers and bindings._into in helpers


def test_every_timing_class_carries_its_version():
    from benchmarks import bench_cuda, bench_dtypes, bench_layouts, bench_sizes

    versions = {cls.version for mod in (bench_sizes, bench_dtypes, bench_layouts)
                for cls in (mod.NumpyToTorch, mod.TorchToNumpy, mod.Reference)}
    assert len(versions) == 3, "one per direction: the sweeps time the same bindings the same way"
    assert bench_cuda.HostToCuda.version not in versions
