"""The CUDA suite: fixed parameters, no CUDA at import, clean skips without a GPU; on a GPU, calls
that return when their data is usable and figures under the same run's ceiling.

The asv run is real (`asv run -E existing` on a private copy of the configuration and a private
HOME). Without CUDA every selected case must be *skipped* (NaN), never failed (null). Besides the
run's own check that no transfer beats its ceiling (`ceilings.violations`), no test here compares
timings: what a call leaves behind is read from the device (an idle stream, torch's count of pinned
blocks), which a slow spell cannot change.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bridge_bench import catalogue, inputs, suite
from bridge_bench.measure import bindings, devices, sources
from bridge_bench.drive import asvrun, rounds
from bridge_bench.read import ceilings, results

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "bridge-bench-cuda-test"
MiB = inputs.MiB
CUDA_CLASSES = {b.cls: b for b in suite.CUDA}
CASES = [
    (CUDA_CLASSES["HostToCuda"], ("cuda", 1 * MiB, "float32", "C")),
    (CUDA_CLASSES["HostToCuda"], ("copy_to_cuda_pinned", 64 * MiB, "float32", "C")),
    (CUDA_CLASSES["HostToCuda"], ("pin_to_cuda_nb", 64 * MiB, "float32", "C")),
    (CUDA_CLASSES["CudaToHost"], ("to_cpu_nb", 64 * MiB, "float32", "C")),
    (CUDA_CLASSES["PinMemoryFirst"], ("pin_memory_first", 1 * MiB, "float32", "C")),
    (suite.CUDA_CEILINGS, ("h2d_ceiling", inputs.CEILING_SIZE, "float32", "C")),
    (suite.CUDA_CEILINGS, ("d2h_ceiling", inputs.CEILING_SIZE, "float32", "C")),
    # numpy has no bfloat16: skips everywhere
    (CUDA_CLASSES["HostToCudaDtypes"], ("tensor_cuda", 32768, "bfloat16", "C")),
]
#: GPU clock cycles a kernel spins on the stream (`torch.cuda._sleep`): about 0.1 s at 2 GHz, while
#: a call that forgot to synchronise returns in microseconds.
SPIN_CYCLES = 200_000_000


@pytest.fixture(scope="module")
def cuda_run(tmp_path_factory):
    """A real run of CASES: one round, each case once in one process (bridge_bench.drive.rounds)."""
    benches = [asvrun.bench_regex(b.name, case) for b, case in CASES] + [suite.regex(suite.TORCH_THREADS)]
    results_dir = rounds.private_run(ROOT / "asv.conf.json", tmp_path_factory.mktemp("asv-cuda"), MACHINE, benches)
    frame = results.load([results_dir], drop_unusable=False).frame
    selected = [(b.name, *case) for b, case in CASES]
    keys = list(zip(frame["benchmark"], frame["path"], frame["size"], frame["dtype"], frame["layout"]))
    return frame[[k in selected for k in keys]].set_index("path")


def test_params_are_fixed_and_nothing_touches_cuda_at_import():
    code = ("import json, sys, torch, benchmarks.bench_cuda as b\n"
            "print(json.dumps({'init': torch.cuda.is_initialized(), 'first_pin_number': b.PinMemoryFirst.number, "
            "'params': {n: getattr(b, n).params for n in sys.argv[1:]}}))")
    proc = subprocess.run([sys.executable, "-c", code, *CUDA_CLASSES], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["init"] is False, "importing the suite must not create a CUDA context (asv forks after import)"
    assert data["first_pin_number"] == 1, "one call per sample: setup empties the cache between calls"
    p = data["params"]
    warm = [i for i in catalogue.ids(catalogue.HOST_TO_CUDA, cuda=True) if not catalogue.get(i).cold]
    assert p["HostToCuda"][0] == warm
    assert p["PinMemoryFirst"][0] == ["pin_memory_first"]
    assert p["CudaToHost"][0] == catalogue.ids(catalogue.CUDA_TO_HOST, cuda=True)
    assert p["HostToCuda"][1] == list(inputs.TRANSFER_SIZES) and p["HostToCuda"][2] == ["float32"]
    assert p["HostToCudaDtypes"][1] == list(inputs.TRANSFER_SWEEP_SIZES)
    assert p["HostToCudaDtypes"][2] == list(inputs.DTYPES)
    assert p["TransferCeilings"][0] == ["h2d_ceiling", "d2h_ceiling"]


def test_each_path_is_timed_by_the_suite_of_its_kind():
    """Host paths by the host classes, CUDA paths by the CUDA classes, each by one of them: a record whose
    `cuda` flag disagrees with its direction would be timed nowhere, or fail on every machine without a GPU."""
    from asv_runner.discovery import disc_benchmarks

    timed = {True: set(), False: set()}
    for bench in disc_benchmarks(str(ROOT / "benchmarks")):
        names = getattr(bench, "param_names", [])
        if "path" in names:
            paths = bench.params[names.index("path")]
            timed[suite.BY_NAME[bench.name] in suite.CUDA].update(map(ast.literal_eval, paths))
    assert timed[False] == set(catalogue.HOST_PATH_IDS + catalogue.BATCH_PATH_IDS)
    assert timed[True] == set(catalogue.ids(cuda=True))


def test_every_transfer_names_its_ceiling():
    expected = {catalogue.HOST_TO_CUDA: catalogue.H2D_CEILING, catalogue.CUDA_TO_HOST: catalogue.D2H_CEILING}
    for p in catalogue.CATALOGUE:
        if p.direction in expected and not p.id.startswith("pin_memory"):
            assert p.ceiling == expected[p.direction], p.id
        if p.ceiling:
            assert catalogue.get(p.ceiling).direction == catalogue.REFERENCE and catalogue.get(p.ceiling).cuda


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")
def test_without_cuda_every_case_is_skipped_not_failed(cuda_run):
    frame = cuda_run
    assert len(frame) == len(CASES)
    assert (frame["status"] == "skipped").all(), frame["status"].to_dict()
    for pid in catalogue.ids(cuda=True):
        with pytest.raises(inputs.Unsupported, match="no CUDA"):
            bindings.prepare(pid, inputs.Case(64))


@pytest.mark.cuda
def test_with_cuda_every_case_runs_and_none_beats_its_ceiling(cuda_run):
    frame = cuda_run
    assert frame.loc["tensor_cuda", "status"] == "skipped"
    ran = frame.drop(index="tensor_cuda")
    assert (ran["status"] == "ok").all(), ran["status"].to_dict()
    assert ran["gpu"].notna().all(), "results carry the GPU from the machine entry"
    for ceiling in ("h2d_ceiling", "d2h_ceiling"):
        assert 1 < ran.loc[ceiling, "value"] < 2000, f"{ceiling}: {ran.loc[ceiling, 'value']} GB/s"
    checked = ceilings.transfers(ran.reset_index())
    assert checked["ceiling_gbps"].notna().all()
    assert ceilings.violations(ran.reset_index()).empty, checked[["path", "gbps", "ceiling_gbps"]]


@pytest.mark.cuda
@pytest.mark.parametrize("pid", ["to_cuda_nb", "to_cuda_nb_pinned", "copy_to_cuda_pinned", "to_cpu_nb",
                                 "copy_from_cuda_pinned"])
def test_non_blocking_results_are_complete_when_the_call_returns(pid):
    case = inputs.Case(64 * MiB)
    source = sources.make_source(catalogue.get(pid).source, case)
    pattern = torch.arange(source.shape[0], dtype=torch.float32) % 1000 + 1
    torch.as_tensor(source).copy_(pattern)
    try:
        out = bindings.prepare(pid, case)()
        assert torch.equal(torch.as_tensor(out).cpu(), pattern)
    finally:
        torch.as_tensor(source).zero_()


@pytest.mark.cuda
@pytest.mark.parametrize("pid", catalogue.ids(cuda=True))
def test_a_cuda_call_returns_with_its_work_done_even_behind_a_busy_stream(pid):
    """An enqueue is not a transfer. A kernel spinning on the stream holds back whatever the call
    enqueues, so the stream is idle when the call returns only if the call waited for its work
    (`devices.synced`); a bare enqueue returns with the spin still running."""
    call = bindings.prepare(pid, inputs.Case(MiB))
    torch.cuda._sleep(SPIN_CYCLES)
    call()
    assert torch.cuda.current_stream().query(), "the call returned before its work on the device was done"


@pytest.mark.cuda
def test_the_first_pin_of_a_size_allocates_a_block_and_a_cached_one_does_not():
    """Counted, not timed: torch's pinned-host allocator counts the blocks it creates, so emptying its
    cache before each call (PinMemoryFirst, outside the timed region) makes each call pay cudaHostAlloc."""
    torch.cuda.init()  # host_memory_stats() is {} until CUDA has started: the test may run first
    pin = bindings.prepare("pin_memory_first", inputs.Case(64 * MiB))

    def blocks_made(cold):
        before = torch.cuda.host_memory_stats().get("num_host_alloc", 0)
        for _ in range(3):
            if cold:
                devices.empty_host_cache()
            assert pin().is_pinned()
        return torch.cuda.host_memory_stats().get("num_host_alloc", 0) - before

    assert blocks_made(cold=True) == 3
    assert blocks_made(cold=False) == 0
