"""The classes of timed cases: what a case's time is made of, which decides how it is looked at and judged.

One classifier for the whole package: how many looks a case needs before its figure is known
(`bridge_bench.measure.plan`), which factor the gate applies (`bridge_bench.read.compare`), and how `noise`
groups its tables all read `timed_class`, so the class a case is looked at by is the class it is
judged by.

- *call-bound*: the cost of the call itself, under `MEMORY_BOUND_S`: a zero-copy path at any size,
  or a copy of at most `CALL_BOUND_COPY_BYTES`. Its looks move by layout and CPU speed only.
- *in-cache*: a copy of more than `CALL_BOUND_COPY_BYTES` that still takes under `MEMORY_BOUND_S`:
  it copies through the cache and allocates, and moves more between runs than a call-bound case.
- *memory-bound*: `MEMORY_BOUND_S` a call or more (copies of hundreds of KiB and more): its looks
  vary between processes (page placement, huge pages, other tenants' memory traffic).

Plain data and arithmetic: no torch, no pandas; the benchmark processes and the reading side both
import it.
"""

from __future__ import annotations

import math

from bridge_bench import catalogue

CLASSES = ("call-bound", "in-cache", "memory-bound")
#: A timed case that takes at least this long per call streams memory.
MEMORY_BOUND_S = 10e-6
#: A copy of more than this many bytes that takes under `MEMORY_BOUND_S` copies through the cache.
CALL_BOUND_COPY_BYTES = 4096


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def moved_bytes(size, batch=None):
    """The bytes a case moves: its size, or for the batch family (a `batch`) the whole batch's."""
    return size if _missing(batch) or _missing(size) else size * batch


def timed_class(path: str, size, seconds: float) -> str:
    """The class of a timed case from its path id, the bytes it moves (`moved_bytes`; None or NaN
    where it has none) and its time per call."""
    if seconds >= MEMORY_BOUND_S:
        return "memory-bound"
    record = catalogue.BY_ID.get(path)
    if (record is not None and record.shares) or _missing(size) or size <= CALL_BOUND_COPY_BYTES:
        return "call-bound"
    return "in-cache"
