"""The torch pin lives in asv.conf.json's matrix only; dev.py, the command line and the GPU workflow
read it (bridge_bench/pins.py). These fail when one of them spells the version again."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from bridge_bench import pins

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / ".github" / "workflows" / "gpu.yml"


@pytest.mark.parametrize("config", ["asv.conf.json", "asv.releases.json"])
def test_the_standard_library_reads_a_configuration_as_asv_does(config):
    from asv.util import load_json

    assert pins.read_config(ROOT / config) == load_json(str(ROOT / config), js_comments=True)


def test_comments_go_and_strings_stay(tmp_path):
    text = '{\n  // a comment "with quotes"\n  "url": "https://x/y", /* block\n */ "s": "a \\" // b"\n}'
    assert pins.strip_comments(text).count("//") == 2
    config = tmp_path / "asv.conf.json"
    config.write_text(text)
    assert pins.read_config(config) == {"url": "https://x/y", "s": 'a " // b'}


def test_the_pin_is_one_release_of_the_matrix(tmp_path):
    assert re.fullmatch(r"\d+\.\d+\.\d+", pins.torch_release())
    config = tmp_path / "asv.conf.json"
    config.write_text('{"matrix": {"req": {"torch": ["2.12.0", "2.13.0"]}}}')
    with pytest.raises(ValueError, match="must pin one torch release"):
        pins.torch_release(config)


def test_dev_py_installs_the_pin_by_default():
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_BENCH_TORCH"}
    code = "import dev; print(dev.TORCH)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"torch=={pins.torch_release()}"


def test_the_missing_torch_message_names_the_pin():
    assert pins.install_hint() == f"pip install torch=={pins.torch_release()}"


@pytest.mark.parametrize("file", ["dev.py", "bridge_bench/cli.py", ".github/workflows/gpu.yml"])
def test_no_other_file_spells_the_pin(file):
    """No pip requirement of a torch release anywhere; dev.py and the workflow name no release the
    pin could drift from (the command line's help may show a filter with a version as an example)."""
    text = (ROOT / file).read_text()
    assert not re.search(r"torch==\d", text), f"{file} pins torch itself; read bridge_bench.pins"
    if not file.endswith("cli.py"):
        assert pins.torch_release() not in text, f"{file} names the pinned release {pins.torch_release()}"


def test_the_gpu_workflow_tests_the_pin_against_the_release_before_it():
    """Its default matrix: an older release, kept on purpose for the oldest -> newest comparison, and
    the pin, read when the workflow runs."""
    plan = yaml.safe_load(GPU.read_text())["jobs"]["plan"]
    run = next(s for s in plan["steps"] if s.get("id") == "plan")["run"]
    assert "pin=$(python3 -m bridge_bench.pins)" in run
    (older,) = re.findall(r'TORCH_INPUT:-\[\\"([^"\\]+)\\", \\"\$pin\\"\]', run)
    assert Version(older) < Version(pins.torch_release())
    assert plan["permissions"] == {"contents": "read"}
