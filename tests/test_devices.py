"""devices: the size sets, the PCIe reading, and what happens without a GPU."""

import pytest
import torch

from bridge_bench.measure import context, devices
from bridge_bench.inputs import GiB, Unsupported
from bridge_bench import inputs

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without CUDA")


def test_sizes_run_from_8_bytes_to_1_gib_and_the_check_uses_a_subset():
    assert inputs.TRANSFER_SIZES[0] == 8 and inputs.TRANSFER_SIZES[-1] == GiB
    assert all(b == 2 * a for a, b in zip(inputs.TRANSFER_SIZES, inputs.TRANSFER_SIZES[1:]))
    assert set(inputs.CHECK_SIZES) < set(inputs.TRANSFER_SIZES)
    assert inputs.CEILING_SIZE in inputs.CHECK_SIZES
    assert set(inputs.TRANSFER_SWEEP_SIZES) < set(inputs.TRANSFER_SIZES)


def _link(root, bus, speed, width):
    folder = root / bus
    folder.mkdir(parents=True)
    (folder / "current_link_speed").write_text(speed)
    (folder / "current_link_width").write_text(width)


def test_pcie_link_from_sysfs_accepts_nvidia_smi_bus_ids(tmp_path):
    _link(tmp_path, "0000:41:00.0", "32.0 GT/s PCIe\n", "16\n")
    _link(tmp_path, "0000:42:00.0", "20.0 GT/s\n", "8\n")
    assert devices.pcie_from_sysfs("00000000:41:00.0", root=tmp_path) == "Gen5 x16"
    assert devices.pcie_from_sysfs("0000:41:00.0", root=tmp_path) == "Gen5 x16"
    assert devices.pcie_from_sysfs("0000:42:00.0", root=tmp_path) == "20.0 GT/s x8"
    assert devices.pcie_from_sysfs("0000:99:00.0", root=tmp_path) is None


@NO_CUDA
def test_without_cuda_nothing_is_described_and_cases_skip_with_the_reason():
    assert devices.describe() == {}
    entry = context.machine_entry()
    assert not {"gpu", "gpu_driver", "cuda", "pcie"} & set(entry)
    with pytest.raises(Unsupported, match="no CUDA"):
        devices.require()


@pytest.mark.cuda
def test_with_cuda_the_machine_entry_names_the_gpu():
    entry = context.machine_entry()
    assert entry["gpu"] and entry["gpu_driver"] and entry["pcie"]
    assert entry["cuda"] == torch.version.cuda
    assert all(isinstance(v, str) for v in entry.values())


def test_the_gpu_described_is_the_one_cuda_visible_devices_selects(tmp_path, monkeypatch):
    """nvidia-smi is asked about cuda:0 as CUDA_VISIBLE_DEVICES maps it, not about its own first GPU."""
    calls = tmp_path / "calls"
    smi = tmp_path / "nvidia-smi"
    smi.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n'
                   'echo "NVIDIA H200, 570.86, 5, 16, 00000000:41:00.0"\n')
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", " GPU-5a1b,1")
    seen = devices._nvidia_smi()
    assert seen["name"] == "NVIDIA H200" and seen["pci.bus_id"] == "00000000:41:00.0"
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    devices._nvidia_smi()
    first, second = calls.read_text().splitlines()
    assert first.endswith("--id=GPU-5a1b") and "--id" not in second


def _fake_smi(tmp_path, monkeypatch, apps: str = ""):
    """An nvidia-smi that describes one H200 on bus 41 and lists `apps` as its compute processes."""
    smi = tmp_path / "bin" / "nvidia-smi"
    smi.parent.mkdir(parents=True)
    smi.write_text('#!/bin/sh\ncase "$*" in\n'
                   f'  *query-compute-apps*) printf "{apps}" ;;\n'
                   '  *) echo "NVIDIA H200, 570.86, 5, 16, 00000000:41:00.0" ;;\nesac\n')
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", f"{smi.parent}:/usr/bin:/bin")


def test_other_processes_on_the_gpu_are_named_and_this_one_is_not(tmp_path, monkeypatch):
    import os

    _fake_smi(tmp_path, monkeypatch, f"4242, python3, 20480 MiB\\n{os.getpid()}, python, 500 MiB\\n")
    assert devices.gpu_users() == ["4242, python3, 20480 MiB"]
    _fake_smi(tmp_path / "idle", monkeypatch)
    assert devices.gpu_users() == []


def test_the_gpus_numa_node_comes_from_sysfs_and_binds_only_where_numactl_exists(tmp_path, monkeypatch):
    _fake_smi(tmp_path, monkeypatch)
    pci = tmp_path / "pci"
    (pci / "0000:41:00.0").mkdir(parents=True)
    (pci / "0000:41:00.0" / "numa_node").write_text("1\n")
    monkeypatch.setattr(devices, "_PCI_DEVICES", pci)
    assert devices.numa_node(pci) == 1
    assert devices.numa_binding() == [], "no numactl on PATH"
    numactl = tmp_path / "bin" / "numactl"
    numactl.write_text("#!/bin/sh\nexec \"$@\"\n")
    numactl.chmod(0o755)
    assert devices.numa_binding() == [str(numactl), "--cpunodebind=1", "--membind=1"]
    (pci / "0000:41:00.0" / "numa_node").write_text("-1\n")  # a single-node host
    assert devices.numa_node(pci) is None and devices.numa_binding() == []


@NO_CUDA
def test_without_a_device_the_reason_names_the_build_and_the_driver(monkeypatch):
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(devices, "driver_version", lambda: "470.57")
    with pytest.raises(Unsupported, match=r"built for CUDA .*NVIDIA driver: 470\.57.*older than the build"):
        devices.require()
