"""`bridge-bench gpu-check` (and scripts/gpu-check, its wrapper for bare GPU boxes) on a machine without
CUDA: its selection, its bad-input exits, and a clean all-skip run."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bridge_bench import catalogue, devices, gpucheck

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu-check"
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT)


def test_selection_is_the_reduced_float32_size_set_the_ceilings_and_the_context():
    regexes = [re.compile(r) for r in gpucheck.bench_regexes(devices.CHECK_SIZES)]

    def selected(name):
        return any(r.search(name) for r in regexes)

    assert selected("bench_cuda.HostToCuda.time_convert('cuda', 65536, 'float32', 'C')")
    assert selected("bench_cuda.CudaToHost.time_convert('to_cpu_nb', 1073741824, 'float32', 'C')")
    assert selected("bench_cuda.PinMemoryFirst.time_first_pin('pin_memory_first', 8, 'float32', 'C')")
    assert selected("bench_cuda.Ceilings.track_bandwidth('h2d_ceiling', 268435456, 'float32', 'C')")
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
    cases = len(per_size) * len(devices.CHECK_SIZES) + 2  # every transfer (and the first pin) per size, ceilings
    assert f"CUDA cases: 0 ok, {cases} skipped, 0 failed" in proc.stdout
    assert "CUDA-marked tests: exit 0" in proc.stdout
