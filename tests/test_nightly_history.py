"""The nightly gate against a history (`compare --history N`), on nights made from one real run.

Each night is the committed real run of the same commit one day later (as the workflow keeps them:
one file per night, named by its date), its timed looks scaled by a known factor: a slow drift,
one slow night, one lucky night. The comparisons are then exact.
"""

import json
import shutil
import subprocess
import sys

import pytest

from bridge_bench import suite
from bridge_bench.read import compare, gate
from bridge_bench.write import comparison
from conftest import FULLRUN, result_file

DAY_MS = 24 * 3600 * 1000


def nights(folder, factors, first=0):
    """One result file per night in `folder` (a results directory), night k's timed looks scaled by
    `factors[k]`; returns the files."""
    shutil.copytree(FULLRUN, folder, dirs_exist_ok=True)
    template = result_file(FULLRUN)
    (folder / template.parent.name / template.name).unlink()
    files = []
    for k, factor in enumerate(factors, first):
        data = json.loads(template.read_text())
        columns = data["result_columns"]
        for row in data["results"].values():  # a night later: when each benchmark started
            at = columns.index("started_at")
            row[at] = None if row[at] is None else row[at] + k * DAY_MS
        for name, row in data["results"].items():
            if not suite.is_timed(name):
                continue
            for column in ("result", "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75", "samples"):
                at = columns.index(column)
                if at < len(row) and row[at] is not None:
                    row[at] = [[v * factor for v in x] if isinstance(x, list) else None if x is None else x * factor
                               for x in row[at]]
        out = folder / template.parent.name / f"night-{k:02d}-{template.name}"
        out.write_text(json.dumps(data))
        files.append(out)
    return files


def timed(result):
    return result.cases[result.cases["kind"].isin(list(gate.FACTORS))]


def test_a_drift_of_5_percent_a_night_is_caught_against_the_history_not_night_to_night(tmp_path):
    *history, tonight = nights(tmp_path / "results", [1.05**k for k in range(6)])
    yesterday = compare.compare(compare.Side(history[-1]), compare.Side(tonight))
    assert timed(yesterday)["status"].eq("same").all(), "5 % a night stays inside every factor"
    gated = compare.compare(compare.Side(tmp_path / "results", history=5), compare.Side(tonight))
    call_bound = timed(gated)[timed(gated)["kind"] == "call-bound"]
    # the baseline is each case's second best of the five nights before: night 1, 1.05**4 = 1.22x ago
    assert call_bound["ratio"].round(4).eq(round(1.05**4, 4)).all()
    assert len(call_bound) > 500 and call_bound["status"].eq("regression").all()
    assert "second best of the newest 5 runs" in comparison.render_text(gated)


def test_one_slow_night_and_one_lucky_night_set_no_bar(tmp_path):
    *history, tonight = nights(tmp_path / "results", [1.0, 1.0, 2.0, 0.8, 1.0, 1.0])
    lucky = compare.compare(compare.Side(history[3]), compare.Side(tonight))
    assert (timed(lucky)["status"] == "regression").sum() > 500, "against the lucky night alone, all is slower"
    gated = compare.compare(compare.Side(tmp_path / "results", history=5), compare.Side(tonight))
    assert timed(gated)["status"].eq("same").all()
    assert timed(gated)["ratio"].round(6).eq(1.0).all()


def test_tonight_in_the_same_folder_is_not_its_own_baseline(tmp_path):
    *_, tonight = nights(tmp_path / "results", [1.0, 1.0, 1.0, 1.3])
    gated = compare.compare(compare.Side(tmp_path / "results", history=3), compare.Side(tonight))
    assert timed(gated)["ratio"].round(6).eq(1.3).all()


def test_a_history_of_several_machines_is_refused_by_name(tmp_path):
    nights(tmp_path / "results", [1.0, 1.0])
    other = tmp_path / "results" / "other-machine"
    other.mkdir()
    data = json.loads(result_file(FULLRUN).read_text())
    data["params"]["machine"] = "other-machine"
    (other / result_file(FULLRUN).name).write_text(json.dumps(data))
    with pytest.raises(gate.CompareError, match="one machine and environment"):
        compare.compare(compare.Side(tmp_path / "results", history=3), compare.Side(FULLRUN))


def test_cli_history_gate_exit_codes(tmp_path):
    *_, tonight = nights(tmp_path / "results", [1.05**k for k in range(6)])

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bridge_bench.cli", "compare", *map(str, args)],
                              capture_output=True, text=True)

    assert run(tmp_path / "results", tonight, "--history", "5").returncode == 1
    refused = run(tmp_path / "results", tonight, "--history", "0")
    assert refused.returncode == 2 and "--history 0" in refused.stderr


def with_transfers(file, seconds: float) -> None:
    """Night `file` as a GPU box would have it: every case of bench_cuda.HostToCuda timed at `seconds`
    in five looks (the recorded run is of a machine without CUDA)."""
    data = json.loads(file.read_text())
    columns = data["result_columns"]
    row = data["results"]["bench_cuda.HostToCuda.time_convert"]
    row.extend([None] * (len(columns) - len(row)))
    cases = len(row[columns.index("result")])
    row[columns.index("result")] = [seconds] * cases
    row[columns.index("samples")] = [[seconds * (1 + k / 100) for k in range(5)] for _ in range(cases)]
    for column in ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75"):
        row[columns.index(column)] = [seconds] * cases
    file.write_text(json.dumps(data))


@pytest.mark.parametrize("before", [2, 3])
def test_cuda_cases_are_gated_once_three_nights_of_the_machine_exist(tmp_path, before):
    *history, tonight = nights(tmp_path / "results", [1.0] * before + [2.0])
    for night in history:
        with_transfers(night, 1e-3)
    with_transfers(tonight, 2e-3)
    gated = compare.compare(compare.Side(tmp_path / "results", history=7), compare.Side(tonight))
    transfers = gated.cases[gated.cases["sweep_base"] == "cuda"]
    assert len(transfers) > 20 and transfers["ratio"].round(6).eq(2.0).all()
    host = timed(gated)
    host = host[host["sweep_base"] != "cuda"]
    assert "new" not in set(host["status"]) and (host["status"] == "regression").mean() > 0.99, "gated from night one"
    if before < gate.CUDA_NIGHTS:
        assert transfers["status"].eq("new").all() and gated.summary()["new"] == len(transfers)
        assert f"{len(transfers)} new (CUDA, under 3 nights: not gated)" in comparison.render_text(gated)
    else:
        assert transfers["status"].eq("regression").all() and not gated.summary()["new"]
