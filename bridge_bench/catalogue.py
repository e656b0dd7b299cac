"""The catalogue: every way bridge-bench moves data across the NumPy <-> PyTorch bridge, as plain data.

One `Conversion` record per path: its id, direction, the code a user writes (the label used in
every table and plot), which side its source is, whether it shares memory, what its output is,
what it needs (CUDA, a minimum torch or numpy), a note. The suite, the semantics probe and the
reports read this list, so adding a path is one record here and one binding (and the line
tests/test_asv_suite.py prints for benchmarks/fingerprints.txt, which keeps asv's series of the
other paths going).

No torch here: the reading side (results, analysis, compare, report) imports this module and must
run where torch is not installed, e.g. the workflow job that draws the report. How a path runs is
`bridge_bench.measure.bindings`, keyed by the same id; only the suite, the probe and the device helpers
import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge_bench import errors

NUMPY_TO_TORCH = "numpy->torch"
TORCH_TO_NUMPY = "torch->numpy"
REFERENCE = "reference"
HOST_TO_CUDA = "host->cuda"
CUDA_TO_HOST = "cuda->host"
#: The batch family: many arrays (or a DataFrame's rows) into one tensor, and one tensor into many
#: arrays; its cases have a batch size besides the size of one item (`inputs.Case.batch`).
BATCH_TO_TORCH = "batch->torch"
TORCH_TO_BATCH = "torch->batch"
FRAME_TO_TORCH = "frame->torch"
BATCH_TO_CUDA = "batch->cuda"
BATCH_DIRECTIONS = (BATCH_TO_TORCH, TORCH_TO_BATCH, FRAME_TO_TORCH, BATCH_TO_CUDA)
DIRECTIONS = (NUMPY_TO_TORCH, TORCH_TO_NUMPY, HOST_TO_CUDA, CUDA_TO_HOST, REFERENCE, *BATCH_DIRECTIONS)
#: What a call's output is: the object it returns, or a destination made when the call was bound
#: that it writes into (`np.copyto(dst, a)` returns nothing).
OUTPUTS = ("result", "destination")

H2D_CEILING = "h2d_ceiling"
D2H_CEILING = "d2h_ceiling"


def public_version(version: str) -> str:
    """A version string without its local build label (PEP 440): '2.4.1+cu121' -> '2.4.1', the
    release as PyPI names it, whichever CUDA or CPU build of it was installed."""
    return str(version).split("+")[0]


def release_tuple(text: str) -> tuple[int, ...]:
    """The numeric release segment of a version string, to order releases by: '2.13.0+cpu' -> (2, 13, 0),
    '2.1.0a0+git123' -> (2, 1, 0)."""
    parts = []
    for piece in public_version(text).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class Conversion:
    """One conversion path: what a user writes, what it needs and what it gives."""

    id: str
    direction: str
    label: str
    source: str  # "numpy" or "torch": the kind of object its binding receives
    shares: bool  # shares memory in the common case (float32, C-contiguous); the probe checks
    output: str = "result"  # one of OUTPUTS
    cuda: bool = False  # needs a CUDA device: timed by the CUDA suite, not the host suite
    min_torch: str = ""
    min_numpy: str = ""
    note: str = ""
    #: id of the reference whose bandwidth bounds this path's: a figure above it is a timing error
    #: (`ceilings.violations`). Set on paths that cross PCIe.
    ceiling: str = ""
    #: each timed call must find torch's pinned-host cache empty (first call of a size), so the
    #: CUDA suite empties it before every call, outside the timed region
    cold: bool = False
    #: torch makes its host copy, with its thread pool above 32768 elements: the copy is as fast as
    #: a second core is free (bridge_bench.measure.cores), where numpy's copies run on one thread
    threaded: bool = False
    #: its colour in every plot, a slot of matplotlib's qualitative tab20 palette (0-19): fixed here
    #: so that adding or removing a path recolours no other, and distinct from the other paths of its
    #: direction (tests/test_colours.py). None: a slot derived from the id (`plots.colour`).
    colour: int | None = None
    #: timed only up to this many bytes a case (0: no limit): `t.tolist()` makes a Python object
    #: per element, seconds and hundreds of MB for a batch of megabytes
    max_bytes: int = 0

    @property
    def batch(self) -> bool:
        """Whether the path belongs to the batch family (its cases have a batch size)."""
        return self.direction in BATCH_DIRECTIONS


def _h2d(id, label, source="torch", **kw) -> Conversion:
    return Conversion(id, HOST_TO_CUDA, label, source, shares=False, cuda=True, **kw)


def _batch(id, label, source="batch", shares=False, **kw) -> Conversion:
    return Conversion(id, BATCH_TO_TORCH, label, source, shares=shares, **kw)


def _frame(id, label, source="frame", shares=False, **kw) -> Conversion:
    return Conversion(id, FRAME_TO_TORCH, label, source, shares=shares, **kw)


def _d2h(id, label, **kw) -> Conversion:
    return Conversion(id, CUDA_TO_HOST, label, "torch", shares=False, cuda=True, ceiling=D2H_CEILING, **kw)


CATALOGUE: tuple[Conversion, ...] = (
    # numpy -> torch
    Conversion("from_numpy", NUMPY_TO_TORCH, "torch.from_numpy(a)", "numpy", shares=True, colour=0),
    Conversion("as_tensor", NUMPY_TO_TORCH, "torch.as_tensor(a)", "numpy", shares=True, colour=1),
    Conversion("asarray", NUMPY_TO_TORCH, "torch.asarray(a)", "numpy", shares=True, min_torch="1.11", colour=2),
    Conversion("tensor", NUMPY_TO_TORCH, "torch.tensor(a)", "numpy", shares=False, threaded=True, colour=3),
    Conversion("Tensor_legacy", NUMPY_TO_TORCH, "torch.Tensor(a)", "numpy", shares=True, threaded=True,
               note="legacy constructor: converts to the default dtype, so only float32 can be shared", colour=4),
    Conversion("dlpack_to_torch", NUMPY_TO_TORCH, "torch.from_dlpack(a)", "numpy", shares=True, min_numpy="1.22",
               colour=5),
    # torch -> numpy
    Conversion("numpy", TORCH_TO_NUMPY, "t.numpy()", "torch", shares=True, colour=6),
    Conversion("numpy_force", TORCH_TO_NUMPY, "t.numpy(force=True)", "torch", shares=True, min_torch="1.13", colour=7),
    Conversion("np_asarray", TORCH_TO_NUMPY, "np.asarray(t)", "torch", shares=True, colour=8),
    Conversion("np_array", TORCH_TO_NUMPY, "np.array(t)", "torch", shares=False, colour=9),
    Conversion("numpy_copy", TORCH_TO_NUMPY, "t.numpy().copy()", "torch", shares=False, colour=10),
    Conversion("dlpack_to_numpy", TORCH_TO_NUMPY, "np.from_dlpack(t)", "torch", shares=True, min_numpy="1.22",
               colour=11),
    # reference ceilings, measured in the same run as everything else
    Conversion("np_copy", REFERENCE, "a.copy()", "numpy", shares=False, note="copy into fresh memory", colour=12),
    Conversion("np_copyto", REFERENCE, "np.copyto(dst, a)", "numpy", shares=False, output="destination",
               note="copy into a preallocated destination: the host copy ceiling", colour=13),
    Conversion("clone", REFERENCE, "t.clone()", "torch", shares=False, threaded=True, note="copy into fresh memory",
               colour=14),
    Conversion("copy_", REFERENCE, "dst.copy_(t)", "torch", shares=False, output="destination", threaded=True,
               note="copy into a preallocated tensor: torch's copy ceiling", colour=15),
    # host -> CUDA: every call ends with torch.cuda.synchronize() (devices.synced)
    _h2d("cuda", "t.cuda()", ceiling=H2D_CEILING, note="pageable source", colour=16),
    _h2d("to_cuda", 't.to("cuda")', ceiling=H2D_CEILING, note="pageable source", colour=17),
    _h2d("to_cuda_nb", 't.to("cuda", non_blocking=True)', ceiling=H2D_CEILING,
         note="pageable source: non_blocking cannot overlap", colour=18),
    _h2d("pin_memory_first", "t.pin_memory()  # first of its size", cold=True, min_torch="2.5",
         note="pays cudaHostAlloc: the pinned-host cache is emptied before every call (torch >= 2.5 can)", colour=19),
    _h2d("pin_memory", "t.pin_memory()  # size cached",
         note="a host copy into a cached pinned block; does not cross PCIe", colour=0),
    _h2d("to_cuda_nb_pinned", 'pinned.to("cuda", non_blocking=True)', ceiling=H2D_CEILING, colour=1),
    _h2d("pin_to_cuda_nb", 't.pin_memory().to("cuda", non_blocking=True)', ceiling=H2D_CEILING,
         note="the idiom: pin (a host copy into a cached pinned block), then the transfer, then the synchronise",
         colour=2),
    _h2d("as_tensor_cuda", 'torch.as_tensor(a, device="cuda")', "numpy", ceiling=H2D_CEILING, colour=3),
    _h2d("tensor_cuda", 'torch.tensor(a, device="cuda")', "numpy", ceiling=H2D_CEILING, colour=4),
    _h2d("from_numpy_cuda", "torch.from_numpy(a).cuda()", "numpy", ceiling=H2D_CEILING, colour=5),
    _h2d("copy_to_cuda_pinned", "dst.copy_(pinned, non_blocking=True)", output="destination",
         ceiling=H2D_CEILING, note="pinned source, preallocated GPU destination", colour=6),
    # CUDA -> host: the source is moved to the GPU at bind time
    _d2h("cpu", "t.cpu()", colour=7),
    _d2h("cpu_numpy", "t.cpu().numpy()", colour=8),
    _d2h("to_cpu_nb", 't.to("cpu", non_blocking=True); torch.cuda.synchronize()',
         note="without the synchronise the host reads the destination before the copy lands", colour=9),
    _d2h("copy_from_cuda_pinned", "pinned_dst.copy_(t, non_blocking=True)", output="destination",
         note="preallocated pinned destination", colour=10),
    # a batch from many arrays: `batch` is a list of N arrays of one shape; the references copy the
    # whole batch once into a destination made when the call is bound
    _batch("batch_tensor", "torch.tensor(batch)", threaded=True, max_bytes=1024 * 1024,
           note="torch reads a list of arrays element by element (PyTorch issue 13918) and warns so: "
                "timed up to 1 MiB a batch (0.1-1.4 s a call past it)", colour=0),
    _batch("batch_as_tensor", "torch.as_tensor(batch)", threaded=True, max_bytes=1024 * 1024,
           note="element by element, as torch.tensor(batch): timed up to 1 MiB a batch", colour=1),
    _batch("batch_stack_from_numpy", "torch.from_numpy(np.stack(batch))", colour=2),
    _batch("batch_tensor_np_array", "torch.tensor(np.array(batch))", threaded=True, colour=3),
    _batch("batch_torch_stack", "torch.stack([torch.from_numpy(a) for a in batch])", threaded=True, colour=4),
    _batch("batch_collate", "default_collate(batch)", threaded=True,
           note="torch.utils.data.default_collate: torch.as_tensor of each item, then torch.stack", colour=5),
    _batch("batch_np_stack_out", "np.stack(batch, out=buf)", output="destination",
           note="one copy of the whole batch into a preallocated buffer: the batch's copy ceiling", colour=6),
    _batch("batch_torch_stack_out", "torch.stack(tensors, out=dst)", source="tensors", output="destination",
           threaded=True, note="tensors: torch.from_numpy of each item, made when the call is bound", colour=7),
    # one tensor into many arrays: the tensor is N x (item elements)
    Conversion("unbatch_numpy", TORCH_TO_BATCH, "list(t.numpy())", "stacked", shares=True, colour=8),
    Conversion("unbatch_unbind", TORCH_TO_BATCH, "[x.numpy() for x in t.unbind()]", "stacked", shares=True,
               colour=9),
    Conversion("unbatch_tolist", TORCH_TO_BATCH, "t.tolist()", "stacked", shares=False, max_bytes=1024 * 1024,
               note="Python numbers, one object per element: timed up to 1 MiB a batch", colour=10),
    # a batch from a DataFrame of N rows: one dtype, or float32 and int32 columns in turn ("mixed")
    _frame("frame_from_numpy", "torch.from_numpy(df.to_numpy())", shares=True,
           note="pandas' copy-on-write: to_numpy() of a one-dtype frame is a read-only view, which "
                "torch.from_numpy warns about and shares", colour=11),
    _frame("frame_tensor_values", "torch.tensor(df.values)", colour=12),
    _frame("frame_from_numpy_f32", "torch.from_numpy(df.to_numpy(dtype=np.float32))", shares=True,
           note="of a float32 frame the same read-only view; of another dtype a converting copy", colour=13),
    _frame("mixed_frame_from_numpy", "torch.from_numpy(mixed_df.to_numpy())", source="mixed_frame",
           note="mixed float32 and int32 columns: to_numpy() makes one float64 array", colour=14),
    _frame("mixed_frame_tensor_values", "torch.tensor(mixed_df.values)", source="mixed_frame", colour=15),
    _frame("mixed_frame_from_numpy_f32", "torch.from_numpy(mixed_df.to_numpy(dtype=np.float32))",
           source="mixed_frame", colour=16),
    # a batch onto the GPU: the DataLoader's way against stacking on the host and copying
    Conversion("batch_loader_cuda", BATCH_TO_CUDA,
               'default_collate(batch).pin_memory().to("cuda", non_blocking=True)', "batch", shares=False,
               cuda=True, ceiling=H2D_CEILING,
               note="what DataLoader(pin_memory=True) does for a batch, then the synchronise", colour=17),
    Conversion("batch_stack_cuda", BATCH_TO_CUDA, "torch.from_numpy(np.stack(batch)).cuda()", "batch",
               shares=False, cuda=True, ceiling=H2D_CEILING, colour=18),
    # CUDA ceilings: a large pinned copy each way, timed with CUDA events (bench_cuda.TransferCeilings)
    Conversion(H2D_CEILING, REFERENCE, "dst.copy_(pinned, non_blocking=True)  # CUDA events", "torch",
               shares=False, output="destination", cuda=True,
               note="pinned host -> preallocated GPU tensor, CUDA events", colour=11),
    Conversion(D2H_CEILING, REFERENCE, "pinned_dst.copy_(t, non_blocking=True)  # CUDA events", "torch",
               shares=False, output="destination", cuda=True,
               note="GPU tensor -> preallocated pinned tensor, CUDA events", colour=16),
)

BY_ID: dict[str, Conversion] = {p.id: p for p in CATALOGUE}
PATH_IDS: tuple[str, ...] = tuple(p.id for p in CATALOGUE)


def get(path_id: str) -> Conversion:
    """The record for `path_id`; a ValueError naming it and the known ids otherwise."""
    try:
        return BY_ID[path_id]
    except KeyError:
        raise errors.InputError(f"unknown path {path_id!r}; known paths: {', '.join(PATH_IDS)}") from None


def ids(direction: str | None = None, shares: bool | None = None, cuda: bool | None = None,
        cold: bool | None = None) -> list[str]:
    """Path ids, optionally narrowed to one direction, to sharing or copying paths, to CUDA or host,
    to paths timed cold (first call of a size) or warm."""
    return [p.id for p in CATALOGUE
            if (direction is None or p.direction == direction)
            and (shares is None or p.shares == shares)
            and (cuda is None or p.cuda == cuda)
            and (cold is None or p.cold == cold)]


#: The single-array paths that need no GPU: the host suite's sweeps and peak memory, the probe's grid.
HOST_PATH_IDS: tuple[str, ...] = tuple(p.id for p in CATALOGUE if not p.cuda and not p.batch)
#: The batch family's paths that need no GPU (benchmarks/bench_batch.py; the probe's batch cases).
BATCH_PATH_IDS: tuple[str, ...] = tuple(p.id for p in CATALOGUE if not p.cuda and p.batch)
#: The batch family's reference: one copy of the whole batch; each way is read against it.
BATCH_REFERENCE = "batch_np_stack_out"
