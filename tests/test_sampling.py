"""The timing machinery: windows of bare-call batches, children that crash or hang, the run's record
of looks, layout randomization and the deterministic counts.

No assertion here depends on how fast the machine is: times are only bounded from below (a call
that sleeps 1 ms cannot take less), and counts of faults and bytes do not drift with load.
"""

import ctypes
import faulthandler
import math
import os
import sys
import time

import numpy as np
import pytest
import torch

from bridge_bench import inputs
from bridge_bench.measure import child, counting, process, record, sources, timing


def test_a_window_batches_bare_calls_and_keeps_the_fastest_batch():
    calls = []
    window = timing.time_window(lambda: calls.append(1))
    assert window.number >= 100, "a trivial call is batched, so the loop's own cost is amortised"
    assert window.batches >= timing.MIN_BATCHES
    assert window.seconds > 0
    print(f"a trivial call: {window.seconds * 1e9:.0f} ns, batches of {window.number}")
    assert len(calls) >= window.number * (window.batches + 1), "calibration and warm-up are extra batches"


def test_a_slow_call_is_timed_one_call_per_batch_and_never_faster_than_it_is():
    window = timing.time_window(lambda: time.sleep(0.001), window_s=0)
    assert window.number == 1 and window.batches == timing.MIN_BATCHES
    assert window.seconds >= 0.001


def test_a_given_batch_size_is_kept():
    assert timing.time_window(lambda: None, number=37, window_s=0).number == 37


class _ScriptedCanary:
    """A canary whose batches read as scripted (the last value repeats), with a floor of 1.0."""

    def __init__(self, readings):
        self.readings, self.floor = list(readings), 1.0

    def time(self):
        return self.readings.pop(0) if len(self.readings) > 1 else self.readings[0]


def test_a_window_is_quiet_once_a_batch_has_a_quiet_canary_on_both_sides():
    # canaries before batch 1, after 1, after 2...: batch 4 is the first with quiet ones on both sides
    window = timing.time_window(lambda: None, number=10, window_s=0, min_batches=1,
                                  canary=_ScriptedCanary([2.0, 1.1, 2.0, 1.0, 1.1]), extend_s=60)
    assert window.quiet and window.batches == 4 and window.canary == 1.0
    slow = timing.time_window(lambda: None, number=10, window_s=0, min_batches=3,
                                canary=_ScriptedCanary([2.0]))
    assert not slow.quiet and slow.batches == 3, "without an extension the window ends on time"


def test_a_window_that_meets_no_quiet_moment_goes_on_for_its_extension():
    start = time.perf_counter()
    window = timing.time_window(lambda: None, number=10, window_s=0.01, canary=_ScriptedCanary([2.0]),
                                  extend_s=0.05)
    assert not window.quiet and time.perf_counter() - start >= 0.06 and window.extended >= 0.05


def test_a_real_canary_times_a_batch_and_keeps_the_fastest_as_its_floor():
    canary = timing.Canary()
    assert canary.number > 1, "a batch is many calls, calibrated to last CANARY_S"
    readings = [canary.time() for _ in range(3)]
    assert min(readings) > 0 and canary.floor == min(readings), "the floor follows the fastest batch"


def _abort():
    faulthandler.disable()  # the crash is the point: no traceback dump in the test's output
    os.abort()


def _hang():
    time.sleep(30)


def _refuse():
    raise inputs.Unsupported("numpy has no bfloat16 dtype")


def _fail():
    raise KeyError("a bug")


def test_a_child_returns_its_result_and_turns_refusals_and_crashes_into_reasons():
    assert child.in_child(lambda: os.getpid()) != os.getpid()
    with pytest.raises(child.Refused, match="numpy has no bfloat16"):
        child.in_child(_refuse)
    with pytest.raises(child.Refused, match=r"crashes the interpreter \(SIGABRT\)"):
        child.in_child(_abort)
    with pytest.raises(child.Refused, match="hangs"):
        child.in_child(_hang, timeout_s=1)
    with pytest.raises(RuntimeError, match="KeyError: 'a bug'"):
        child.in_child(_fail)


def _abort_saying():
    faulthandler.disable()
    os.write(2, b"terminate called after throwing an instance of 'c10::Error'\n  what():  Storage size overflowed\n")
    os.abort()


