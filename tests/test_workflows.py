"""The GitHub workflows: valid against GitHub's schema, no high-severity zizmor finding, and wired as designed.

check-jsonschema and zizmor both run offline (the `test` extra installs them from PyPI). Where one
is missing, the test that needs it skips, or fails on CI (`conftest.needs`).
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bridge_bench import cli
from conftest import needs

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def _tool(name):
    exe = BIN / name if (BIN / name).exists() else shutil.which(name)
    needs(name, bool(exe), "it is in the test extra (pip install -e '.[test]')")
    return str(exe)


def _gpu():
    return yaml.safe_load((ROOT / ".github" / "workflows" / "gpu.yml").read_text())


def test_a_missing_tool_fails_on_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"no-such-tool is not installed: apt-get install it \(CI installs"):
        needs("no-such-tool", False, "apt-get install it")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="no-such-tool is not installed: apt-get install it"):
        needs("no-such-tool", False, "apt-get install it")
    needs("no-such-tool", True, "apt-get install it")


def test_there_are_workflows():
    assert any(w.name == "gpu.yml" for w in WORKFLOWS)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_against_githubs_schema(workflow):
    proc = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(workflow)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_zizmor_finds_nothing_of_high_severity(workflow):
    proc = subprocess.run([_tool("zizmor"), "--offline", "--format", "json", str(workflow)],
                          capture_output=True, text=True)
    findings = json.loads(proc.stdout)
    high = [f["ident"] for f in findings if f["determinations"]["severity"] == "High"]
    assert not high, high


def test_every_action_is_pinned_to_a_commit():
    for workflow in WORKFLOWS:
        for ref in re.findall(r"uses:\s*(\S+)", workflow.read_text()):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"{workflow.name}: {ref} is not pinned by SHA"


def test_gpu_workflow_runs_nightly_and_on_demand_on_a_fleet_of_self_hosted_gpus():
    wf = _gpu()
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as True
    assert "schedule" in on and "workflow_dispatch" in on
    assert wf["permissions"] == {}
    bench = wf["jobs"]["bench"]
    assert bench["runs-on"][:2] == ["self-hosted", "gpu"]
    matrix = bench["strategy"]["matrix"]
    assert set(matrix) == {"gpu", "torch"}, "a matrix of runners x torch versions"
    assert any("upload-artifact" in s.get("uses", "") for s in bench["steps"])


def test_publish_job_merges_gates_against_the_history_and_publishes_every_night():
    wf = _gpu()
    publish = wf["jobs"]["publish"]
    assert "bench" in publish["needs"] and publish["permissions"] == {"contents": "read"}
    runs = "\n".join(s.get("run", "") for s in publish["steps"])
    restore = next(s for s in publish["steps"] if s.get("id") == "history")
    assert "scripts/store-night restore" in restore["run"] and "continue-on-error" not in restore, \
        "a failed restore fails the job; only an absent branch (state=absent) goes on"
    assert publish["outputs"]["history"] == "${{ steps.history.outputs.state }}"
    gate = next(s for s in publish["steps"] if "--history 7" in s.get("run", ""))
    assert "steps.history.outputs.state == 'present'" in gate["if"]
    assert "bridge-bench ceilings tonight" in runs
    assert "bridge-bench compare history/results tonight --history 7" in runs and 'exit "$status"' in runs
    assert "*) status=1" in runs, "an exit code other than 0, 1, 2 (a bug) fails the gate"
    assert "scripts/store-night stage tonight --night" in runs, "each night its own result files"
    assert "asv publish" in runs and "bridge-bench report .asv/results --out report" in runs
    assert any("upload-pages-artifact" in s.get("uses", "") for s in publish["steps"])
    uploads = [s["with"] for s in publish["steps"] if "upload-artifact@" in s.get("uses", "")]
    assert [u["name"] for u in uploads] == ["night"], "tonight travels to `store`, not the whole history"


def test_the_history_is_stored_and_the_dashboard_deployed_with_the_least_permissions():
    wf = _gpu()
    jobs = wf["jobs"]
    store, deploy = jobs["store"], jobs["deploy"]
    assert store["permissions"] == {"contents": "write"} and "schedule" in store["if"]
    assert "needs.publish.outputs.history" in store["if"], "never after a failed restore"
    push = store["steps"][-1]
    assert push["run"].startswith("python3 scripts/store-night push night ") and '--restored "$RESTORED"' in push["run"]
    assert push["env"]["RESTORED"] == "${{ needs.publish.outputs.history }}"
    assert "--force" not in (ROOT / ".github" / "workflows" / "gpu.yml").read_text(), "the history is never forced"
    downloads = [s["with"]["name"] for s in store["steps"] if "download-artifact@" in s.get("uses", "")]
    assert downloads == ["night"], "tonight's files, staged by `publish`"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert any("deploy-pages" in s.get("uses", "") for s in deploy["steps"])
    assert all(job.get("permissions") is not None for job in jobs.values() if job is not jobs["plan"])


def test_every_bridge_bench_command_the_workflow_calls_exists():
    runs = "\n".join(s.get("run", "") for job in _gpu()["jobs"].values() for s in job["steps"])
    called = set(re.findall(r'bridge-bench"? (\w+)', runs))
    assert called >= {"machine", "run", "report", "compare"}
    for command in called:
        with pytest.raises(SystemExit) as exit_:
            cli.build_parser().parse_args([command, "--help"])
        assert exit_.value.code == 0, command


def test_a_bench_job_cannot_lose_its_results_and_measures_one_idle_gpu():
    bench = _gpu()["jobs"]["bench"]
    steps = {s.get("name", s.get("uses", "")): s for s in bench["steps"]}
    suite_step = steps["The whole suite (host and CUDA)"]
    timed = [s for s in bench["steps"] if "run" in s]
    assert all("timeout-minutes" in s for s in timed), "every step has its own timeout"
    assert sum(s["timeout-minutes"] for s in timed) < bench["timeout-minutes"], \
        "the steps together end before the job is cancelled, so the upload still runs"
    upload = next(s for s in bench["steps"] if "upload-artifact@" in s.get("uses", ""))
    assert upload["if"] == "${{ !cancelled() }}", "a suite that overran still uploads what it wrote"
    order = list(steps)
    idle = next(name for name in order if "-m bridge_bench.measure.devices users" in steps[name].get("run", ""))
    assert order.index(idle) < order.index(suite_step["name"]) and "exit 1" in steps[idle]["run"]
    runs = "\n".join(s["run"] for s in timed)
    assert 'CUDA_VISIBLE_DEVICES=${GPU_INDEX:-0}' in runs and "device_count() == 1" in runs, "one GPU per job"
