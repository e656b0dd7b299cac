"""What a run reads of the machine in every round: the free cores (bridge_bench.measure.cores), the time
of a fixed call (bridge_bench.measure.cpu) and the memory bandwidth (bridge_bench.measure.bandwidth); what each
measures, and how a run's rounds add up."""

import shutil
import time

import pytest

from bridge_bench.measure import bandwidth, cores, cpu, record, timing


def test_work_that_waits_runs_side_by_side_and_work_that_holds_the_gil_does_not():
    """Two threads that sleep overlap whatever else the machine runs; two that hold the GIL take
    turns. The reading tells the two apart on a busy machine too."""
    assert cores.parallel_speedup(2, 0.05, lambda: time.sleep(0.003)) > 1.6
    assert cores.parallel_speedup(2, 0.05, lambda: sum(range(30000))) < 1.3
    assert cores.parallel_speedup(1) == 1.0


def test_the_default_work_reads_between_one_thread_and_all_of_them():
    assert 0.5 < cores.parallel_speedup(2, 0.05) < 2.5


READERS = [(cores, "parallel_speedup", lambda: cores.run_reading(2)),
           (bandwidth, "memory_bandwidth", bandwidth.run_reading)]


@pytest.mark.parametrize("module, measure, run_reading", READERS, ids=["cores", "bandwidth"])
def test_a_run_reports_the_median_of_its_rounds_readings(monkeypatch, module, measure, run_reading):
    """Every round adds a reading to the run's record; the track reports the median so far, and
    a line another process has half written is skipped."""
    monkeypatch.setenv(record.RUN_VARIABLE, f"test-readings-{time.monotonic_ns()}")
    readings = iter([1.9, 1.0, 1.8])
    monkeypatch.setattr(module, measure, lambda *args: next(readings))
    folder = record.record_folder()
    try:
        assert run_reading() == 1.9
        with (folder / module.READINGS).open("a") as out:
            out.write("1.8e")  # half written
        (folder / module.READINGS).write_text((folder / module.READINGS).read_text() + "\n")
        assert run_reading() == pytest.approx(1.45)
        assert run_reading() == 1.8
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_memory_bandwidth_is_bytes_over_the_median_copy(monkeypatch):
    """GB/s = bytes / the median copy's seconds: a clock that advances 2, 1 and 3 ms per copy
    reads 2 ms, whatever the machine is doing."""
    steps = iter([0.0, 0.002, 1.0, 1.001, 2.0, 2.003])
    monkeypatch.setattr(bandwidth.timeit, "default_timer", lambda: next(steps))
    assert bandwidth.memory_bandwidth(0.0, size=4 * 2**20) == pytest.approx(4 * 2**20 / 0.002 / 1e9)


def test_the_call_time_is_read_as_a_cases_figure_in_nanoseconds(monkeypatch):
    """Each window keeps its fastest batch, as a look does; the reading is the median of the windows
    within 1.2x of the fastest, in ns: windows in a slow spell are set aside."""
    windows = iter([1.1e-7, 1e-7, 2.1e-7, 1.05e-7, 2.0e-7])
    monkeypatch.setattr(cpu.timing, "time_window",
                        lambda call, number, **kw: timing.Window(next(windows), number, 3))
    monkeypatch.setattr(cpu.timing, "repeat_for", lambda measure, seconds: [measure() for _ in range(5)])
    assert cpu.call_time(0.0) == pytest.approx(105.0)


def test_a_run_reads_its_call_time_over_its_rounds_as_a_cases_figure(monkeypatch):
    """Rounds of a heavy noisy stretch read ~210 ns or ~400 ns (docs/calibration.md): the run's value
    is the median of the rounds within 1.2x of the fastest, as for a case, not their median."""
    monkeypatch.setenv(record.RUN_VARIABLE, f"test-call-time-{time.monotonic_ns()}")
    readings = iter([207.0, 385.0, 392.0, 213.0, 452.0, 451.0, 216.0])
    monkeypatch.setattr(cpu, "call_time", lambda *args: next(readings))
    try:
        reported = [cpu.run_reading() for _ in range(7)]
        assert reported[0] == 207.0 and reported[-1] == 213.0
    finally:
        shutil.rmtree(record.record_folder(), ignore_errors=True)


def test_a_real_call_time_is_a_call_from_python_into_c():
    """Between a bare C call and a slow Python function: catches a reading in the wrong unit."""
    assert 10 < cpu.call_time(0.02) < 10_000


def test_a_real_reading_is_a_memory_bandwidth():
    """From well under a memory bus to well over one: catches a reading in the wrong unit."""
    assert 0.2 < bandwidth.memory_bandwidth(0.02, size=8 * 2**20) < 500
