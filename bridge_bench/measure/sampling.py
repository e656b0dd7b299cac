"""Timing one bound call on a shared, noisy machine: many short looks, spread over the run.

What was measured on the machines this suite runs on (README, "Figures") shapes it:

- **The harness must be amortised, not just small.** asv_runner calls a parameterised benchmark
  through a closure (`self.func(*param)`): 80-290 ns per call depending on the CPU, against a
  0.5 us `torch.from_numpy`. Here the timed statement is the bound call itself, run `number`
  times in `timeit`'s loop (pyperf's inner loops, timeit's `number`), and the batch is divided by
  `number`, which asv records with the result (`stats_number`).
- **Noise only adds time, in spells.** Another tenant slows this VM by 1.6x-2.1x for stretches
  of 0.1 ms to several seconds (thread CPU time is as slow as wall time: contention, not steal);
  in a noisy phase two thirds of all 10 ms windows hold no quiet moment, yet over 20 minutes every
  10-second stretch but one held a batch within 2 % of the quietest. So a case is looked at many
  times, each look short and keeping its fastest batch, the looks spread over the whole run
  (asv's rounds, `Looks`).
- **Layout matters as much as noise.** Every benchmark process is forked from the same parent and
  so allocates at the same addresses: one run timed `torch.from_numpy` 1.8x slow in every look,
  and `a.copy()` of 4 KiB runs 250 or 360 ns depending on where the copy lands. Each look
  randomizes its memory layout (`randomize_layout`), and each round is its own asv process with
  its own forkserver, hence its own library addresses (`bridge_bench.drive.asvrun`), so every run
  samples the same layouts.
- **Some variance lives between processes** (page placement, huge pages, the allocator's state):
  each look is a fresh process, forked by asv for the round, and the published figure is a
  median over the looks no spell reached, i.e. over processes and layouts (bridge_bench.estimate).

Nothing here knows asv; `benchmarks/common.py` turns looks into asv samples and
`bridge_bench.estimate` turns samples into the published figure.
"""

from __future__ import annotations

import ctypes
import gc
import hashlib
import json
import math
import os
import pickle
import random
import resource
import shutil
import signal
import statistics
import sys
import tempfile
import time
import timeit
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from bridge_bench.measure import sources

#: A batch of calls lasts at least this long: the timer reads and loop set-up are then under
#: 0.1 %, and a batch is short enough to fit into a quiet moment.
BATCH_S = 0.0005
#: A look times batches for at least this long...
WINDOW_S = 0.01
#: ...and at least this many of them (memory-bound calls take milliseconds each).
MIN_BATCHES = 3
#: Batches run and discarded before the window: first-call effects (lazy initialisation, a thread
#: pool starting, a destination's pages, the cache) land in them...
WARMUP_BATCHES = 4
#: ...unless they take longer than this (a 64 MiB copy: two or three calls).
WARMUP_S = 0.02
#: CUDA paths measure in one process (no fork after CUDA): this many consecutive windows.
IN_PROCESS_WINDOWS = 5
#: A child that has not answered after this long is killed and the case recorded as hanging.
CHILD_TIMEOUT_S = 240
#: Looks at one case are at least this far apart. In a full run asv's rounds put minutes between
#: them anyway; in a run of a few cases the rounds follow each other within a second, and one
#: slow stretch of a few seconds would cover every look.
LOOK_GAP_S = 3.0
#: A *canary* is timed between the batches of every look: `ctypes.memmove` of 4 KiB, a call of no
#: library under test that slows with the same spells (interleaved with `t.numpy(force=True)` of
#: 32 KiB for 30 s in a noisy stretch: of 249 windows in which the case read 1.4x or more, 2 had a
#: quiet canary on both sides of their fastest batch; of 680 quiet windows, 522 had). A batch of
#: it lasts about this long...
CANARY_S = 0.0001
#: ...and reads quiet within this factor of the run's fastest canary (`Looks.canary_floor`).
CANARY_QUIET = 1.2
#: A look is *quiet* when one of its batches has a quiet canary on both sides. On a noisy day
#: every look at a case can meet a slow spell (all 12 looks of `t.numpy(force=True)` of int64 at
#: 32 KiB read 1.9-2.0x in one run, while the same case's neighbours found 2-4 quiet looks): a fast
#: case short of quiet looks may extend its last looks (`bridge_bench.measure.plan.extends`), each for up to
#: `EXTEND_S`, until one is quiet, and a run spends at most `EXTEND_BUDGET_S` in all on extending.
#: A quiet look then sets the fastest look, and the looks that met a spell are set aside
#: (bridge_bench.estimate). Slow cases are not extended: their spells are other tenants' memory
#: traffic, and a look costs more.
EXTEND_S = 1.0
EXTEND_BUDGET_S = 60.0
#: The C library of this process (glibc): malloc for `randomize_layout`, mallopt and mallinfo2
#: for the counts, found without a subprocess.
_LIBC = ctypes.CDLL(None)
_LIBC.malloc.restype = ctypes.c_void_p


