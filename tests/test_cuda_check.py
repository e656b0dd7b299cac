"""`bridge-bench gpu-check` (and scripts/gpu-check, its wrapper for bare GPU boxes) on a machine without
CUDA: its selection, its bad-input exits, and a clean all-skip run."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bridge_bench import catalogue, inputs
from bridge_bench.drive import gpucheck

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu-check"
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT)


def test_selection_is_the_reduced_float32_size_set_the_ceilings_and_the_context():
    regexes = [re.compile(r) for r in gpucheck.bench_regexes(inputs.CHECK_SIZES)]

    def selected(name):
        return any(r.search(name) for r in regexes)

    assert selected("bench_cuda.HostToCuda.time_convert('cuda', 65536, 'float32', 'C')")
    assert selected("bench_cuda.CudaToHost.time_convert('to_cpu_nb', 1073741824, 'float32', 'C')")
    assert selected("bench_cuda.PinMemoryFirst.time_first_pin('pin_memory_first', 8, 'float32', 'C')")
    assert selected("bench_cuda.TransferCeilings.track_bandwidth('h2d_ceiling', 268435456, 'float32', 'C')")
    assert selected("bench_context.track_torch_threads")
    assert not selected("bench_cuda.HostToCuda.time_convert('cuda', 16, 'float32', 'C')")
    assert not selected("bench_cuda.HostToCudaDtypes.time_convert('cuda', 32768, 'int8', 'C')")
    assert not selected("bench_sizes.NumpyToTorch.time_convert('from_numpy', 8, 'float32', 'C')")


def test_a_missing_wheels_folder_is_one_line_and_exit_2(tmp_path):
    proc = _run("--wheels", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope" in lines[0] and lines[0].startswith("gpu-check: error:")


@NO_CUDA
def test_without_cuda_it_refuses_unless_allowed(tmp_path):
    proc = _run("--out", str(tmp_path))
    assert proc.returncode == 2
    assert "no CUDA" in proc.stderr and "--allow-no-cuda" in proc.stderr
    assert not (tmp_path / "results").exists(), "nothing is run"


@NO_CUDA
@pytest.mark.slow
def test_without_cuda_every_case_skips_cleanly(tmp_path):
    proc = _run("--out", str(tmp_path), "--allow-no-cuda")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    per_size = [p for p in catalogue.CATALOGUE if p.direction in (catalogue.HOST_TO_CUDA, catalogue.CUDA_TO_HOST)]
    cases = len(per_size) * len(inputs.CHECK_SIZES) + 2  # every transfer (and the first pin) per size, ceilings
    assert f"CUDA cases: 0 ok, {cases} skipped, 0 failed" in proc.stdout
    assert "CUDA-marked tests: exit 0" in proc.stdout


# --- the verdict, on frames shaped as the results loader gives them (test_cuda_ceilings' rows)

from test_cuda_ceilings import _ceiling, _frame, _row, _time_for  # noqa: E402

GB_S = 50.0
H2D = "bench_cuda.HostToCuda.time_convert"
FIRST_PIN = "bench_cuda.PinMemoryFirst.time_first_pin"


def a_gpu_run(*extra):
    """A passing run of two transfers, the first pin and both ceilings at 1 MiB (torch 2.13.0)."""
    rows = [_row("cuda", _time_for(20.0, 2**20), size=2**20), _row("to_cpu_nb", _time_for(30.0, 2**20), size=2**20,
                                                                  benchmark="bench_cuda.CudaToHost.time_convert"),
            _row("pin_memory_first", 1e-4, size=2**20, benchmark=FIRST_PIN),
            _ceiling("h2d_ceiling", GB_S, size=2**20), _ceiling("d2h_ceiling", GB_S, size=2**20), *extra]
    return _frame(*rows).assign(torch="2.13.0+cu128", numpy="2.4.6")


def test_a_full_gpu_run_passes():
    assert gpucheck.problems(a_gpu_run(), {}, [2**20], cuda=True) == []


def test_a_cuda_case_that_skips_for_an_unexpected_exception_fails_the_check_naming_it():
    skipped = _row("to_cuda", None, size=2**20, status="skipped")
    case = f"{H2D}('to_cuda', {2**20}, 'float32', 'C')"
    reason = "t.to(\"cuda\") refuses it: RuntimeError: CUDA error: out of memory"
    found = gpucheck.problems(a_gpu_run(skipped), {case: reason}, [2**20], cuda=True)
    assert found == [f"{case}: skipped on a CUDA box: {reason}"]
    failed = _row("to_cuda", None, size=2**20, status="failed")
    assert "failed" in gpucheck.problems(a_gpu_run(failed), {}, [2**20], cuda=True)[0]


def test_a_skip_the_catalogue_allows_does_not_fail_the_check():
    old = a_gpu_run().assign(torch="2.4.1+cu121")
    old.loc[old["path"] == "pin_memory_first", ["status", "value"]] = ["skipped", None]
    assert gpucheck.problems(old, {}, [2**20], cuda=True) == [], "pin_memory_first needs torch >= 2.5"
    new = a_gpu_run()
    new.loc[new["path"] == "pin_memory_first", ["status", "value"]] = ["skipped", None]
    assert len(gpucheck.problems(new, {}, [2**20], cuda=True)) == 1


def test_a_missing_ceiling_fails_the_check():
    run = a_gpu_run()
    run.loc[run["path"] == "d2h_ceiling", ["status", "value"]] = ["skipped", None]
    found = gpucheck.problems(run, {}, [2**20], cuda=True)
    assert any("no d2h_ceiling measured" in p for p in found), found
    nan = a_gpu_run()
    nan.loc[nan["path"] == "h2d_ceiling", "value"] = float("nan")
    assert any("no h2d_ceiling measured" in p for p in gpucheck.problems(nan, {}, [2**20], cuda=True))


def test_a_transfer_above_its_ceiling_fails_the_check():
    found = gpucheck.problems(a_gpu_run(_row("copy_to_cuda_pinned", _time_for(GB_S * 1.2, 2**20), size=2**20)),
                              {}, [2**20], cuda=True)
    assert len(found) == 1 and "above its ceiling" in found[0]


def test_without_cuda_every_case_must_skip_for_the_lack_of_it():
    run = a_gpu_run().assign(status="skipped", value=None)
    names = {gpucheck.case_name(r): "no CUDA: torch 2.13.0+cpu is built without CUDA" for _, r in run.iterrows()}
    assert gpucheck.problems(run, names, [2**20], cuda=False) == []
    names[f"{H2D}('cuda', {2**20}, 'float32', 'C')"] = "t.cuda() refuses it: TypeError: nope"
    assert len(gpucheck.problems(run, names, [2**20], cuda=False)) == 1
    ran = a_gpu_run()
    assert any("ran on a box without CUDA" in p for p in gpucheck.problems(ran, names, [2**20], cuda=False))


def test_the_suites_ceilings_must_agree_with_a_plain_loop():
    plain = {"h2d_ceiling": 54.0, "d2h_ceiling": 50.0}
    assert gpucheck.against_plain({"h2d_ceiling": 50.0, "d2h_ceiling": 52.0}, plain) == []
    found = gpucheck.against_plain({"h2d_ceiling": 40.0}, {"h2d_ceiling": 54.0, "d2h_ceiling": 50.0})
    assert len(found) == 2 and "40.0 GB/s" in found[0] and "d2h_ceiling: the suite read nan" in found[1]


def test_asv_and_asv_runner_must_be_the_pinned_versions(monkeypatch):
    assert gpucheck.pin_problems() == [], "the test environment installs the pins"
    real = gpucheck.metadata.version
    monkeypatch.setattr(gpucheck.metadata, "version", lambda name: "0.3.3" if name == "asv_runner" else real(name))
    assert gpucheck.pin_problems() == ["asv_runner 0.3.3: the project pins asv_runner==0.3.2"]
