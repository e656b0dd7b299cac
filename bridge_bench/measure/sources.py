"""The sources a case converts, made inside the benchmark process: every one a *view* of one
shared, page-aligned buffer (`reserve`).

The asv suite reserves the buffer when it is imported: with asv's forkserver the suite is imported
once and every benchmark process is forked from it, so building a 256 MiB source costs a few
microseconds inside the benchmark process instead of a fresh allocation and hundreds of
milliseconds of page faults. That keeps preparation out of asv's calibration loop without a
`setup` hook (see benchmarks/common.py). The buffer is zero-filled by writing it, so its pages are
real (not the kernel's shared zero page) and zero is a valid value for every dtype (no denormals,
no invalid bools).
"""

from __future__ import annotations

import numpy as np

from bridge_bench import errors
from bridge_bench.inputs import (BATCH_MAX_BYTES, SIDES, TORCH_ONLY_DTYPES, Case, Unsupported, elements, format_size,
                                 itemsize, shape_2d)

_PAGE = 4096
_buffer = np.empty(0, dtype=np.uint8)
#: Where sources start in the buffer: 0 (page-aligned) unless `shift` moved it.
_start = 0
#: Sources move in steps of a cache line, so every dtype and SIMD path keeps its alignment.
SHIFT_STEP = 64


def reserve(nbytes: int) -> None:
    """Make sure the shared source buffer holds at least `nbytes` (reallocating only to grow)."""
    global _buffer
    if _buffer.nbytes >= nbytes:
        return
    raw = np.empty(nbytes + _PAGE, dtype=np.uint8)
    start = (-raw.ctypes.data) % _PAGE
    _buffer = raw[start:start + nbytes]
    _buffer.fill(0)


def reserve_for(cases_max_nbytes: int) -> None:
    """Reserve enough for any layout of a case up to `cases_max_nbytes` (strided needs twice),
    starting anywhere in the first page (`shift`)."""
    reserve(2 * cases_max_nbytes + _PAGE)


def shift(offset: int) -> None:
    """Start the sources made from now on `offset` bytes into the buffer (a multiple of SHIFT_STEP below 4096).

    Where a copy's source sits relative to its destination decides whether loads and stores
    alias in the low 12 address bits, which moved `a.copy()` of 4 KiB between 250 and 730 ns
    here. The timing looks each pick a random start, so that every run samples the same layouts
    instead of inheriting whichever one its process happened to have.
    """
    global _start
    if offset % SHIFT_STEP or not 0 <= offset < _PAGE:
        raise errors.InputError(f"invalid source offset {offset!r}: a multiple of {SHIFT_STEP} below {_PAGE}")
    _start = offset


def _flat(nbytes: int) -> np.ndarray:
    reserve(_start + nbytes)
    return _buffer[_start:_start + nbytes]


def make_array(case: Case) -> np.ndarray:
    """A numpy source for `case`, a view of the shared buffer."""
    if case.dtype in TORCH_ONLY_DTYPES:
        raise Unsupported(f"numpy has no {case.dtype} dtype")
    n = elements(case)
    dtype = np.dtype(case.dtype)
    layout = case.layout
    if layout == "strided":
        return _flat(2 * case.nbytes).view(dtype)[::2]
    flat = _flat(case.nbytes).view(dtype)
    if layout == "C":
        return flat
    if layout == "F":
        return flat.reshape(shape_2d(n), order="F")
    if layout == "negative":
        return flat[::-1]
    if layout == "transposed":
        return flat.reshape(shape_2d(n)).T
    if layout == "readonly":
        view = flat.view()
        view.flags.writeable = False
        return view
    if layout == "byteswapped":
        if dtype.byteorder == "|":
            raise Unsupported(f"{case.dtype} is a single-byte dtype: it has no byte order")
        return flat.view(dtype.newbyteorder())
    raise AssertionError(layout)


def torch_dtype(name: str):
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise Unsupported(f"torch {torch.__version__} has no {name} dtype")
    return dtype


def make_tensor(case: Case):
    """A torch source for `case`, a view of the shared buffer (torch has fewer layouts than numpy)."""
    import torch

    if case.layout == "negative":
        raise Unsupported("torch tensors cannot have negative strides")
    if case.layout == "readonly":
        raise Unsupported("torch tensors have no read-only flag")
    if case.layout == "byteswapped":
        raise Unsupported("torch tensors are always in native byte order")
    n = elements(case)
    dtype = torch_dtype(case.dtype)
    span = 2 * case.nbytes if case.layout == "strided" else case.nbytes
    flat = torch.from_numpy(_flat(span)).view(dtype)
    if case.layout == "C":
        return flat
    if case.layout == "strided":
        return flat[::2]
    rows, cols = shape_2d(n)
    if case.layout == "F":
        return flat.reshape(cols, rows).t()
    if case.layout == "transposed":
        return flat.reshape(rows, cols).t()
    raise AssertionError(case.layout)


def _in_grid(case: Case) -> None:
    if case.total > BATCH_MAX_BYTES:
        raise Unsupported(f"a batch of {case.batch} x {format_size(case.nbytes)} is past the grid's "
                          f"{format_size(BATCH_MAX_BYTES)}")
    elements(case)


def make_batch(case: Case) -> list[np.ndarray]:
    """A batch: `case.batch` C-contiguous arrays of `case.nbytes` each, consecutive views of the
    shared buffer (as a dataset's samples, one array each); up to `BATCH_MAX_BYTES` in all."""
    _in_grid(case)
    if case.dtype in TORCH_ONLY_DTYPES:
        raise Unsupported(f"numpy has no {case.dtype} dtype")
    flat = _flat(case.total)
    return [flat[i * case.nbytes:(i + 1) * case.nbytes].view(case.dtype) for i in range(case.batch)]


def make_stacked(case: Case):
    """The batch as one tensor, N x (item elements), a view of the shared buffer."""
    import torch

    _in_grid(case)
    return torch.from_numpy(_flat(case.total)).view(torch_dtype(case.dtype)).reshape(case.batch, -1)


def make_frame(case: Case, mixed: bool = False):
    """A DataFrame of `case.batch` rows of `case.nbytes` each: columns of `case.dtype`, or with
    `mixed`, of `case.dtype` and int32 in turn (int32 keeps the bytes of a four-byte dtype). pandas
    copies the columns in; the frame is made when the call is bound, outside any timed region."""
    try:
        import pandas as pd
    except ImportError:
        raise Unsupported("pandas is not installed in this environment") from None
    if mixed and itemsize(case.dtype) != 4:
        raise Unsupported(f"the mixed frame pairs four-byte columns; {case.dtype} is not one")
    rows = np.stack(make_batch(case))
    if not mixed:
        return pd.DataFrame(rows)
    return pd.DataFrame({i: rows[:, i].view("int32") if i % 2 else rows[:, i] for i in range(rows.shape[1])})


def make_source(side: str, case: Case):
    """The source a path with `source == side` converts, for `case`."""
    if side == "numpy":
        return make_array(case)
    if side == "torch":
        return make_tensor(case)
    if side == "batch":
        return make_batch(case)
    if side == "tensors":
        import torch

        return [torch.from_numpy(a) for a in make_batch(case)]
    if side == "stacked":
        return make_stacked(case)
    if side in ("frame", "mixed_frame"):
        return make_frame(case, mixed=side == "mixed_frame")
    raise errors.InputError(f"unknown source side {side!r}; known: {', '.join(SIDES)}")
