"""How each catalogue path runs: id -> a function that binds a prepared source into a zero-argument call.

Binding happens outside any timed region, so the timed body is exactly the user's call:
`functools.partial` and bound methods add no Python frame, which matters when the call itself
takes half a microsecond (`torch.from_numpy`). Preallocated destinations (`np.copyto(dst, a)`,
`dst.copy_(t)`) are allocated and touched at bind time for the same reason; a call whose record
says `output="destination"` carries that destination as its `destination` attribute, which is
what the probe reads as its output.

CUDA paths bind a call that ends with a device synchronise (`devices.synced`): a transfer's time
is the time until its data is usable, not the time to enqueue it. Their pinned sources, GPU
sources and preallocated destinations are made at bind time too. Binding one without a CUDA
device raises `Unsupported`, so they skip everywhere else with that reason.

This module imports torch; the records themselves are `bridge_bench.catalogue`, which does not.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np
import torch

from bridge_bench import catalogue
from bridge_bench.measure import devices
from bridge_bench.catalogue import Conversion
from bridge_bench.inputs import Case, Unsupported, format_size
from bridge_bench.measure.sources import make_source


def _into(dst, call: Callable[[], Any]) -> Callable[[], Any]:
    call.destination = dst
    return call


def _copyto(a: np.ndarray) -> Callable[[], None]:
    dst = np.empty_like(a)
    dst.fill(0)  # fault the pages in now, not in the first timed copy
    return _into(dst, functools.partial(np.copyto, dst, a))


def _copy_into_tensor(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    dst = torch.empty_like(t)
    dst.zero_()
    return _into(dst, functools.partial(dst.copy_, t))


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


def _pin_then_to_gpu(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    t.pin_memory()  # freed at once: torch's host cache now holds a block of this size, as in a loop
    return devices.synced(lambda: t.pin_memory().to("cuda", non_blocking=True))


def _copy_into_gpu(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    dst = torch.zeros(t.shape, dtype=t.dtype, device="cuda")
    return _into(dst, devices.synced(functools.partial(dst.copy_, t.pin_memory(), non_blocking=True)))


def _copy_into_pinned(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    dst = torch.zeros(t.shape, dtype=t.dtype, pin_memory=True)
    return _into(dst, devices.synced(functools.partial(dst.copy_, _on_gpu(t), non_blocking=True)))


def _cpu_numpy(t: torch.Tensor) -> Callable[[], np.ndarray]:
    g = _on_gpu(t)
    return devices.synced(lambda: g.cpu().numpy())


def _to_cpu_nb(t: torch.Tensor) -> Callable[[], torch.Tensor]:
    return devices.synced(functools.partial(_on_gpu(t).to, "cpu", non_blocking=True))


def _stack_into(batch: list[np.ndarray]) -> Callable[[], np.ndarray]:
    buf = np.zeros((len(batch), *batch[0].shape), dtype=batch[0].dtype)
    return _into(buf, functools.partial(np.stack, batch, out=buf))


def _torch_stack_into(tensors: list[torch.Tensor]) -> Callable[[], torch.Tensor]:
    dst = torch.zeros((len(tensors), *tensors[0].shape), dtype=tensors[0].dtype)
    return _into(dst, functools.partial(torch.stack, tensors, out=dst))


def _collate() -> Callable[[Any], Any]:
    """torch.utils.data's collate function: `default_collate` (public there since torch 1.11)."""
    from torch.utils import data

    found = getattr(data, "default_collate", None)
    if found is None:
        raise Unsupported(f"torch {torch.__version__} has no torch.utils.data.default_collate")
    return found


def _loader_to_gpu(batch: list[np.ndarray]) -> Callable[[], torch.Tensor]:
    collate = _collate()
    collate(batch).pin_memory()  # torch's pinned-host cache now holds a block of the batch's size, as in a loop
    return devices.synced(lambda: collate(batch).pin_memory().to("cuda", non_blocking=True))


