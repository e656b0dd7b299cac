"""The sweep across torch releases: its pairs, its orchestration, and the report of what changed.

The sweep itself builds CUDA builds of torch (4-6 GB each) and runs for an hour; here its parts run
on what they would see: asv's own expansion of asv.releases.json, a real `asv setup` of a pair that
cannot install, an orchestration whose build and measurement are replaced, and the report's
judgements on results and probes made from the recorded full run.
"""

import copy
import json
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import FULLRUN, PROBE, ROOT, fake_sweep
from packaging.version import Version

from bridge_bench import cli, outcomes
from bridge_bench.drive import asvrun, releases
from bridge_bench.read import results, sweep_folder
from bridge_bench.write import releases_report

CONFIG = ROOT / "asv.releases.json"


def test_pairs_are_asvs_matrix_minus_the_pairs_that_cannot_import():
    found = releases.pairs(CONFIG)
    versions = sorted({p.torch for p in found}, key=Version)
    assert len(versions) >= 7 and versions[0].startswith("2.0") and versions[-1].startswith("2.14")
    for p in found:
        # torch built against numpy 1.x (before 2.3) never meets numpy 2; every release gets numpy 1.26.4
        assert Version(p.numpy).major < 2 or Version(p.torch) >= Version("2.3")
    assert {p.torch for p in found if p.numpy == "1.26.4"} == set(versions)
    assert {p.torch for p in found if p.numpy.startswith("2.")} == {r for r in versions if Version(r) >= Version("2.3")}
    assert len({p.path for p in found}) == len(found)


def test_a_torch_filter_narrows_the_pairs_and_an_unknown_release_is_named():
    assert {(p.torch, p.numpy) for p in releases.pairs(CONFIG, ["2.4.1"])} == {("2.4.1", "1.26.4"), ("2.4.1", "2.2.6")}
    with pytest.raises(asvrun.AsvError, match="no environment with torch 9.9; its matrix has 2.0.1"):
        releases.pairs(CONFIG, ["9.9"])


def test_a_pairs_configuration_makes_asv_build_exactly_that_environment(tmp_path):
    from asv import environment
    from asv.config import Config

    pair = releases.pairs(CONFIG)[3]
    single = releases.single_config(CONFIG, pair, tmp_path)
    (env,) = environment.get_environments(Config.load(str(single)), None, verbose=False)
    assert env.name == pair.name and env.requirements == {"torch": pair.torch, "numpy": pair.numpy}
    conf = json.loads(single.read_text())
    assert Path(conf["results_dir"]) == ROOT / ".asv/releases/results"
    assert "--no-deps" in conf["install_command"][0]  # the pair's numpy stays the pair's


def test_a_pair_that_does_not_install_fails_naming_it(tmp_path):
    """A real `asv setup` asked for a torch release pip cannot find."""
    conf = json.loads(json.dumps(asvrun.load_config(CONFIG)))
    conf.update(env_dir=str(tmp_path / "env"), results_dir=str(tmp_path / "results"), html_dir=str(tmp_path / "html"),
                repo=str(ROOT), benchmark_dir=str(ROOT / "benchmarks"))
    conf["matrix"] = {"req": {"torch": ["0.0.1"], "numpy": ["1.26.4"]}}
    conf.pop("exclude")
    config = tmp_path / "asv.releases.json"
    config.write_text(json.dumps(conf))
    (pair,) = releases.pairs(config)
    single = releases.single_config(config, pair, tmp_path)
    with pytest.raises(releases.PairFailed, match=r"torch 0\.0\.1 \+ numpy 1\.26\.4 did not install .*full log"):
        releases.build(pair, single, tmp_path / "setup.log", tmp_path / "cache")


