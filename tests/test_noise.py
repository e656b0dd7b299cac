"""bridge-bench noise: the noise figures (docs/calibration.md) from identical runs, and the paired mode."""

import subprocess
import sys
from pathlib import Path

import pytest

from bridge_bench import catalogue, cli, suite
from bridge_bench.drive import asvrun
from bridge_bench.read import noise, results
from conftest import FULLRUN

ROOT = Path(__file__).resolve().parents[1]


def test_the_gate_on_a_run_against_itself_and_against_known_slowdowns(recorded_run):
    """What the gate catches of a run against itself slowed in every look by a known factor: the
    recorded full run (fixed data, so exact figures) and the shared run of this machine (its looks
    are whatever the machine gave: only what does not depend on their spread)."""
    summary, false = noise.flags_between([noise.load_run(FULLRUN)] * 2, slowdowns=(1.05, 1.15, 1.25, 1.5))
    assert len(false) == 0 and (summary["false flags"] == 0).all()
    assert summary.loc["call-bound", "1.15x caught"] == 1.0, summary
    assert summary.loc["in-cache", "1.25x caught"] == 1.0, summary
    assert (summary.loc[["call-bound", "in-cache", "memory-bound"], "1.05x caught"] == 0.0).all(), "inside every factor"
    # A copy of 64 MiB whose six looks spread 2x between two modes cannot show a 1.5x slowdown by
    # Mann-Whitney at p = 0.01 (docs/methodology.md): the recorded run's power, kept from falling.
    assert summary.loc["memory-bound", "1.5x caught"] >= 0.79, summary
    run = noise.load_run(recorded_run.results)
    summary, false = noise.flags_between([run, run], slowdowns=(1.05, 1.25))
    assert len(false) == 0 and (summary["false flags"] == 0).all()
    assert summary.loc["call-bound", "1.25x caught"] == 1.0 and summary.loc["call-bound", "1.05x caught"] == 0.0


def test_a_scaled_run_is_slower_in_every_look_and_nothing_else():
    import pandas as pd

    frame = pd.DataFrame({"benchmark": [f"s.A.{suite.TIMED}", f"s.A.{suite.FAULTS}"], "samples": [[1.0, 2.0], None],
                          "value": [1.0, 5.0], "ci_low": [1.0, None], "ci_high": [2.0, None], "q25": [1.0, None],
                          "q75": [2.0, None]})
    slow = noise.scaled(frame, 1.5)
    assert slow.loc[0, "samples"] == [1.5, 3.0] and slow.loc[0, "value"] == 1.5
    assert slow.loc[1, "value"] == 5.0 and frame.loc[0, "samples"] == [1.0, 2.0]


def test_looks_per_case_are_counted_by_class():
    run = noise.load_run(FULLRUN)
    table = noise.looks([run, run.assign(samples=run["samples"].map(lambda s: s[:4] if isinstance(s, list) else s))])
    assert set(table.loc[0].index) == {"call-bound", "in-cache", "memory-bound"}
    assert table.loc[(0, "call-bound"), "min"] == 12 and table.loc[(1, "call-bound"), "max"] == 4
    assert table.loc[(0, "memory-bound"), "min"] < 12, "slow cases took fewer looks in the recorded run"
    assert table.loc[0, "cases"].sum() == run["samples"].map(lambda s: isinstance(s, list)).sum()


def test_cli_prints_the_figures_and_refuses_a_single_run(recorded_run, tmp_path, capsys):
    assert cli.main(["noise", str(recorded_run.results), str(recorded_run.results)]) == 0
    out = capsys.readouterr().out
    assert "False flags: none" in out and "torch.from_numpy(a)" in out and "caught" in out
    assert "Looks per case" in out
    assert cli.main(["noise", str(recorded_run.results)]) == 2
    assert cli.main(["noise", str(tmp_path / "nope"), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "two or more" in err[0] and "nope" in err[1]


@pytest.mark.slow
def test_paired_runs_alternate_two_environments_and_compare_them(tmp_path):
    out = tmp_path / "paired"
    bench = asvrun.bench_regex(suite.host_timing("bench_sizes", catalogue.NUMPY_TO_TORCH).name,
                               ("from_numpy", 8, "float32", "C"))
    proc = subprocess.run([sys.executable, "-m", "bridge_bench.cli", "paired", "--bench", bench, "--rounds", "2",
                           "--out", str(out), "--candidate-env", "OMP_NUM_THREADS=1"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode in (0, 1), proc.stderr
    assert "paired: round 2 of 2: baseline" in proc.stderr and "1 paired cases" in proc.stdout
    frames = {side: results.load([out / side / "results"]).frame for side in ("baseline", "candidate")}
    for side, frame in frames.items():
        (row,) = frame[frame["path"] == "from_numpy"].itertuples()
        assert len(row.samples) == 2, f"{side}: one look per alternation"
    assert set(frames["candidate"]["torch_threads"]) == {"1"} and set(frames["baseline"]["torch_threads"]) != {"1"}


def test_paired_refuses_bad_input_before_running_anything(tmp_path, capsys):
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("mine")
    for args, named in ((["--out", str(used)], "not empty"),
                        (["--out", str(tmp_path / "new"), "--baseline-env", "OMP"], "'OMP'"),
                        (["--out", str(tmp_path / "new"), "--candidate-python", "/no/python"], "/no/python")):
        assert cli.main(["paired", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and named in err[0]
    assert (used / "x").read_text() == "mine" and not (tmp_path / "new").exists()


def test_tight_loops_give_a_time_per_path_and_leave_out_what_cannot_run():
    """`fidelity.tight_loops` (a fresh interpreter's loops, as `noise --tight-loop` reads them): the
    ids that run give per-call times; a CUDA path without a GPU is left out, not a failed command."""
    import torch

    from bridge_bench.drive import fidelity

    ids = ["from_numpy", "numpy"] + ([] if torch.cuda.is_available() else ["to_cuda"])
    loops = fidelity.tight_loops(ids)
    assert set(loops) == {"from_numpy", "numpy"}
    assert all(50e-9 < s < 50e-6 for s in loops.values())
