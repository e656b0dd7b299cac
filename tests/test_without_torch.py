"""The reading side runs where torch is not installed (the workflow's publish job installs none).

Each check runs `bridge-bench` in a fresh interpreter in which `import torch` fails, on the
committed real run: the report, compare, noise and the releases report must work, and a command that runs conversions
must say in one line that torch is missing.
"""

import subprocess
import sys

from conftest import FULLRUN as REAL
from conftest import fake_sweep

NO_TORCH = ("import sys; sys.modules['torch'] = None; from bridge_bench import cli; "
            "code = cli.main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules or sys.modules['torch'] is None, 'torch was imported'; "
            "sys.exit(code)")


def bridge_bench(*args):
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], capture_output=True, text=True)


def test_report_compare_and_noise_need_no_torch(tmp_path):
    report = bridge_bench("report", REAL, "--out", tmp_path / "report")
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "index.html").stat().st_size > 0
    compared = bridge_bench("compare", REAL, REAL)
    assert compared.returncode == 0 and "0 regressions" in compared.stdout, compared.stderr
    noise = bridge_bench("noise", REAL, REAL)
    assert noise.returncode == 0 and "False flags: none" in noise.stdout, noise.stderr
    listed = bridge_bench("list")
    assert listed.returncode == 0 and "torch.from_numpy(a)" in listed.stdout
    sweep = bridge_bench("releases-report", fake_sweep(tmp_path / "sweep"), "--out", tmp_path / "releases")
    assert sweep.returncode == 0, sweep.stderr
    assert (tmp_path / "releases" / "report.md").stat().st_size > 0


def test_a_command_that_converts_says_torch_is_missing():
    for args in (["semantics", "--path", "from_numpy"], ["noise", REAL, REAL, "--tight-loop"]):
        result = bridge_bench(*args)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("bridge-bench: error: torch is not installed") and "pip install torch==" in line


def test_the_nightly_gate_needs_no_torch(tmp_path):
    """`compare --history` reads headers (ijson) and then asv's reader: neither brings torch in."""
    import shutil

    from conftest import result_file

    results = shutil.copytree(REAL, tmp_path / "results")
    tonight = result_file(results)
    shutil.copy(tonight, tonight.with_name(f"2026-12-01-1-{tonight.name}"))
    gated = bridge_bench("compare", results, tonight, "--history", "7")
    assert gated.returncode == 0 and "second best of the newest 7 runs" in gated.stdout, gated.stderr