class Refused(NotImplementedError):
    """The case cannot be timed here: it does not exist, raises, crashes or hangs. The text says which."""


class Crashed(Refused):
    """The child died of a signal (SIGALRM: it hung past its time). `said` is what it printed last
    on stderr that explains it: a C++ abort's `what():` message, else its first line."""

    def __init__(self, sig: signal.Signals, said: str, timeout_s: int):
        self.signal, self.said = sig.name, said
        super().__init__(f"hangs (no result after {timeout_s} s)" if sig == signal.SIGALRM
                         else f"crashes the interpreter ({sig.name})")


def _last_words(stderr: str) -> str:
    said = [line.strip() for line in stderr.splitlines() if line.strip()]
    what = [line.split("what():", 1)[1].strip() for line in said if "what():" in line]
    return (what or said or [""])[0][:300]


@dataclass(frozen=True)
class Window:
    """What one window measured: the fastest batch per call, the batch size, how many batches;
    with a canary, its fastest batch per call and whether the window held a quiet moment."""

    seconds: float
    number: int
    batches: int
    canary: float | None = None
    quiet: bool | None = None
    extended: float = 0.0


class Canary:
    """The canary of a look (`CANARY_S`): a fixed call of no library under test, timed in batches,
    and the fastest batch per call the run has seen (`floor`). With a floor, a batch is as many
    calls as `CANARY_S` holds at that speed (calibrating costs a look ~1 ms); the run's first look
    calibrates."""

    def __init__(self, floor: float | None = None):
        source, self._destination = ctypes.create_string_buffer(4096), ctypes.create_string_buffer(4096)
        self._timer = timeit.Timer(lambda: ctypes.memmove(self._destination, source, 4096))
        if floor:
            self.number = math.ceil(CANARY_S / floor)
            self._timer.timeit(self.number)  # warm, as calibrating would have
        else:
            self.number = calibrate(self._timer, CANARY_S)
        self.floor = floor

    def time(self) -> float:
        """One batch, per call; the floor follows the fastest."""
        seconds = self._timer.timeit(self.number) / self.number
        self.floor = min(seconds, self.floor or seconds)
        return seconds


def calibrate(timer: timeit.Timer, batch_s: float = BATCH_S) -> int:
    """The number of calls that makes a batch last at least `batch_s` (timeit's autorange, unrounded).

    It also warms the call up: first-call effects (lazy initialisation, a thread pool starting,
    a destination's pages) land in these discarded batches.
    """
    number = 1
    while True:
        took = timer.timeit(number)
        if took >= batch_s:
            return number
        number = max(number + 1, int(number * min(10.0, 1.2 * batch_s / max(took, 1e-9))))


