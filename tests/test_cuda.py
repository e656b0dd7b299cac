"""The CUDA suite: fixed parameters, no CUDA at import, clean skips without a GPU; on a GPU, timings
that end when the data is usable and stay under the same run's ceiling.

The asv run is real (`asv run -E existing` on a private copy of the configuration and a private
HOME). Without CUDA every selected case must be *skipped* (NaN), never failed (null).
"""

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from bridge_bench import asvrun, bindings, catalogue, ceilings, devices, inputs, results

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "bridge-bench-cuda-test"
MiB = inputs.MiB
CASES = [
    ("HostToCuda", ("cuda", 1 * MiB, "float32", "C")),
    ("HostToCuda", ("copy_to_cuda_pinned", 64 * MiB, "float32", "C")),
    ("CudaToHost", ("to_cpu_nb", 64 * MiB, "float32", "C")),
    ("PinMemoryFirst", ("pin_memory_first", 1 * MiB, "float32", "C")),
    ("Ceilings", ("h2d_ceiling", devices.CEILING_SIZE, "float32", "C")),
    ("Ceilings", ("d2h_ceiling", devices.CEILING_SIZE, "float32", "C")),
    ("HostToCudaDtypes", ("tensor_cuda", 32768, "bfloat16", "C")),  # numpy has no bfloat16: skips everywhere
]


def _method(cls):
    return {"Ceilings": "track_bandwidth", "PinMemoryFirst": "time_first_pin"}.get(cls, "time_convert")


@pytest.fixture(scope="module")
def cuda_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("asv-cuda")
    conf = asvrun.private_config(ROOT / "asv.conf.json", work)
    env = asvrun.private_env(work / "home", MACHINE)
    benches = [asvrun.bench_regex(f"bench_cuda.{cls}.{_method(cls)}", case) for cls, case in CASES]
    asvrun.run_existing(conf, MACHINE, benches + [r"bench_context\.track_torch_threads"], env=env)
    frame = results.load([work / "results"], drop_unusable=False).frame
    selected = [(f"bench_cuda.{cls}.{_method(cls)}", *case) for cls, case in CASES]
    keys = list(zip(frame["benchmark"], frame["path"], frame["size"], frame["dtype"], frame["layout"]))
    return frame[[k in selected for k in keys]].set_index("path")


def test_params_are_fixed_and_nothing_touches_cuda_at_import():
    code = ("import json, torch, benchmarks.bench_cuda as b\n"
            "print(json.dumps({'init': torch.cuda.is_initialized(), 'params': {n: getattr(b, n).params for n in "
            "('HostToCuda', 'CudaToHost', 'HostToCudaDtypes', 'CudaToHostDtypes', 'PinMemoryFirst', 'Ceilings')}}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["init"] is False, "importing the suite must not create a CUDA context (asv forks after import)"
    p = data["params"]
    assert p["HostToCuda"][0] == [i for i in catalogue.ids(catalogue.HOST_TO_CUDA, cuda=True) if not catalogue.get(i).cold]
    assert p["PinMemoryFirst"][0] == ["pin_memory_first"]
    assert p["CudaToHost"][0] == catalogue.ids(catalogue.CUDA_TO_HOST, cuda=True)
    assert p["HostToCuda"][1] == list(devices.TRANSFER_SIZES) and p["HostToCuda"][2] == ["float32"]
    assert p["HostToCudaDtypes"][1] == list(devices.TRANSFER_SWEEP_SIZES)
    assert p["HostToCudaDtypes"][2] == list(inputs.DTYPES)
    assert p["Ceilings"][0] == ["h2d_ceiling", "d2h_ceiling"]


def test_the_host_suite_has_no_cuda_path_and_every_transfer_names_its_ceiling():
    assert not set(catalogue.HOST_PATH_IDS) & set(catalogue.ids(cuda=True))
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
    assert checked["ceiling_gbs"].notna().all()
    assert ceilings.violations(ran.reset_index()).empty, checked[["path", "gbs", "ceiling_gbs"]]


@pytest.mark.cuda
@pytest.mark.parametrize("pid", ["to_cuda_nb", "to_cuda_nb_pinned", "copy_to_cuda_pinned", "to_cpu_nb",
                                 "copy_from_cuda_pinned"])
def test_non_blocking_results_are_complete_when_the_call_returns(pid):
    case = inputs.Case(64 * MiB)
    source = inputs.make_source(catalogue.get(pid).source, case)
    pattern = torch.arange(source.shape[0], dtype=torch.float32) % 1000 + 1
    torch.as_tensor(source).copy_(pattern)
    try:
        out = bindings.prepare(pid, case)()
        assert torch.equal(torch.as_tensor(out).cpu(), pattern)
    finally:
        torch.as_tensor(source).zero_()


@pytest.mark.cuda
def test_an_enqueue_is_not_a_transfer_and_the_ceiling_sees_the_difference():
    call = bindings.prepare("copy_to_cuda_pinned", inputs.Case(devices.CEILING_SIZE))
    enqueue = call.__wrapped__
    torch.cuda.synchronize()
    started = time.perf_counter()
    enqueue()
    enqueued = time.perf_counter() - started
    torch.cuda.synchronize()
    started = time.perf_counter()
    call()
    transferred = time.perf_counter() - started
    ceiling = devices.bandwidth_gbs(devices.CEILING_SIZE, devices.event_seconds(call))
    assert devices.CEILING_SIZE / transferred / 1e9 <= ceiling * (1 + ceilings.TOLERANCE)
    assert devices.CEILING_SIZE / enqueued / 1e9 > ceiling, "an unsynchronised copy 'beats' PCIe"


@pytest.mark.cuda
def test_the_first_pin_of_a_size_costs_more_than_a_cached_one():
    pin = bindings.prepare("pin_memory_first", inputs.Case(64 * MiB))

    def timed(cold):
        out = []
        for _ in range(5):
            if cold:
                devices.empty_host_cache()
            started = time.perf_counter()
            pinned = pin()
            out.append(time.perf_counter() - started)
            assert pinned.is_pinned()
            del pinned
        return statistics.median(out)

    assert timed(cold=True) > timed(cold=False)
