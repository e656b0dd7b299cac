"""CUDA for the transfer benchmarks: availability, synchronising calls, event timing, pinned cache, GPU description.

Nothing here touches CUDA when the module is imported: asv's forkserver imports the suite once and
forks every benchmark process from it, and a CUDA context does not survive a fork. CUDA is first
used inside a benchmark process, when its case is prepared.

The GPU description reads `nvidia-smi` (or sysfs) instead of asking torch, so that
`bridge-bench machine` describes the card without creating a context.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from bridge_bench import inputs
from bridge_bench.inputs import GB, Unsupported




def available() -> bool:
    """Whether torch can use a CUDA device. Asks the driver for a device count; makes no context."""
    import torch

    return torch.backends.cuda.is_built() and torch.cuda.is_available()


def require() -> None:
    """Raise `Unsupported` (the reason a CUDA case skips) when there is no usable CUDA device."""
    import torch

    if not torch.backends.cuda.is_built():
        raise Unsupported(f"no CUDA: torch {torch.__version__} is built without CUDA")
    if not torch.cuda.is_available():
        raise Unsupported(f"no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__} is built "
                          f"for CUDA {torch.version.cuda}; NVIDIA driver: {driver_version() or 'none found'}; a "
                          "driver older than the build's CUDA, or CUDA_VISIBLE_DEVICES naming no GPU, also reads so)")


def synced(fn: Callable[[], Any]) -> Callable[[], Any]:
    """`fn` followed by a device synchronise: a timed call ends when its data is usable.

    Every CUDA path gets it, blocking or not. A blocking copy from pageable memory (`t.cuda()`,
    `t.cpu()`) already returns with its copy complete (torch enqueues `cudaMemcpyAsync` through a
    staging buffer, then synchronises the stream), so the synchronise finds nothing left; a
    `non_blocking` copy returns at enqueue, and without it the time would be the enqueue's. The cost
    of the synchronise itself (a few us on an idle device) is then the same for every path, so paths
    compare like with like.
    """
    import torch

    @functools.wraps(fn)
    def call():
        out = fn()
        torch.cuda.synchronize()
        return out

    return call


#: Copies a ceiling is the fastest of.
CEILING_REPEATS = 20


def event_seconds(call: Callable[[], Any], repeats: int = CEILING_REPEATS, warmup: int = 3) -> list[float]:
    """Device time of each of `repeats` calls, from CUDA events recorded around it on the current stream.

    Events time the copy on the GPU itself, without Python or launch overhead: the tightest figure
    there is, which is why the ceilings use it and every synchronised time must come in under it.
    A `synced` call is timed without its synchronise (its `__wrapped__`), which would otherwise
    put the host's wake-up between the copy's end and the end event.
    """
    import torch

    call = getattr(call, "__wrapped__", call)
    for _ in range(warmup):
        call()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return times


def ceiling_gbs(path_id: str, repeats: int = CEILING_REPEATS) -> float:
    """GB/s of a CUDA ceiling path (a pinned `inputs.CEILING_SIZE` copy, bridge_bench.catalogue) in this
    process: the fastest of `repeats` copies timed with CUDA events."""
    from bridge_bench import inputs
    from bridge_bench.measure import bindings

    call = bindings.prepare(path_id, inputs.Case(inputs.CEILING_SIZE))
    return bandwidth_gbs(inputs.CEILING_SIZE, event_seconds(call, repeats))


def plain_ceilings(nbytes: int = inputs.CEILING_SIZE, repeats: int = CEILING_REPEATS) -> dict[str, float]:
    """GB/s of a pinned `nbytes` copy each way, fastest of `repeats`, timed with CUDA events in a plain
    loop: none of the suite's bindings, preparation or timing code, to check the suite's ceilings
    against (`bridge-bench gpu-check`). Keys are the ceilings' path ids."""
    import torch

    host = torch.ones(nbytes, dtype=torch.uint8, pin_memory=True)
    device = torch.zeros(nbytes, dtype=torch.uint8, device="cuda")
    out = {}
    for pid, dst, src in (("h2d_ceiling", device, host), ("d2h_ceiling", host, device)):
        times = []
        for _ in range(repeats + 3):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            dst.copy_(src, non_blocking=True)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        out[pid] = nbytes / min(times[3:]) / GB
    return out