def time_window(call: Callable[[], Any], number: int = 0, window_s: float = WINDOW_S,
                min_batches: int = MIN_BATCHES, warmup_batches: int = WARMUP_BATCHES,
                canary: Canary | None = None, extend_s: float = 0.0) -> Window:
    """Time `call` in batches of `number` calls (calibrated when 0) for `window_s`; keep the fastest.

    The first `warmup_batches` batches (at most `WARMUP_S` of them) are discarded: a copy into a
    destination allocated moments ago runs slower for its first calls (64 MiB here: 10-14 ms, then
    5-10 ms), and the window must measure the call, not its first-call effects. With a `canary`,
    a canary batch is timed before the first batch and after each, and the window is quiet when a
    batch has a quiet canary on both sides; with `extend_s`, a window that is not quiet by its end
    goes on for up to `extend_s` more until it is.
    """
    timer = timeit.Timer(call)
    number = number or calibrate(timer)
    warm_until = timeit.default_timer() + WARMUP_S
    for _ in range(warmup_batches):
        timer.timeit(number)
        if timeit.default_timer() > warm_until:
            break
    start = timeit.default_timer()
    batches, canaries, quiet = [], [canary.time()] if canary else [], False

    def going() -> bool:
        elapsed = timeit.default_timer() - start
        return (len(batches) < min_batches or elapsed < window_s
                or (canary is not None and not quiet and elapsed < window_s + extend_s))

    while going():
        batches.append(timer.timeit(number))
        if canary:
            canaries.append(canary.time())
            quiet = quiet or max(canaries[-2:]) <= CANARY_QUIET * canary.floor
    if not canary:
        return Window(min(batches) / number, number, len(batches))
    extended = max(0.0, timeit.default_timer() - start - window_s) if extend_s else 0.0
    return Window(min(batches) / number, number, len(batches), min(canaries), quiet, extended)


def in_child(work: Callable[[], Any], timeout_s: int = CHILD_TIMEOUT_S) -> Any:
    """Run `work()` in a forked child and return its (picklable) result.

    Why a child: some cases abort the interpreter (SIGABRT from a C++ exception) or hang, which
    must become a reason, not a dead benchmark run; and a count (faults, bytes) must come from a
    process that ran nothing else. The parent must not have started torch's OpenMP pool: a parallel
    region in a child forked after that deadlocks, which is why a look tries its case in a child
    before the benchmark process runs anything itself.

    `Refused` is raised for a child that raised `NotImplementedError` (its message), `Crashed` for
    one that crashed (the signal, what it said) or hung; any other exception in the child is raised
    here as RuntimeError with its text. The benchmarks' first look at a case and every case of the
    semantics probe run here. What the child writes to stderr is passed on to this process's.
    """
    read_end, write_end = os.pipe()
    said = tempfile.TemporaryFile()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        os.dup2(said.fileno(), 2)
        signal.alarm(timeout_s)
        try:
            payload = ("ok", work())
        except NotImplementedError as exc:
            payload = ("refused", str(exc))
        except BaseException as exc:  # noqa: BLE001 - everything must reach the parent as text
            payload = ("error", describe(exc) + "\n" + traceback.format_exc())
        with os.fdopen(write_end, "wb") as fh:
            pickle.dump(payload, fh)
        sys.stderr.flush()
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    with said:
        said.seek(0)
        stderr = said.read().decode(errors="replace")
    sys.stderr.write(stderr)
    if os.WIFSIGNALED(status):
        raise Crashed(signal.Signals(os.WTERMSIG(status)), _last_words(stderr), timeout_s)
    if not data:
        raise RuntimeError(f"the measuring process exited with status {os.waitstatus_to_exitcode(status)} "
                           "and no result")
    kind, value = pickle.loads(data)
    if kind == "refused":
        raise Refused(value)
    if kind == "error":
        raise RuntimeError(value)
    return value


#: Names the `Looks` record shared by the rounds of one run, when they are separate asv processes
#: (`rounds.run` sets it); without it the record is named by the benchmark processes'
#: common parent, which lives for one `asv run`.
RUN_VARIABLE = "BRIDGE_BENCH_RUN"


def looks_folder(run: str) -> Path:
    """The `Looks` record of the run named `run`: a folder of one small file per case."""
    return _looks_root() / f"run-{run}"


def _looks_root() -> Path:
    folder = Path(tempfile.gettempdir()) / "bridge-bench-looks"
    folder.mkdir(exist_ok=True)
    return folder


