"""The benchmark process itself: its forks made light, and a random memory layout for each look
(docs/methodology.md, "How a case is timed")."""

from __future__ import annotations

import ctypes
import os
import random

from bridge_bench.measure import sources

#: The C library of this process (glibc): malloc for `randomize_layout`, mallopt and mallinfo2
#: for the counts, found without a subprocess.
LIBC = ctypes.CDLL(None)
LIBC.malloc.restype = ctypes.c_void_p


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
    Linux 5.8), so what a look times does not change (docs/methodology.md, "Where a run's time goes").
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
            collapsed += LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_COLLAPSE) == 0
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
    c_blocks = [LIBC.malloc(rng.randrange(16, 1024, 16)) for _ in range(rng.randrange(64))]
    py_blocks = [bytes(rng.randrange(1, 512)) for _ in range(rng.randrange(64))]
    return [c_blocks, py_blocks]