def bandwidth_gbs(nbytes: int, seconds: list[float]) -> float:
    """GB/s of the fastest copy: a ceiling is the best the link did, and a transfer's published time
    (the median of its quiet windows, bridge_bench.estimate) can only be slower."""
    return nbytes / min(seconds) / GB


def empty_host_cache() -> None:
    """Free the pinned blocks torch caches, so that the next `pin_memory()` pays `cudaHostAlloc` again.

    Public since torch 2.8 (`torch.accelerator.empty_host_cache`), private `_host_emptyCache` from
    2.5; older torch cannot, and the first-call case skips with that reason.
    """
    import torch

    accelerator = getattr(torch, "accelerator", None)
    if hasattr(accelerator, "empty_host_cache"):
        accelerator.empty_host_cache()
    elif hasattr(torch._C, "_host_emptyCache"):
        torch._C._host_emptyCache()
    else:
        raise Unsupported(f"torch {torch.__version__} cannot empty its pinned-host cache (needs >= 2.5)")


# --- the GPU, described for asv's machine file (keys match results.CONTEXT_KEYS) ---

_SMI_FIELDS = ("name", "driver_version", "pcie.link.gen.max", "pcie.link.width.current", "pci.bus_id")
_SPEEDS = {"2.5": 1, "5.0": 2, "8.0": 3, "16.0": 4, "32.0": 5, "64.0": 6}
_PCI_DEVICES = Path("/sys/bus/pci/devices")


def visible_gpu() -> str | None:
    """nvidia-smi's `--id` for the GPU torch calls cuda:0: the first entry of CUDA_VISIBLE_DEVICES
    (an index, a GPU-/MIG- UUID or a PCI bus id), None when unset (then cuda:0 is nvidia-smi's 0).

    An index means nvidia-smi's (PCI bus) order, which is CUDA's with CUDA_DEVICE_ORDER=PCI_BUS_ID
    and on any box of one GPU model; CUDA's default fastest-first order can differ on a mixed box.
    """
    first = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    return first or None


def _nvidia_smi() -> dict[str, str] | None:
    """The GPU torch uses as nvidia-smi sees it, or None when there is no nvidia-smi or no answer."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    gpu = visible_gpu()
    try:
        out = subprocess.run([exe, f"--query-gpu={','.join(_SMI_FIELDS)}", "--format=csv,noheader,nounits",
                              *([f"--id={gpu}"] if gpu else [])], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        return None
    values = [v.strip() for v in lines[0].split(",")]
    return dict(zip(_SMI_FIELDS, values)) if len(values) == len(_SMI_FIELDS) else None


def _sysfs_bus_id(bus_id: str) -> str:
    """nvidia-smi's bus id ('00000000:41:00.0', 8-digit domain) as sysfs names it ('0000:41:00.0')."""
    bus_id = bus_id.lower()
    if bus_id.count(":") == 2 and len(bus_id.split(":")[0]) > 4:
        bus_id = bus_id[len(bus_id.split(":")[0]) - 4:]
    return bus_id


def pcie_from_sysfs(bus_id: str, root: Path = _PCI_DEVICES) -> str | None:
    """'Gen5 x16' from /sys/bus/pci/devices/<bus id>/current_link_speed|width; None if unreadable.

    nvidia-smi prints an 8-digit domain ('00000000:41:00.0'); sysfs uses 4 ('0000:41:00.0').
    The current speed can read low on an idle GPU (link power saving), so nvidia-smi's
    `pcie.link.gen.max` is preferred when it answers.
    """
    folder = root / _sysfs_bus_id(bus_id)
    try:
        speed = (folder / "current_link_speed").read_text().split()[0]
        width = (folder / "current_link_width").read_text().strip()
    except (OSError, IndexError):
        return None
    gen = _SPEEDS.get(speed)
    return f"Gen{gen} x{width}" if gen else f"{speed} GT/s x{width}"


