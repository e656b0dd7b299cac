"""The free-cores reading (bridge_bench.cores): what it measures, and how a run's rounds add up."""

import re
import shutil
import time

import pytest

from bridge_bench import asvrun, cores, sampling, suite


def test_work_that_waits_runs_side_by_side_and_work_that_holds_the_gil_does_not():
    """Two threads that sleep overlap whatever else the machine runs; two that hold the GIL take
    turns. The reading tells the two apart on a busy machine too."""
    assert cores.parallel_speedup(2, 0.05, lambda: time.sleep(0.003)) > 1.6
    assert cores.parallel_speedup(2, 0.05, lambda: sum(range(30000))) < 1.3
    assert cores.parallel_speedup(1) == 1.0


def test_the_default_work_reads_between_one_thread_and_all_of_them():
    assert 0.5 < cores.parallel_speedup(2, 0.05) < 2.5


def test_a_run_reports_the_median_of_its_rounds_readings(monkeypatch):
    """Every round adds a reading to the run's record; the track reports the median so far, and
    a line another process has half written is skipped."""
    monkeypatch.setenv(sampling.RUN_VARIABLE, f"test-cores-{time.monotonic_ns()}")
    readings = iter([1.9, 1.0, 1.8])
    monkeypatch.setattr(cores, "parallel_speedup", lambda threads: next(readings))
    folder = sampling.record_folder()
    try:
        assert cores.run_reading(2) == 1.9
        with (folder / cores.READINGS).open("a") as out:
            out.write("1.8e")  # half written
        (folder / cores.READINGS).write_text((folder / cores.READINGS).read_text() + "\n")
        assert cores.run_reading(2) == pytest.approx(1.45)
        assert cores.run_reading(2) == 1.8
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("bench", [[], ["bench_sizes", "bench_context"]])
def test_every_round_reads_the_free_cores_again(bench):
    """Rounds after the first run the timed benchmarks and the free-cores track, nothing else."""
    again = asvrun.timed_only(bench)
    picked = {b.name for b in suite.BENCHMARKS if any(re.search(r, b.name) for r in again)}
    assert suite.PARALLEL_SPEEDUP.name in picked
    assert suite.TORCH_THREADS.name not in picked and "bench_sizes.NumpyToTorch.track_faults" not in picked
    assert "bench_sizes.NumpyToTorch.time_convert" in picked
