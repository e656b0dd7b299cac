"""Deterministic signals: page faults and bytes held per call, counted in a fresh child. They do not
drift with the machine's speed, so the gate holds them tightly (docs/methodology.md, "The counts")."""

from __future__ import annotations

import ctypes
import gc
import resource
import time
from typing import Any, Callable

from bridge_bench.measure.child import Refused
from bridge_bench.measure.process import LIBC

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
        block = LIBC.malloc(MMAP_THRESHOLD)
        if _mallinfo().hblks > mapped:  # no room left in the heap: malloc mapped it
            LIBC.free(ctypes.c_void_p(block))
            return
        _TAKEN.append(block)


def _counting_calls(call: Callable[[], Any]) -> int:
    """Pin malloc's thresholds, take the heap's free room, warm the call up twice and return how
    many calls to count."""
    LIBC.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    LIBC.mallopt(M_TRIM_THRESHOLD, 2**30)
    LIBC.mallopt(M_TOP_PAD, 0)
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
    if not hasattr(LIBC, "mallinfo2"):
        raise Refused("counts need glibc's mallinfo2 (glibc >= 2.33)")
    LIBC.mallinfo2.restype = _MallInfo2
    return LIBC.mallinfo2()


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
