"""The context every result needs: versions, torch threads, transparent huge pages, CPU model.

Copy speeds here move 2-4x with torch's thread count and with transparent huge pages (torch's
fresh allocations fault 4 KiB pages unless THP applies, and `THP_MEM_ALLOC_ENABLE=1` makes torch
ask for it). asv puts every key of the machine entry into each result's `params`, and the dashboard
offers each as a filter, so `machine_entry()` is written into asv's machine file before a run.
In a managed environment asv's `req` matrix overrides the `torch` and `numpy` keys with the
environment's own versions. Where torch sees a CUDA device the entry also names the GPU, its
driver, torch's CUDA version and the PCIe link (devices.describe), so GPU results can be filtered
and compared by card.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from bridge_bench import errors

_THP = Path("/sys/kernel/mm/transparent_hugepage")


def _selected(path: Path) -> str:
    """The bracketed choice in a sysfs mode file ('always [madvise] never' -> 'madvise')."""
    try:
        text = path.read_text()
    except OSError:
        return "unknown"
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return text.strip() or "unknown"


def thp_enabled() -> str:
    return _selected(_THP / "enabled")


def thp_defrag() -> str:
    return _selected(_THP / "defrag")


def thp_mem_alloc_enable() -> str:
    return os.environ.get("THP_MEM_ALLOC_ENABLE", "unset")


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str]:
    import numpy
    import torch

    return {"torch": torch.__version__, "numpy": numpy.__version__}


def machine_entry() -> dict[str, str]:
    """Keys bridge-bench adds to asv's machine entry (asv wants strings); GPU keys only with a GPU."""
    from bridge_bench.measure import devices

    return {
        **devices.describe(),
        **versions(),
        "cpu": cpu_model(),
        "torch_threads": str(torch_threads()),
        "thp": thp_enabled(),
        "thp_defrag": thp_defrag(),
        "THP_MEM_ALLOC_ENABLE": thp_mem_alloc_enable(),
    }


def default_machine_file() -> Path:
    return Path(os.path.expanduser("~/.asv-machine.json"))


def update_machine_file(machine: str, extra: dict[str, str], path: Path | None = None) -> dict:
    """Merge asv's defaults, what the file already holds for `machine`, and `extra`; write it back.

    Other machines in the file and keys we do not set are kept. A file that is not valid JSON is
    left untouched and reported (ValueError naming it).
    """
    from asv.machine import Machine

    path = path or default_machine_file()
    data = {"version": 1}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise errors.InputError(f"{path}: not a valid asv machine file ({exc}); fix or move it") from None
        if not isinstance(data, dict):
            raise errors.InputError(f"{path}: not a valid asv machine file (expected a JSON object)")
    entry = {**Machine.get_defaults(), **data.get(machine, {}), **extra, "machine": machine}
    data[machine] = entry
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=4, sort_keys=True) + "\n")
    tmp.replace(path)
    return entry