def record_folder() -> Path:
    """The folder of this run's `Looks` (and of what else its benchmark processes share, `run_median`): named
    by `RUN_VARIABLE`, else by the processes' common parent."""
    if os.environ.get(RUN_VARIABLE):
        folder = looks_folder(os.environ[RUN_VARIABLE])
    else:
        folder = _looks_root() / str(os.getppid())
        if not folder.exists():
            for old in _looks_root().glob("[0-9]*"):
                if not Path(f"/proc/{old.name}").exists():
                    shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(exist_ok=True)
    return folder


def repeat_for(measure: Callable[[], float], seconds: float, at_least: int = 3) -> list[float]:
    """`measure()` again and again for `seconds`, and at least `at_least` times: the readings of
    what the machine gives a run (`cores`, `cpu`, `bandwidth`)."""
    readings = []
    end = time.monotonic() + seconds
    while time.monotonic() < end or len(readings) < at_least:
        readings.append(measure())
    return readings


def run_readings(name: str, reading: float | None = None) -> list[float]:
    """Add `reading` (if any) to the file `name` of this run's record; every reading of the run so far.

    What several processes of a run measure of one thing (the machine's free cores in every round,
    a transfer ceiling in every CUDA process) goes here, so that the track that reports it speaks
    for the whole run: asv keeps one value of a track, the last one."""
    file = record_folder() / name
    if reading is not None:
        with file.open("a") as out:
            out.write(f"{reading!r}\n")
    readings = []
    for line in file.read_text().splitlines() if file.exists() else []:
        try:
            readings.append(float(line))
        except ValueError:  # a line another process is writing
            continue
    return readings


def run_median(name: str, reading: float) -> float:
    """Add `reading` to this run's readings of `name`; their median (`cores`, `cpu`, `bandwidth`:
    read in every round, reported for the whole run, not one moment of it)."""
    return statistics.median(run_readings(name, reading))


def records(run: str) -> list[dict]:
    """Every case's record of the run named `run` (`Looks.state`), in no particular order."""
    return [state for state in map(_read_state, looks_folder(run).glob("*.json")) if state]


def _read_state(file: Path) -> dict:
    """A case's record, or {} where there is none yet (or a round died writing it)."""
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        return {}


def _replace(file: Path, text: str) -> None:
    """Write `file` whole or not at all: a round killed mid-write leaves the previous record."""
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(file)


class Looks:
    """This run's record of one case: every look so far (seconds per call) and whether it held a
    quiet moment, how many processes the case was given, when its last look ended, or why it is
    refused; and, shared by every case, the run's fastest canary and its batch size.

    asv calls the benchmark once per round, each time in a new process; this record, a file per
    case in a folder shared by every benchmark process of the run, is what tells a round whether
    to look (bridge_bench.measure.plan), how long to wait first (`wait`), and whether the case was already
    refused, and what tells the driver which cases to give a process in the next round.
    One file per case keeps its cost per look under a millisecond (one file for the whole run,
    rewritten at every look, cost 11 ms a look with 2800 cases: a sixth of a full run). A run of
    `bridge-bench` names the folder (`RUN_VARIABLE`, one asv process per round). In a plain
    `asv run` every benchmark process has the same parent, asv's forkserver or, with `spawn`, asv
    itself: the parent's pid names the folder, and folders of runs whose parent is gone are
    removed when a new run starts one.
    """

    def __init__(self, case: str):
        self.file = record_folder() / f"{hashlib.sha1(case.encode()).hexdigest()[:20]}.json"
        self.state = _read_state(self.file) or {"case": case, "rounds": 0, "samples": [], "quiet": []}
        self.state["rounds"] += 1

    def _write(self) -> None:
        _replace(self.file, json.dumps(self.state))

    @property
    def first(self) -> bool:
        return not self.state["samples"]

    @property
    def refused(self) -> str | None:
        """Why an earlier round refused this case, if one did."""
        return self.state.get("refused")

    def extension(self) -> float:
        """How long a look may go on for a quiet moment, when the plan lets it (`EXTEND_S`, while
        the run has not spent `EXTEND_BUDGET_S` on extending)."""
        return max(0.0, min(EXTEND_S, EXTEND_BUDGET_S - (self._shared("extended") or 0.0)))

    def canary(self) -> Canary:
        """This look's canary, with the run's fastest canary batch as its floor."""
        return Canary(self.canary_floor())

    def canary_floor(self) -> float | None:
        """The fastest canary batch per call of this run so far (a file shared by every case)."""
        return self._shared("canary")

    def _shared(self, name: str) -> float | None:
        """A number the run's cases share: a file of the record's folder."""
        try:
            return float((self.file.parent / name).read_text())
        except (OSError, ValueError):
            return None

    def wait(self, gap_s: float = LOOK_GAP_S) -> None:
        """Sleep until the last look at this case ended `gap_s` ago."""
        if "last" in self.state:
            time.sleep(max(0.0, self.state["last"] + gap_s - time.monotonic()))

    def skip(self) -> None:
        """A round without a look: only the round is counted."""
        self._write()

    def done(self, window: Window) -> None:
        self.state["samples"].append(window.seconds)
        self.state["quiet"].append(bool(window.quiet))
        self.state["last"] = time.monotonic()
        self._write()
        floor = self.canary_floor()
        if window.canary and (floor is None or window.canary < floor):
            _replace(self.file.parent / "canary", repr(window.canary))
        if window.extended:
            _replace(self.file.parent / "extended", repr((self._shared("extended") or 0.0) + window.extended))

    def refuse(self, reason: str) -> None:
        self.state["refused"] = reason
        self._write()