def _known(value: str | None) -> bool:
    return bool(value) and not value.startswith("[") and value not in ("N/A", "Unknown Error")


def driver_version() -> str | None:
    """The NVIDIA kernel driver's version, from nvidia-smi or /proc; None where there is none."""
    smi = _nvidia_smi() or {}
    if _known(smi.get("driver_version")):
        return smi["driver_version"]
    try:
        return Path("/proc/driver/nvidia/version").read_text().split("Kernel Module")[1].split()[0]
    except (OSError, IndexError):
        return None


def gpu_users() -> list[str]:
    """The compute processes nvidia-smi sees on the GPU the benchmarks use ('pid name MiB' each):
    another job's transfers share the PCIe link and the copy engines, and its kernels the GPU."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    gpu = visible_gpu()
    try:
        out = subprocess.run([exe, "--query-compute-apps=pid,process_name,used_memory", "--format=csv,noheader",
                              *([f"--id={gpu}"] if gpu else [])], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    mine = str(os.getpid())
    return [line.strip() for line in out.stdout.splitlines()
            if line.strip() and out.returncode == 0 and line.split(",")[0].strip() != mine]


def numa_node(root: Path = _PCI_DEVICES) -> int | None:
    """The NUMA node the GPU hangs off (sysfs of its PCI device), None where unknown or single-node.

    Pinned memory on the far socket of a two-socket host crosses the socket link on every copy:
    transfers are only comparable, and only comparable to their ceiling, bound to the GPU's node."""
    smi = _nvidia_smi() or {}
    bus_id = _sysfs_bus_id(smi.get("pci.bus_id", ""))
    try:
        node = int((root / bus_id / "numa_node").read_text()) if bus_id else -1
    except (OSError, ValueError):
        return None
    return node if node >= 0 else None


def numa_binding() -> list[str]:
    """`numactl` binding CPUs and memory to the GPU's NUMA node, as a command prefix; [] where the
    node is unknown or numactl is not installed."""
    node = numa_node(_PCI_DEVICES)
    exe = shutil.which("numactl")
    return [exe, f"--cpunodebind={node}", f"--membind={node}"] if node is not None and exe else []


def describe() -> dict[str, str]:
    """GPU name, driver, CUDA version and PCIe link of the GPU the benchmarks use (cuda:0, after
    CUDA_VISIBLE_DEVICES); {} when torch has no CUDA device.

    `cuda` is the CUDA runtime torch was built with (`torch.version.cuda`): that is what the copies
    run through. `pcie` is 'unknown' when neither nvidia-smi nor sysfs says.
    """
    import torch

    if not available():
        return {}
    smi = _nvidia_smi() or {}
    name = smi.get("name") or torch.cuda.get_device_name(0)
    driver = driver_version() or "unknown"
    node = numa_node()
    gen, width = smi.get("pcie.link.gen.max"), smi.get("pcie.link.width.current")
    if _known(gen) and _known(width):
        pcie = f"Gen{gen} x{width}"
    else:
        pcie = pcie_from_sysfs(smi.get("pci.bus_id", "")) if smi.get("pci.bus_id") else None
    return {"gpu": name, "gpu_driver": driver, "cuda": torch.version.cuda or "unknown", "pcie": pcie or "unknown",
            "gpu_numa_node": "unknown" if node is None else str(node)}


def main(argv: list[str] | None = None) -> None:
    """`python -m bridge_bench.measure.devices ceilings`: `plain_ceilings` as JSON, in a fresh process
    (`bridge-bench gpu-check`); `... users`: `gpu_users`, one a line (the GPU workflow's check that
    the GPU is idle)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["ceilings"]:
        print(json.dumps(plain_ceilings()))
    elif argv == ["users"]:
        for user in gpu_users():
            print(user)
    else:
        sys.exit("usage: python -m bridge_bench.measure.devices ceilings|users")


if __name__ == "__main__":
    main()