def test_the_sweep_goes_on_past_a_failed_pair_and_records_every_pair(tmp_path, monkeypatch, capsys):
    conf = asvrun.load_config(CONFIG)
    conf.update(env_dir=str(tmp_path / "env"), results_dir=str(tmp_path / "results"), repo=str(ROOT),
                benchmark_dir=str(ROOT / "benchmarks"))
    config = tmp_path / "asv.releases.json"
    config.write_text(json.dumps(conf))
    measured = []

    def build(pair, pair_config, log, cache):
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"Collecting torch=={pair.torch}\n")
        time.sleep(0.3)
        if pair.torch == "2.2.2":
            raise releases.PairFailed(f"{pair} did not install (no wheel)")
        pair.python.parent.mkdir(parents=True)
        return 1.0

    monkeypatch.setattr(releases, "build", build)
    monkeypatch.setattr(releases, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr(releases, "measure", lambda pair, *args: measured.append(pair.torch))
    monkeypatch.setattr(releases, "probe", lambda pair, out: None)
    outcomes = releases.sweep(config, "test-machine", ["2.0.1", "2.2.2", "2.4.1"])
    assert [(o.torch, o.numpy, o.status) for o in outcomes] == [
        ("2.0.1", "1.26.4", "ok"), ("2.2.2", "1.26.4", "failed"), ("2.4.1", "1.26.4", "ok"), ("2.4.1", "2.2.6", "ok")]
    assert measured == ["2.0.1", "2.4.1", "2.4.1"]
    assert "did not install (no wheel)" in outcomes[1].error
    # while it waits for a build, the sweep says what pip is at
    assert "releases: torch 2.0.1 + numpy 1.26.4: still building (Collecting torch==2.0.1)" in capsys.readouterr().err
    assert not any((tmp_path / "env").iterdir())  # every environment removed once measured
    # run again for one release: its pairs are replaced in the record, the others kept
    releases.sweep(config, "test-machine", ["2.2.2"])
    record = sweep_folder.read_record(tmp_path)
    assert sorted((r["torch"], r["numpy"]) for r in record) == [
        ("2.0.1", "1.26.4"), ("2.2.2", "1.26.4"), ("2.4.1", "1.26.4"), ("2.4.1", "2.2.6")]


# ------------------------------------------------------------------------------ the report

def _releases(scale: dict[str, float]) -> pd.DataFrame:
    """The recorded full run as three releases of torch with numpy 1.26.4 and one with numpy 2;
    `scale` multiplies the timed figures of a path in the newest release with numpy 1.26.4."""
    frame = results.load([FULLRUN]).frame
    frame = frame[frame["status"] == "ok"]
    parts = []
    for torch, numpy in (("2.0.1", "1.26.4"), ("2.2.2", "1.26.4"), ("2.4.1", "1.26.4"), ("2.4.1", "2.2.6")):
        part = frame.assign(torch=torch, numpy=numpy, release=torch, env=f"virtualenv-numpy{numpy}-torch{torch}")
        if (torch, numpy) == ("2.4.1", "1.26.4"):
            for path, factor in scale.items():
                hit = (part["path"] == path) & part["benchmark"].str.endswith("time_convert")
                part.loc[hit, ["value", "ci_low", "ci_high"]] *= factor
                part.loc[hit, "samples"] = part.loc[hit, "samples"].map(lambda s: [x * factor for x in s])
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_consecutive_releases_are_judged_by_compare_and_only_a_real_change_shows():
    frame = _releases({"from_numpy": 1.5})
    judged = releases_report.steps(frame)
    assert set(judged["step"]) == {"2.0.1 -> 2.2.2", "2.2.2 -> 2.4.1"}  # numpy 2 has one release: no step
    first = judged[judged["step"] == "2.0.1 -> 2.2.2"]
    assert (first["status"] == "same").all()  # identical figures: nothing flagged
    changed = releases_report.step_changes(judged)
    assert set(changed["step"]) == {"2.2.2 -> 2.4.1"} and set(changed["code"]) == {"torch.from_numpy(a)"}
    assert (changed["status"] == "regression").all() and (changed["ratio"].round(2) == 1.5).all()
    by_path = releases_report.step_by_path(changed)
    assert by_path.iloc[0]["worse"] == len(changed) and by_path.iloc[0]["better"] == 0


def test_cost_puts_releases_in_version_order_and_numpy_ratios_pair_one_release():
    frame = _releases({"from_numpy": 2.0})
    table = releases_report.cost(frame, 8, "1.26.4")
    assert list(table.columns) == ["2.0.1", "2.2.2", "2.4.1"]
    row = table.xs("from_numpy", level="path").iloc[0]
    assert row["2.4.1"] == pytest.approx(2 * row["2.2.2"])
    ratios = releases_report.numpy_ratios(frame, 8)
    assert list(ratios.columns) == ["code", "2.4.1"]
    # the newest release's numpy 1.26.4 figures were doubled, its numpy 2 ones not: ratio 0.5
    assert ratios.set_index("code").loc["torch.from_numpy(a)", "2.4.1"] == pytest.approx(0.5, rel=1e-3)


def _probe(versions: dict, change=None) -> outcomes.Probe:
    doc = outcomes.read(PROBE)
    cases = copy.deepcopy(doc.cases)
    if change:
        for case in cases:
            change(case)
    return outcomes.Probe(cases, versions, doc.size, outcomes.summary(cases))


def test_behaviour_changes_name_the_first_release_that_shows_them():
    def asarray_missing(case):
        if case["path"] == "asarray":
            case.update(outcome="n/a")

    def uint16_raises(case):
        if case["dtype"] == "uint16" and case["path"] == "from_numpy":
            case.update(outcome="raises", error_type="TypeError", error="can't convert np.ndarray of type uint16")

    found = {("2.0.1", "1.26.4"): _probe({"torch": "2.0.1", "numpy": "1.26.4"}, asarray_missing),
             ("2.2.2", "1.26.4"): _probe({"torch": "2.2.2", "numpy": "1.26.4"}, uint16_raises),
             ("2.4.1", "1.26.4"): _probe({"torch": "2.4.1", "numpy": "1.26.4"}, uint16_raises),
             ("2.4.1", "2.2.6"): _probe({"torch": "2.4.1", "numpy": "2.2.6"})}
    changes = releases_report.behaviour_changes(found)
    summary = releases_report.behaviour_summary(changes)
    asarray = changes[changes["path"] == "asarray"]
    assert set(asarray["to"]) == {"torch 2.2.2, numpy 1.26.4"} and set(asarray["before"]) == {". n/a"}
    uint16 = changes[(changes["path"] == "from_numpy")]
    # raises from 2.2.2 on with numpy 1.26.4 (one change, at 2.2.2), not with numpy 2 on 2.4.1
    assert set(zip(uint16["from"], uint16["to"])) == {("torch 2.0.1, numpy 1.26.4", "torch 2.2.2, numpy 1.26.4"),
                                                      ("torch 2.4.1, numpy 1.26.4", "torch 2.4.1, numpy 2.2.6")}
    row = summary[(summary["code"] == "torch.from_numpy(a)") & (summary["to"] == "torch 2.2.2, numpy 1.26.4")].iloc[0]
    assert row["after"] == "E raises" and row["dtypes"] == "uint16" and row["layouts"] != ""


def test_releases_report_without_results_is_one_line_naming_the_folder(tmp_path, capsys):
    args = ["releases-report", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")]
    assert cli.main(args) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"bridge-bench: error: {tmp_path / 'nothing'}: no such results folder; "
                   "`bridge-bench releases` makes one"]
    assert not (tmp_path / "out").exists()


def test_releases_report_end_to_end_from_a_sweeps_folders(tmp_path):
    results_dir = fake_sweep(tmp_path / "sweep")
    out = tmp_path / "report"
    assert cli.main(["releases-report", str(results_dir), "--out", str(out)]) == 0
    text = (out / "report.md").read_text()
    for title in ("What changed", "Cost at 8 B across releases", "Cost at 64 MiB across releases",
                  "Consecutive releases, judged by compare", "numpy 2.2.6 against numpy 1.26.4",
                  "Behaviour across releases"):
        assert f"## {title}" in text
    assert len(list((out / "images").glob("*.png"))) == 6
    cost = pd.read_csv(out / "tables" / "cost_call.csv", index_col=0)
    assert list(cost.columns) == ["code", "2.0.1", "2.2.2", "2.4.1"]
    # the same run under four labels: compare sees no change, the probe no change of outcome
    steps = pd.read_csv(out / "tables" / "steps.csv", index_col=0)
    assert steps["regression"].sum() == 0 and steps["improvement"].sum() == 0 and steps["same"].min() > 1000
    assert pd.read_csv(out / "tables" / "behaviour_cases.csv").empty


# ------------------------------------------------------------------------------ the former names

def test_the_former_command_names_run_the_same_commands_with_one_line_saying_so(tmp_path, capsys):
    """`history` and `history-report` are aliases of `releases` and `releases-report` until the next release."""
    parser = cli.build_parser()
    for old, new in (("history", "releases"), ("history-report", "releases-report")):
        assert vars(parser.parse_args([old])) == {**vars(parser.parse_args([new])), "command": old}
    results_dir = fake_sweep(tmp_path / "sweep")
    assert cli.main(["history-report", str(results_dir), "--out", str(tmp_path / "old")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert notes == ["bridge-bench: warning: `history-report` is deprecated and goes in the next release; "
                     "use `releases-report`"]
    assert cli.main(["releases-report", str(results_dir), "--out", str(tmp_path / "new")]) == 0
    assert "warning" not in capsys.readouterr().err
    assert (tmp_path / "old" / "report.md").read_text() == (tmp_path / "new" / "report.md").read_text()


def test_a_checkout_with_only_the_former_configuration_is_swept_with_it_and_told_so(tmp_path, monkeypatch, capsys):
    """Without --config, asv.history.json (the configuration's former name) is read where it is the only
    one, with a one-line note; once asv.releases.json exists, that one, silently."""
    swept = []
    monkeypatch.setattr(releases, "run", lambda config, *args: swept.append(config) or 0)
    monkeypatch.setattr(cli, "_require_torch", lambda: None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asv.history.json").write_text("{}")
    assert cli.main(["releases", "--machine", "m"]) == 0
    assert swept == [Path("asv.history.json")]
    assert capsys.readouterr().err.strip().splitlines() == [
        "bridge-bench: warning: no asv.releases.json; reading asv.history.json, its former name, which is read "
        "until the next release only"]
    (tmp_path / "asv.releases.json").write_text("{}")
    assert cli.main(["history", "--machine", "m"]) == 0
    assert swept[-1] == Path("asv.releases.json")
    assert "former name" not in capsys.readouterr().err
    assert cli.main(["releases", "--machine", "m", "--config", "other.json"]) == 0
    assert swept[-1] == Path("other.json")
    # the report's results folder likewise: a sweep made before the rename is still found
    (tmp_path / ".asv/history/results").mkdir(parents=True)
    assert sweep_folder.default(sweep_folder.RESULTS) == Path(".asv/history/results")
    (tmp_path / ".asv/releases/results").mkdir(parents=True)
    assert sweep_folder.default(sweep_folder.RESULTS) == Path(".asv/releases/results")


def test_the_sweep_and_the_private_runs_rewrite_a_configuration_the_same_way(tmp_path):
    """One rewrite (asvrun.rewrite_config): both make the repo and benchmarks absolute; a private run's
    outputs go under its folder, a pair's stay where the sweep's configuration puts them."""
    private = json.loads(asvrun.private_config(CONFIG, tmp_path / "private").read_text())
    pair = releases.pairs(CONFIG)[0]
    single = json.loads(releases.single_config(CONFIG, pair, tmp_path).read_text())
    for conf in (private, single):
        assert conf["repo"] == str(ROOT) and conf["benchmark_dir"] == str(ROOT / "benchmarks")
    assert {private[k] for k in asvrun.OUTPUTS} == {str(tmp_path / "private" / v) for v in asvrun.OUTPUTS.values()}
    assert private["matrix"] == asvrun.load_config(CONFIG)["matrix"] and "exclude" in private
    assert single["results_dir"] == str(ROOT / ".asv/releases/results") and "exclude" not in single
    assert single["matrix"] == {"req": {"torch": [pair.torch], "numpy": [pair.numpy]}}


def test_a_probe_that_fails_names_its_last_line_and_runs_the_probe_module(tmp_path):
    python = tmp_path / "env" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text('#!/bin/sh\necho "Traceback (most recent call last):" >&2\necho "ran: $*" >&2\n\nexit 1\n')
    python.chmod(0o755)
    pair = releases.Pair("fake", "2.0.1", "1.26.4", tmp_path / "env")
    said = r"semantics probe failed \(ran: -m bridge_bench\.measure\.semantics\)"
    with pytest.raises(releases.PairFailed, match=said):
        releases.probe(pair, tmp_path / "semantics" / "fake.json")
    assert not (tmp_path / "semantics" / "fake.json").exists()
