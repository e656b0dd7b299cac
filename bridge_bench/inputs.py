"""Cases: sizes in bytes, dtypes and memory layouts, and the factory that builds a source for one.

Sizes are bytes of the logical array (elements x itemsize), so that one size means the same amount
of memory for every dtype; a case smaller than one element of its dtype is unsupported.

Every source is a *view* of one shared, page-aligned buffer (`reserve`). The asv suite reserves it
when it is imported: with asv's forkserver the suite is imported once and every benchmark process
is forked from it, so building a 256 MiB source costs a few microseconds inside the benchmark
process instead of a fresh allocation and hundreds of milliseconds of page faults. That keeps
preparation out of asv's calibration loop without a `setup` hook (see benchmarks/common.py).
The buffer is zero-filled by writing it, so its pages are real (not the kernel's shared zero
page) and zero is a valid value for every dtype (no denormals, no invalid bools).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from bridge_bench import errors

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
#: Bandwidths are GB/s of 10**9 bytes, as PCIe figures and NVIDIA's tools state them.
GB = 10**9

#: The size sweep: 8 B (one float64) to 256 MiB, doubling.
SIZES: tuple[int, ...] = tuple(8 * 2**k for k in range(26))
#: The dtype and layout sweeps use one in-cache and one DRAM-bound size. 32 KiB fits L1d/L2 of
#: any current core; at 64 MiB the host copy ceiling measured here is the same as at 256 MiB
#: (~20 GB/s, field notes), so the copy is memory-bound although the VM reports a large shared L3.
IN_CACHE = 32 * KiB
OUT_OF_CACHE = 64 * MiB
SWEEP_SIZES: tuple[int, ...] = (IN_CACHE, OUT_OF_CACHE)
#: The size the peak-memory benchmarks use: large enough to stand out from the interpreter.
PEAKMEM_SIZE = 256 * MiB

NUMPY_DTYPES: tuple[str, ...] = (
    "bool", "uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)
TORCH_ONLY_DTYPES: tuple[str, ...] = ("bfloat16",)
DTYPES: tuple[str, ...] = NUMPY_DTYPES + TORCH_ONLY_DTYPES

LAYOUTS: tuple[str, ...] = (
    "C",            # C-contiguous 1-D
    "F",            # Fortran-ordered 2-D, made with order="F"
    "strided",      # every other element of a 1-D array
    "negative",     # 1-D reversed view, negative stride
    "transposed",   # .T of a C-contiguous 2-D array (numpy sees it as F-contiguous too)
    "readonly",     # C-contiguous, writeable flag off
    "byteswapped",  # C-contiguous, non-native byte order
)

SIDES = ("numpy", "torch")


class Unsupported(NotImplementedError):
    """A case that cannot exist here: asv shows it as skipped, the probe as n/a, with this reason."""


@dataclass(frozen=True)
class Case:
    nbytes: int
    dtype: str = "float32"
    layout: str = "C"

    def __post_init__(self):
        check_size(self.nbytes)
        check_dtype(self.dtype)
        check_layout(self.layout)


def check_size(nbytes: int) -> int:
    if not isinstance(nbytes, (int, np.integer)) or isinstance(nbytes, bool) or nbytes <= 0:
        raise errors.InputError(f"invalid size {nbytes!r}: give a positive number of bytes, e.g. 8, 64KiB, 256MiB")
    return int(nbytes)


def check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise errors.InputError(f"unknown dtype {dtype!r}; known dtypes: {', '.join(DTYPES)}")
    return dtype


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise errors.InputError(f"unknown layout {layout!r}; known layouts: {', '.join(LAYOUTS)}")
    return layout


_SIZE_RE = re.compile(r"^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$")
_UNITS = {None: 1, "B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB}


def parse_size(text: str) -> int:
    """'8', '64KiB', '256MiB' -> bytes; a ValueError naming the text otherwise."""
    match = _SIZE_RE.match(str(text))
    if not match:
        raise errors.InputError(f"invalid size {text!r}: give bytes, e.g. 8, 64KiB, 256MiB")
    return check_size(int(match.group(1)) * _UNITS[match.group(2)])


def format_size(nbytes: int) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale} {unit}"
    return f"{nbytes} B"


def itemsize(dtype: str) -> int:
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def elements(case: Case) -> int:
    n, rest = divmod(case.nbytes, itemsize(case.dtype))
    if n == 0 or rest:
        raise Unsupported(f"{format_size(case.nbytes)} is not a whole number of {case.dtype} elements")
    return n


def shape_2d(n: int) -> tuple[int, int]:
    """A rows x cols factorisation of n with rows the largest power of two <= sqrt(n) dividing n."""
    rows = 1 << (int(math.isqrt(n)).bit_length() - 1)
    while n % rows:
        rows //= 2
    return rows, n // rows


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


def make_source(side: str, case: Case):
    """The source a path with `source == side` converts, for `case`."""
    if side == "numpy":
        return make_array(case)
    if side == "torch":
        return make_tensor(case)
    raise errors.InputError(f"unknown source side {side!r}; known: {', '.join(SIDES)}")