BINDINGS: dict[str, Callable[[Any], Callable[[], Any]]] = {
    # numpy -> torch
    "from_numpy": lambda a: functools.partial(torch.from_numpy, a),
    "as_tensor": lambda a: functools.partial(torch.as_tensor, a),
    "asarray": lambda a: functools.partial(torch.asarray, a),
    "tensor": lambda a: functools.partial(torch.tensor, a),
    "Tensor_legacy": lambda a: functools.partial(torch.Tensor, a),
    "dlpack_to_torch": lambda a: functools.partial(torch.from_dlpack, a),
    # torch -> numpy
    "numpy": lambda t: t.numpy,
    "numpy_force": lambda t: functools.partial(t.numpy, force=True),
    "np_asarray": lambda t: functools.partial(np.asarray, t),
    "np_array": lambda t: functools.partial(np.array, t),
    "numpy_copy": _numpy_then_copy,
    "dlpack_to_numpy": lambda t: functools.partial(np.from_dlpack, t),
    # references
    "np_copy": lambda a: a.copy,
    "np_copyto": _copyto,
    "clone": lambda t: t.clone,
    "copy_": _copy_into_tensor,
    # host -> CUDA
    "cuda": lambda t: devices.synced(t.cuda),
    "to_cuda": lambda t: devices.synced(functools.partial(t.to, "cuda")),
    "to_cuda_nb": lambda t: devices.synced(functools.partial(t.to, "cuda", non_blocking=True)),
    "pin_memory_first": lambda t: devices.synced(t.pin_memory),
    "pin_memory": _warm_pin,
    "to_cuda_nb_pinned": _to_gpu_from_pinned,
    "pin_to_cuda_nb": _pin_then_to_gpu,
    "as_tensor_cuda": lambda a: devices.synced(functools.partial(torch.as_tensor, a, device="cuda")),
    "tensor_cuda": lambda a: devices.synced(functools.partial(torch.tensor, a, device="cuda")),
    "from_numpy_cuda": lambda a: devices.synced(lambda: torch.from_numpy(a).cuda()),
    "copy_to_cuda_pinned": _copy_into_gpu,
    # CUDA -> host
    "cpu": lambda t: devices.synced(_on_gpu(t).cpu),
    "cpu_numpy": _cpu_numpy,
    "to_cpu_nb": _to_cpu_nb,
    "copy_from_cuda_pinned": _copy_into_pinned,
    # a batch from many arrays
    "batch_tensor": lambda batch: functools.partial(torch.tensor, batch),
    "batch_as_tensor": lambda batch: functools.partial(torch.as_tensor, batch),
    "batch_stack_from_numpy": lambda batch: lambda: torch.from_numpy(np.stack(batch)),
    "batch_tensor_np_array": lambda batch: lambda: torch.tensor(np.array(batch)),
    "batch_torch_stack": lambda batch: lambda: torch.stack([torch.from_numpy(a) for a in batch]),
    "batch_collate": lambda batch: functools.partial(_collate(), batch),
    "batch_np_stack_out": _stack_into,
    "batch_torch_stack_out": _torch_stack_into,
    # one tensor into many arrays
    "unbatch_numpy": lambda t: lambda: list(t.numpy()),
    "unbatch_unbind": lambda t: lambda: [x.numpy() for x in t.unbind()],
    "unbatch_tolist": lambda t: t.tolist,
    # a batch from a DataFrame
    "frame_from_numpy": lambda df: lambda: torch.from_numpy(df.to_numpy()),
    "frame_tensor_values": lambda df: lambda: torch.tensor(df.values),
    "frame_from_numpy_f32": lambda df: lambda: torch.from_numpy(df.to_numpy(dtype=np.float32)),
    "mixed_frame_from_numpy": lambda df: lambda: torch.from_numpy(df.to_numpy()),
    "mixed_frame_tensor_values": lambda df: lambda: torch.tensor(df.values),
    "mixed_frame_from_numpy_f32": lambda df: lambda: torch.from_numpy(df.to_numpy(dtype=np.float32)),
    # a batch onto the GPU
    "batch_loader_cuda": _loader_to_gpu,
    "batch_stack_cuda": lambda batch: devices.synced(lambda: torch.from_numpy(np.stack(batch)).cuda()),
    # CUDA ceilings
    catalogue.H2D_CEILING: _copy_into_gpu,
    catalogue.D2H_CEILING: _copy_into_pinned,
}


def check_available(record: Conversion) -> None:
    """Raise `Unsupported` when this torch or numpy is too old for the path, or it needs a missing GPU."""
    if record.cuda:
        devices.require()
    if record.min_torch and catalogue.release_tuple(torch.__version__) < catalogue.release_tuple(record.min_torch):
        raise Unsupported(f"{record.label} needs torch >= {record.min_torch}, have {torch.__version__}")
    if record.min_numpy and catalogue.release_tuple(np.__version__) < catalogue.release_tuple(record.min_numpy):
        raise Unsupported(f"{record.label} needs numpy >= {record.min_numpy}, have {np.__version__}")


def bind(path_id: str, source) -> Callable[[], Any]:
    """The call of `path_id` on a source already made (`sources.make_source`)."""
    return BINDINGS[catalogue.get(path_id).id](source)


def output(path_id: str, call: Callable[[], Any], returned):
    """What a call of `path_id` produced: what it returned, or the destination it writes into."""
    return call.destination if catalogue.get(path_id).output == "destination" else returned


def prepare(path_id: str, case: Case) -> Callable[[], Any]:
    """The bound call for one path on one case; `Unsupported` (with the reason) when it cannot exist."""
    record = catalogue.get(path_id)
    check_available(record)
    if record.batch != (case.batch is not None):
        raise Unsupported(f"{record.label} takes {'a batch' if record.batch else 'one array'}")
    if record.max_bytes and case.total > record.max_bytes:
        raise Unsupported(f"{record.label} is timed up to {format_size(record.max_bytes)} a case")
    return BINDINGS[record.id](make_source(record.source, case))