#: madvise(2) advice: collapse a range into transparent huge pages now (Linux 6.1).
MADV_COLLAPSE = 25
_HUGE = 2 * 1024 * 1024


def lighten_forks() -> int:
    """Collapse this process's private anonymous memory (the heaps of Python, torch and glibc) into
    transparent huge pages; how many ranges were collapsed (0 where the kernel cannot).

    asv forks every benchmark process from its forkserver, and a fork copies, and the child's exit
    frees, one page-table entry per 4 KiB page the parent has: with torch imported that is ~37,000,
    and a fork, exit and wait took 13 ms, more than a fast case's 10 ms window. Collapsed, they
    take 3 ms. The data stay where they are (a huge page is copied 4 KiB at a time on write since
    Linux 5.8), so what a look times does not change (README, "Where a look's time goes").
    """
    collapsed = 0
    with open("/proc/self/maps") as maps:
        ranges = [line.split() for line in maps]
    for fields in ranges:
        if len(fields) > 5 and fields[5] != "[heap]" or "rw" not in fields[1]:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        start, end = -(-start // _HUGE) * _HUGE, end // _HUGE * _HUGE
        if end > start:
            collapsed += _LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_COLLAPSE) == 0
    return collapsed


def randomize_layout() -> list:
    """Give this process a random memory layout for its next look; keep the result alive while looking.

    A call's speed can depend on where its data and its temporaries sit (4 KiB aliasing, cache
    sets): a zero-copy `torch.from_numpy` ran 1.8x slower in every look of one run, because every
    benchmark process is forked from the same parent and so allocates at the same addresses.
    Randomizing per look (as STABILIZER does, Curtsinger & Berger 2013) turns that into variation
    the looks sample, the same in every run. Two things move: where the sources start
    (`sources.shift`) and where the call's own allocations land (random live blocks in glibc's and
    Python's small-object heaps).
    """
    rng = random.Random(os.urandom(16))
    sources.shift(rng.randrange(0, 4096, sources.SHIFT_STEP))
    c_blocks = [_LIBC.malloc(rng.randrange(16, 1024, 16)) for _ in range(rng.randrange(64))]
    py_blocks = [bytes(rng.randrange(1, 512)) for _ in range(rng.randrange(64))]
    return [c_blocks, py_blocks]


