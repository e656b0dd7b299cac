"""The catalogue: every way bridge-bench moves data across the NumPy <-> PyTorch bridge.

One `Path` record per conversion. The asv suite, the semantics probe and the reports read this
list and nothing else, so adding a path here is the only edit a new path needs.

A record's `bind(source)` returns a zero-argument callable that performs the conversion on an
already prepared source. Binding happens outside any timed region, so the timed body is exactly
the user's call: `functools.partial` and bound methods add no Python frame, which matters when
the call itself takes half a microsecond (`torch.from_numpy`). Preallocated destinations
(`np.copyto(dst, a)`, `dst.copy_(t)`) are allocated and touched at bind time for the same reason.

CUDA paths (`cuda=True`) bind a call that ends with a device synchronise (`devices.synced`): a
transfer's time is the time until its data is usable, not the time to enqueue it. Their pinned
sources, GPU sources and preallocated destinations are made at bind time too. Binding one without
a CUDA device raises `Unsupported`, so they skip everywhere else with that reason.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch

from bridge_bench import devices
from bridge_bench.inputs import Case, Unsupported, make_source

NUMPY_TO_TORCH = "numpy->torch"
TORCH_TO_NUMPY = "torch->numpy"
REFERENCE = "reference"
HOST_TO_CUDA = "host->cuda"
CUDA_TO_HOST = "cuda->host"
DIRECTIONS = (NUMPY_TO_TORCH, TORCH_TO_NUMPY, HOST_TO_CUDA, CUDA_TO_HOST, REFERENCE)
#: Directions the host (CPU) suite times; CUDA transfers have a suite of their own.
HOST_DIRECTIONS = (NUMPY_TO_TORCH, TORCH_TO_NUMPY, REFERENCE)


def _version(text: str) -> tuple[int, ...]:
    """Leading numeric release of a version string: '2.13.0+cpu' -> (2, 13, 0)."""
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit()) if piece[:1].isdigit() else ""
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


@dataclass(frozen=True)
class Path:
    """One conversion path: what a user writes, and how to run it on a prepared source."""

    id: str
    direction: str
    label: str
    source: str  # "numpy" or "torch": the kind of object `bind` receives
    bind: Callable[[Any], Callable[[], Any]] = field(repr=False)
    shares: bool  # shares memory in the common case (float32, C-contiguous); the probe checks
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

    def check_available(self) -> None:
        """Raise `Unsupported` when this torch or numpy is too old for the path, or it needs a missing GPU."""
        if self.cuda:
            devices.require()
        if self.min_torch and _version(torch.__version__) < _version(self.min_torch):
            raise Unsupported(f"{self.label} needs torch >= {self.min_torch}, have {torch.__version__}")
        if self.min_numpy and _version(np.__version__) < _version(self.min_numpy):
            raise Unsupported(f"{self.label} needs numpy >= {self.min_numpy}, have {np.__version__}")


def _copyto(a: np.ndarray) -> Callable[[], None]:
    dst = np.empty_like(a)
    dst.fill(0)  # fault the pages in now, not in the first timed copy
    return functools.partial(np.copyto, dst, a)


def _copy_into_tensor(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    dst = torch.empty_like(t)
    dst.zero_()
    return functools.partial(dst.copy_, t)


def _numpy_then_copy(t: torch.Tensor) -> Callable[[], np.ndarray]:
    return lambda: t.numpy().copy()


def _warm_pin(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    t.pin_memory()  # freed at once: torch's host cache now holds a block of this size
    return devices.synced(t.pin_memory)


def _on_gpu(t: torch.Tensor) -> torch.Tensor:
    g = t.to("cuda")
    torch.cuda.synchronize()
    return g


def _to_gpu_from_pinned(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    return devices.synced(functools.partial(t.pin_memory().to, "cuda", non_blocking=True))


def _copy_into_gpu(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    dst = torch.zeros(t.shape, dtype=t.dtype, device="cuda")
    return devices.synced(functools.partial(dst.copy_, t.pin_memory(), non_blocking=True))


def _copy_into_pinned(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    dst = torch.zeros(t.shape, dtype=t.dtype, pin_memory=True)
    return devices.synced(functools.partial(dst.copy_, _on_gpu(t), non_blocking=True))


def _cpu_numpy(t: torch.Tensor) -> Callable[[], np.ndarray]:
    g = _on_gpu(t)
    return devices.synced(lambda: g.cpu().numpy())


def _to_cpu_nb(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    return devices.synced(functools.partial(_on_gpu(t).to, "cpu", non_blocking=True))


H2D_CEILING = "h2d_ceiling"
D2H_CEILING = "d2h_ceiling"


CATALOGUE: tuple[Path, ...] = (
    # numpy -> torch
    Path("from_numpy", NUMPY_TO_TORCH, "torch.from_numpy(a)", "numpy",
         lambda a: functools.partial(torch.from_numpy, a), shares=True),
    Path("as_tensor", NUMPY_TO_TORCH, "torch.as_tensor(a)", "numpy",
         lambda a: functools.partial(torch.as_tensor, a), shares=True),
    Path("asarray", NUMPY_TO_TORCH, "torch.asarray(a)", "numpy",
         lambda a: functools.partial(torch.asarray, a), shares=True, min_torch="1.11"),
    Path("tensor", NUMPY_TO_TORCH, "torch.tensor(a)", "numpy",
         lambda a: functools.partial(torch.tensor, a), shares=False),
    Path("Tensor_legacy", NUMPY_TO_TORCH, "torch.Tensor(a)", "numpy",
         lambda a: functools.partial(torch.Tensor, a), shares=True,
         note="legacy constructor: converts to the default dtype, so only float32 can be shared"),
    Path("dlpack_to_torch", NUMPY_TO_TORCH, "torch.from_dlpack(a)", "numpy",
         lambda a: functools.partial(torch.from_dlpack, a), shares=True, min_numpy="1.22"),
    # torch -> numpy
    Path("numpy", TORCH_TO_NUMPY, "t.numpy()", "torch", lambda t: t.numpy, shares=True),
    Path("numpy_force", TORCH_TO_NUMPY, "t.numpy(force=True)", "torch",
         lambda t: functools.partial(t.numpy, force=True), shares=True, min_torch="1.13"),
    Path("np_asarray", TORCH_TO_NUMPY, "np.asarray(t)", "torch",
         lambda t: functools.partial(np.asarray, t), shares=True),
    Path("np_array", TORCH_TO_NUMPY, "np.array(t)", "torch",
         lambda t: functools.partial(np.array, t), shares=False),
    Path("numpy_copy", TORCH_TO_NUMPY, "t.numpy().copy()", "torch", _numpy_then_copy, shares=False),
    Path("dlpack_to_numpy", TORCH_TO_NUMPY, "np.from_dlpack(t)", "torch",
         lambda t: functools.partial(np.from_dlpack, t), shares=True, min_numpy="1.22"),
    # reference ceilings, measured in the same run as everything else
    Path("np_copy", REFERENCE, "a.copy()", "numpy", lambda a: a.copy, shares=False,
         note="copy into fresh memory"),
    Path("np_copyto", REFERENCE, "np.copyto(dst, a)", "numpy", _copyto, shares=False,
         note="copy into a preallocated destination: the host copy ceiling"),
    Path("clone", REFERENCE, "t.clone()", "torch", lambda t: t.clone, shares=False,
         note="copy into fresh memory"),
    Path("copy_", REFERENCE, "dst.copy_(t)", "torch", _copy_into_tensor, shares=False,
         note="copy into a preallocated tensor: torch's copy ceiling"),
    # host -> CUDA: every call ends with torch.cuda.synchronize() (devices.synced)
    Path("cuda", HOST_TO_CUDA, "t.cuda()", "torch", lambda t: devices.synced(t.cuda), shares=False,
         cuda=True, ceiling=H2D_CEILING, note="pageable source"),
    Path("to_cuda", HOST_TO_CUDA, 't.to("cuda")', "torch",
         lambda t: devices.synced(functools.partial(t.to, "cuda")), shares=False, cuda=True,
         ceiling=H2D_CEILING, note="pageable source"),
    Path("to_cuda_nb", HOST_TO_CUDA, 't.to("cuda", non_blocking=True)', "torch",
         lambda t: devices.synced(functools.partial(t.to, "cuda", non_blocking=True)), shares=False,
         cuda=True, ceiling=H2D_CEILING, note="pageable source: non_blocking cannot overlap"),
    Path("pin_memory_first", HOST_TO_CUDA, "t.pin_memory()  # first of its size", "torch",
         lambda t: devices.synced(t.pin_memory), shares=False, cuda=True, cold=True,
         note="pays cudaHostAlloc: the pinned-host cache is emptied before every call"),
    Path("pin_memory", HOST_TO_CUDA, "t.pin_memory()  # size cached", "torch", _warm_pin, shares=False,
         cuda=True, note="a host copy into a cached pinned block; does not cross PCIe"),
    Path("to_cuda_nb_pinned", HOST_TO_CUDA, 'pinned.to("cuda", non_blocking=True)', "torch",
         _to_gpu_from_pinned, shares=False, cuda=True, ceiling=H2D_CEILING),
    Path("as_tensor_cuda", HOST_TO_CUDA, 'torch.as_tensor(a, device="cuda")', "numpy",
         lambda a: devices.synced(functools.partial(torch.as_tensor, a, device="cuda")), shares=False,
         cuda=True, ceiling=H2D_CEILING),
    Path("tensor_cuda", HOST_TO_CUDA, 'torch.tensor(a, device="cuda")', "numpy",
         lambda a: devices.synced(functools.partial(torch.tensor, a, device="cuda")), shares=False,
         cuda=True, ceiling=H2D_CEILING),
    Path("from_numpy_cuda", HOST_TO_CUDA, "torch.from_numpy(a).cuda()", "numpy",
         lambda a: devices.synced(lambda: torch.from_numpy(a).cuda()), shares=False, cuda=True,
         ceiling=H2D_CEILING),
    Path("copy_to_cuda_pinned", HOST_TO_CUDA, "dst.copy_(pinned, non_blocking=True)", "torch",
         _copy_into_gpu, shares=False, cuda=True, ceiling=H2D_CEILING,
         note="pinned source, preallocated GPU destination"),
    # CUDA -> host: the source is moved to the GPU at bind time
    Path("cpu", CUDA_TO_HOST, "t.cpu()", "torch", lambda t: devices.synced(_on_gpu(t).cpu), shares=False,
         cuda=True, ceiling=D2H_CEILING),
    Path("cpu_numpy", CUDA_TO_HOST, "t.cpu().numpy()", "torch", _cpu_numpy, shares=False, cuda=True,
         ceiling=D2H_CEILING),
    Path("to_cpu_nb", CUDA_TO_HOST, 't.to("cpu", non_blocking=True); torch.cuda.synchronize()', "torch",
         _to_cpu_nb, shares=False, cuda=True, ceiling=D2H_CEILING,
         note="without the synchronise the host reads the destination before the copy lands"),
    Path("copy_from_cuda_pinned", CUDA_TO_HOST, "pinned_dst.copy_(t, non_blocking=True)", "torch",
         _copy_into_pinned, shares=False, cuda=True, ceiling=D2H_CEILING,
         note="preallocated pinned destination"),
    # CUDA ceilings: a large pinned copy each way, timed with CUDA events (bench_cuda.Ceilings)
    Path(H2D_CEILING, REFERENCE, "dst.copy_(pinned, non_blocking=True)  # CUDA events", "torch", _copy_into_gpu,
         shares=False, cuda=True, note="pinned host -> preallocated GPU tensor, CUDA events"),
    Path(D2H_CEILING, REFERENCE, "pinned_dst.copy_(t, non_blocking=True)  # CUDA events", "torch", _copy_into_pinned,
         shares=False, cuda=True, note="GPU tensor -> preallocated pinned tensor, CUDA events"),
)

BY_ID: dict[str, Path] = {p.id: p for p in CATALOGUE}
PATH_IDS: tuple[str, ...] = tuple(BY_ID)


def get(path_id: str) -> Path:
    """The record for `path_id`; a ValueError naming it and the known ids otherwise."""
    try:
        return BY_ID[path_id]
    except KeyError:
        raise ValueError(f"unknown path {path_id!r}; known paths: {', '.join(PATH_IDS)}") from None


def ids(direction: str | None = None, shares: bool | None = None, cuda: bool | None = None) -> list[str]:
    """Path ids, optionally narrowed to one direction, to sharing or copying paths, to CUDA or host."""
    return [p.id for p in CATALOGUE
            if (direction is None or p.direction == direction)
            and (shares is None or p.shares == shares)
            and (cuda is None or p.cuda == cuda)]


#: The paths the host suite and the semantics probe run: everything that needs no GPU.
HOST_PATH_IDS: tuple[str, ...] = tuple(ids(cuda=False))


def prepare(path_id: str, case: Case) -> Callable[[], Any]:
    """The bound call for one path on one case; `Unsupported` (with the reason) when it cannot exist."""
    path = get(path_id)
    path.check_available()
    return path.bind(make_source(path.source, case))