def test_a_crash_keeps_what_the_child_said_and_its_stderr_reaches_the_parent(capfd):
    """The probe records a crash's C++ message, and a benchmark's log keeps whatever its trial printed."""
    with pytest.raises(child.Crashed) as crash:
        child.in_child(_abort_saying)
    assert crash.value.signal == "SIGABRT" and crash.value.said == "Storage size overflowed"
    assert "what():  Storage size overflowed" in capfd.readouterr().err
    child.in_child(lambda: print("a warning line", file=sys.stderr))
    assert "a warning line" in capfd.readouterr().err


@pytest.fixture
def run_record(tmp_path, monkeypatch):
    """A private folder for the run's record of looks."""
    monkeypatch.setattr(record.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv(record.RUN_VARIABLE, raising=False)
    return tmp_path / "bridge-bench-looks" / str(os.getppid())


def test_a_record_keeps_every_look_and_whether_it_was_quiet_one_small_file_per_case(run_record):
    record.Looks("bench.A.time_convert('x', 8)").done(timing.Window(2e-6, 10, 20, 1e-7, True))
    again = record.Looks("bench.A.time_convert('x', 8)")
    again.done(timing.Window(1e-6, 10, 20, 3e-7, False))
    record.Looks("bench.A.time_convert('x', 16)").skip()
    state = record.Looks("bench.A.time_convert('x', 8)").state
    assert state["case"] == "bench.A.time_convert('x', 8)"
    assert state["samples"] == [2e-6, 1e-6] and state["quiet"] == [True, False]
    assert state["rounds"] == 3, "every process given to the case counts, this one included"
    assert record.Looks("bench.A.time_convert('x', 16)").state["samples"] == [], "a round without a look"
    assert len(list(run_record.glob("*.json"))) == 2, "one small file per case"


def test_a_look_extends_within_the_runs_budget(run_record):
    short = record.Looks("case")
    assert short.extension() == timing.EXTEND_S
    short.done(timing.Window(2e-6, 1, 1, 2e-7, False, extended=timing.EXTEND_BUDGET_S - 0.25))
    assert record.Looks("another case").extension() == pytest.approx(0.25), "the run's budget, shared"
    short.done(timing.Window(2e-6, 1, 1, 2e-7, False, extended=0.25))
    assert record.Looks("case").extension() == 0


def test_a_canary_is_calibrated_until_the_run_has_a_floor_then_sized_by_it(run_record, monkeypatch):
    calibrated = []
    real = timing.calibrate
    monkeypatch.setattr(timing, "calibrate", lambda timer, batch_s: calibrated.append(batch_s) or real(timer, batch_s))
    first = record.Looks("a").canary()
    assert calibrated == [timing.CANARY_S] and first.floor is None
    record.Looks("a").done(timing.Window(1e-6, 1, 1, 2e-7, True))
    sized = record.Looks("b").canary()
    assert len(calibrated) == 1, "a floor spares the calibration"
    assert sized.floor == 2e-7 and sized.number == math.ceil(timing.CANARY_S / 2e-7)
    assert sized.time() > 0


def test_the_run_keeps_its_fastest_canary_for_every_case(run_record):
    record.Looks("a").done(timing.Window(1e-6, 1, 1, 3e-7, True))
    record.Looks("b").done(timing.Window(1e-6, 1, 1, 5e-7, False))
    assert record.Looks("c").canary_floor() == 3e-7
    record.Looks("b").done(timing.Window(1e-6, 1, 1, 2e-7, True))
    assert record.Looks("a").canary_floor() == 2e-7
    assert len(list(run_record.glob("*.json"))) == 2, "the floor is not a case"


def test_a_look_waits_for_the_gap_since_the_last_one(run_record, monkeypatch):
    slept = []
    monkeypatch.setattr(record.time, "sleep", slept.append)
    first = record.Looks("c")
    first.wait(gap_s=5)
    first.done(timing.Window(1e-6, 1, 1))
    record.Looks("c").wait(gap_s=5)
    assert len(slept) == 1 and 4 < slept[0] <= 5, "only the second look waits, for the rest of the gap"


def test_a_refusal_is_remembered_for_the_rest_of_the_run(run_record):
    record.Looks("c").refuse("torch.from_numpy(a) refuses it: ValueError: negative strides")
    assert "negative strides" in record.Looks("c").refused
    assert record.Looks("other").refused is None


def test_records_of_finished_runs_are_removed(run_record):
    gone = run_record.parent / "999999999"  # no such process
    gone.mkdir(parents=True)
    (gone / "case.json").write_text("{}")
    record.Looks("c").done(timing.Window(1e-6, 1, 1))
    assert not gone.exists() and run_record.exists()


def test_rounds_run_as_separate_asv_processes_share_the_record_their_run_names(run_record, monkeypatch):
    monkeypatch.setenv(record.RUN_VARIABLE, "abc")
    record.Looks("c").done(timing.Window(1e-6, 1, 1))
    assert any(record.looks_folder("abc").iterdir()) and not run_record.exists()
    assert record.Looks("c").state["samples"] == [1e-6], "the next round reads the look"
    assert [s["case"] for s in record.records("abc")] == ["c"], "and so does the driver"
    monkeypatch.delenv(record.RUN_VARIABLE)
    record.Looks("c").done(timing.Window(1e-6, 1, 1))  # a plain asv run clears records of dead parents, not named runs
    assert record.looks_folder("abc").exists() and run_record.exists()


@pytest.fixture
def restore_shift():
    yield
    sources.shift(0)


def test_each_look_moves_the_sources_by_whole_cache_lines(restore_shift):
    offsets = set()
    for _ in range(20):
        keep = process.randomize_layout()
        assert keep
        a = sources.make_array(inputs.Case(4096))
        offset = a.ctypes.data % 4096
        assert offset % sources.SHIFT_STEP == 0 and a.flags.aligned
        offsets.add(offset)
    assert len(offsets) > 1
    with pytest.raises(ValueError, match="multiple of 64"):
        sources.shift(10)


def test_page_faults_show_fresh_memory_and_nothing_for_a_view():
    n = 16 * 2**20  # 64 MiB of float32, written: every page faulted in
    fresh = child.in_child(lambda: counting.faults_per_call(lambda: np.ones(n, dtype=np.float32)))
    assert fresh >= 64 * 2**20 / (2 * 2**20)
    a = sources.make_array(inputs.Case(64 * inputs.MiB))
    assert child.in_child(lambda: counting.faults_per_call(lambda: torch.from_numpy(a))) < 1


def test_page_faults_do_not_depend_on_what_the_process_freed_before():
    """glibc raises its mmap threshold when a mapped block is freed; counting pins it."""

    def clone_16_mib(big_free_first):
        if big_free_first:
            libc = ctypes.CDLL(None)
            libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
            libc.free(libc.malloc(24 * 2**20))
        # made in the child: torch's thread pool does not survive a fork
        return counting.faults_per_call(torch.ones(4 * 2**20).clone)

    fresh = child.in_child(lambda: clone_16_mib(False))
    assert fresh >= 16 * 2**20 / 4096, "a mapped block faults every page in"
    assert child.in_child(lambda: clone_16_mib(True)) == pytest.approx(fresh, rel=0.01)


def test_page_faults_do_not_depend_on_the_room_left_in_the_heap():
    """A block at the mmap threshold is mapped on every call even when the heap has room for it
    (a freed block at the top, kept): `a.copy()` of 128 KiB counted 0 faults/call then, 33 fresh."""
    a = sources.make_array(inputs.Case(128 * 2**10))

    def copy_128_kib(room):
        if room:
            libc = ctypes.CDLL(None)
            libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
            libc.mallopt(counting.M_TRIM_THRESHOLD, 2**30)
            libc.mallopt(counting.M_MMAP_THRESHOLD, 2**22)
            libc.free(libc.malloc(room))  # served from the heap, then kept at its top
        return counting.faults_per_call(a.copy)

    fresh = child.in_child(lambda: copy_128_kib(0))
    assert fresh >= 128 * 2**10 / 4096, "a mapped block faults every page in"
    for room in (200_000, 2**20):
        assert child.in_child(lambda: copy_128_kib(room)) == pytest.approx(fresh, abs=1)


def test_held_bytes_are_the_copy_for_a_copy_and_a_header_for_a_view():
    a = sources.make_array(inputs.Case(inputs.MiB))
    copied = child.in_child(lambda: counting.held_bytes_per_call(a.copy))
    assert inputs.MiB <= copied < 1.1 * inputs.MiB
    assert child.in_child(lambda: counting.held_bytes_per_call(lambda: torch.from_numpy(a))) < 4096


def test_describe_is_one_line():
    assert child.describe(ValueError("first\nsecond")) == "ValueError: first"