def describe(exc: BaseException) -> str:
    """'TypeError: first line of the message': how a refusal reads in asv's log and the probe."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


# --- deterministic signals: they do not drift with the machine's speed, so they can be gated tightly

#: Counts are averaged over calls lasting about this long in all (after two warm-up calls), at
#: least `MIN_COUNT_CALLS` and at most `MAX_COUNT_CALLS` of them: a stray fault (a new page of
#: the Python heap, a copy-on-write page after the fork) is then a small fraction of a call's
#: count, and holding the results of 256 MiB copies stays within memory.
COUNT_S = 0.02
MIN_COUNT_CALLS = 4
MAX_COUNT_CALLS = 1000
#: glibc's mallopt parameters, and the mmap threshold pinned while counting (glibc's starting
#: value). Left alone, glibc raises the threshold to the size of any mapped block the process
#: frees, so whether a 16 MiB copy gets fresh pages (4096 faults) or reuses the heap (none)
#: depended on what the process had freed before: 2.75 and 4098 faults/call for one case in two
#: identical runs. Pinned, a block from 128 KiB is mapped (and faulted) on every call, a smaller
#: one reuses the heap, which is kept (trim threshold raised): the count of a fresh process.
#: Pinning is not enough on its own: malloc serves a block from the heap when a free chunk or the
#: top has room for it, and maps it only when none has, so `a.copy()` of 128 KiB counted 33
#: faults/call or none depending on the room the process had left (`_take_free_room`), and the
#: top's padding (`M_TOP_PAD`, 128 KiB) gives it that room after any small allocation.
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD = 128 * 1024
#: Blocks of the heap's free room, held for the rest of the (counting) process.
_TAKEN: list[int] = []


def _take_free_room(limit: int = 2**15) -> None:
    """Hold every free chunk of the heap, and the top's room, that could serve a block of
    `MMAP_THRESHOLD` bytes: from then on such a block is mapped on every call, whatever the process
    allocated and freed before (a count of a fresh process)."""
    mapped = _mallinfo().hblks
    for _ in range(limit):
        block = _LIBC.malloc(MMAP_THRESHOLD)
        if _mallinfo().hblks > mapped:  # no room left in the heap: malloc mapped it
            _LIBC.free(ctypes.c_void_p(block))
            return
        _TAKEN.append(block)


def _counting_calls(call: Callable[[], Any]) -> int:
    """Pin malloc's thresholds, take the heap's free room, warm the call up twice and return how
    many calls to count."""
    _LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    _LIBC.mallopt(M_TRIM_THRESHOLD, 2**30)
    _LIBC.mallopt(M_TOP_PAD, 0)
    _take_free_room()
    start = time.perf_counter()
    call(), call()
    per_call = (time.perf_counter() - start) / 2
    return max(MIN_COUNT_CALLS, min(MAX_COUNT_CALLS, int(COUNT_S / max(per_call, 1e-9))))


def faults_per_call(call: Callable[[], Any]) -> float:
    """Minor page faults per call, every thread of the process, the call run as it is timed.

    A copy into fresh memory faults its pages in: ~size / 4 KiB with 4 KiB pages, ~size / 2 MiB
    with transparent huge pages. A path that loses huge pages, or starts to allocate, shows here
    at once, whatever the machine's speed. Meant for a process of its own (malloc is pinned).
    """
    calls = _counting_calls(call)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        call()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
                 "fordblks", "keepcost")]


def _mallinfo() -> _MallInfo2:
    if not hasattr(_LIBC, "mallinfo2"):
        raise Refused("counts need glibc's mallinfo2 (glibc >= 2.33)")
    _LIBC.mallinfo2.restype = _MallInfo2
    return _LIBC.mallinfo2()


def _malloc_in_use() -> int:
    info = _mallinfo()
    return info.uordblks + info.hblkhd


def held_bytes_per_call(call: Callable[[], Any]) -> float:
    """Bytes of C heap (glibc malloc) that each call's result keeps alive.

    A zero-copy result holds only its tensor or array header (hundreds of bytes), a copy holds its
    data. Python objects small enough for pymalloc are not counted; torch and numpy buffers are.
    The cyclic garbage collector is off while counting, so that it frees nothing in between.
    Meant for a process of its own (malloc is pinned).
    """
    calls = _counting_calls(call)
    gc.disable()
    before = _malloc_in_use()
    held = [call() for _ in range(calls)]
    after = _malloc_in_use()
    gc.enable()
    del held
    return (after - before) / calls
