"""What runs in another interpreter is a module with a `main()`, run as `python -m`, not a program
kept in a string: the semantics probe (the releases sweep), the plain-loop ceilings and the GPU's
users (gpu-check, the GPU workflow), the tight loops (noise --tight-loop; tests/test_noise.py runs them)."""

import subprocess
import sys

import pytest

from bridge_bench.measure import devices, semantics, tightloop


def _module(*args):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", [devices, semantics, tightloop], ids=lambda m: m.__name__)
def test_each_has_a_main(module):
    assert callable(module.main)


def test_devices_refuses_an_unknown_question():
    proc = _module("bridge_bench.measure.devices", "what")
    assert proc.returncode != 0 and "usage: python -m bridge_bench.measure.devices ceilings|users" in proc.stderr


def test_devices_lists_the_gpus_users_one_a_line(monkeypatch, capsys):
    monkeypatch.setattr(devices, "gpu_users", lambda: ["12 python 300MiB", "13 other 1MiB"])
    devices.main(["users"])
    assert capsys.readouterr().out == "12 python 300MiB\n13 other 1MiB\n"


def test_semantics_refuses_arguments_it_does_not_take():
    proc = _module("bridge_bench.measure.semantics", "--json")
    assert proc.returncode != 0 and "usage: python -m bridge_bench.measure.semantics [--worker]" in proc.stderr


def test_tight_loops_print_null_for_a_path_that_cannot_run_here(monkeypatch, capsys):
    def refuse(pid):
        raise NotImplementedError("no CUDA")

    monkeypatch.setattr(tightloop, "tight_loop", refuse)
    tightloop.main(["cuda"])
    assert capsys.readouterr().out == '{"path": "cuda", "seconds": null}\n'
