"""Cases: sizes in bytes, dtypes and memory layouts, the grids of each family of paths.

Sizes are bytes of the logical array (elements x itemsize), so that one size means the same amount
of memory for every dtype; a case smaller than one element of its dtype is unsupported. The
sources themselves are made inside benchmark processes (`bridge_bench.measure.sources`).
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



def doubling(largest: int) -> tuple[int, ...]:
    """8 B (one float64) to `largest`, doubling."""
    return tuple(8 * 2**k for k in range((largest // 8).bit_length()))


#: The host paths' size sweep.
SIZES: tuple[int, ...] = doubling(256 * MiB)
#: The dtype and layout sweeps use one in-cache and one DRAM-bound size. 32 KiB fits L1d/L2 of
#: any current core; at 64 MiB the host copy ceiling measured here is the same as at 256 MiB
#: (~20 GB/s, docs/calibration.md), so the copy is memory-bound although the VM reports a large shared L3.
IN_CACHE = 32 * KiB
OUT_OF_CACHE = 64 * MiB
SWEEP_SIZES: tuple[int, ...] = (IN_CACHE, OUT_OF_CACHE)
#: The size the peak-memory benchmarks use: large enough to stand out from the interpreter.
PEAKMEM_SIZE = 256 * MiB
#: The CUDA paths' size sweep. Past 1 GiB a PCIe copy is long past its plateau (~5 ms per 256 MiB
#: at Gen5), and a 1 GiB pageable source plus its pinned copy already costs 2 GiB of host memory
#: per benchmark process.
TRANSFER_SIZES: tuple[int, ...] = doubling(1 * GiB)
#: The CUDA dtype sweep's sizes: one launch-bound, one bandwidth-bound.
TRANSFER_SWEEP_SIZES: tuple[int, ...] = (32 * KiB, 64 * MiB)
#: The CUDA ceilings' copy size: large enough that a copy's fixed cost (~10 us) is under 0.5 % of it.
CEILING_SIZE = 256 * MiB
#: The reduced sweep of `scripts/gpu-check`: the latency floor, the knee and the plateau.
CHECK_SIZES: tuple[int, ...] = (8, 64 * KiB, 1 * MiB, 16 * MiB, 256 * MiB, 1 * GiB)

#: The batch family's grid: items per batch, bytes per item, and the largest batch timed (a case
#: past it is skipped as not in the grid): a dataset's samples from tokens to images, up to 32 MiB.
BATCH_SIZES: tuple[int, ...] = (1, 8, 64, 512)
BATCH_ITEM_SIZES: tuple[int, ...] = (64, 4 * KiB, 256 * KiB, 4 * MiB)
BATCH_MAX_BYTES = 32 * MiB
#: The batch that `bridge-bench fidelity --batch` checks and the uint8 sweep times: 64 items of 4 KiB.
BATCH_CHECK = (64, 4 * KiB)
#: Taking a batch apart costs per item, not per byte (`list(t.numpy())` makes views): one item size.
SPLIT_ITEM_SIZES: tuple[int, ...] = (4 * KiB,)
#: A DataFrame's rows per batch, of 64 bytes each (16 four-byte columns).
FRAME_ROWS: tuple[int, ...] = (512,)
FRAME_ROW_SIZES: tuple[int, ...] = (64,)

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

#: What a path converts (`Conversion.source`): an array, a tensor, or for the batch family a list of
#: arrays, a list of tensors, one N x item tensor, a DataFrame of one dtype or of two.
SIDES = ("numpy", "torch", "batch", "tensors", "stacked", "frame", "mixed_frame")


class Unsupported(NotImplementedError):
    """A case that cannot exist here: asv shows it as skipped, the probe as n/a, with this reason."""


@dataclass(frozen=True)
class Case:
    """One case: `nbytes` of one array (of one item of a batch, of one row of a frame), its dtype and
    layout, and for the batch family the number of items (rows); None for a single array."""

    nbytes: int
    dtype: str = "float32"
    layout: str = "C"
    batch: int | None = None

    def __post_init__(self):
        check_size(self.nbytes)
        check_dtype(self.dtype)
        check_layout(self.layout)
        if self.batch is not None:
            check_size(self.batch)

    @property
    def total(self) -> int:
        """The bytes the case moves: the array's, or the whole batch's."""
        return self.nbytes * (self.batch or 1)

    def params(self, path_id: str) -> tuple:
        """asv's parameters of the case: (path, size, dtype, layout), or (path, batch, size, dtype)."""
        if self.batch is None:
            return (path_id, self.nbytes, self.dtype, self.layout)
        return (path_id, self.batch, self.nbytes, self.dtype)


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
