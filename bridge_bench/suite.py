"""The asv suite described once: every benchmark by module, class and method, and what it sweeps.

`benchmarks/` names its host timing classes and methods from here, and the library reads results
by it: the sweep of a row and its context tracks (`results`), which benchmarks sweep size
(`analysis`), which benchmark times a zero-copy path (`fidelity`), which rows are timed looks
(`estimate`, `compare`), what the GPU check runs (`scripts/gpu-check`). No benchmark name is
spelled anywhere else. tests/test_asv_suite.py holds this list against what asv discovers in
`benchmarks/`, so a benchmark added there without a line here fails a test. No torch here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bridge_bench import catalogue

#: The method of the timed benchmarks (benchmarks/common.py, `_CallTime`): their samples are looks.
TIMED = "time_convert"
#: Per-call counts of the size sweep (benchmarks/common.py, `_counted`).
FAULTS, HELD_BYTES = "track_faults", "track_held_bytes"
#: Peak memory of a call, and of the same process without it (benchmarks/bench_memory.py).
PEAKMEM_CONVERT, PEAKMEM_PREPARED = "peakmem_convert", "peakmem_prepared"
#: The sweep of the benchmarks that report what their processes saw rather than a measurement.
CONTEXT = "context"
#: The sweep of the batch family (benchmarks/bench_batch.py): its cases have a batch size.
BATCH = "batch"
#: The host timing classes of each sweep module, one per direction (`common.direction_classes`).
HOST_CLASSES = (("NumpyToTorch", catalogue.NUMPY_TO_TORCH), ("TorchToNumpy", catalogue.TORCH_TO_NUMPY),
                ("Reference", catalogue.REFERENCE))


@dataclass(frozen=True)
class Benchmark:
    module: str
    cls: str | None
    method: str
    sweep: str  # what its rows are in the report: "sizes", "dtypes", "layouts", "batch", "cuda", "memory", "context"
    sweeps_size: bool  # its cases run over many sizes (a latency curve), not two
    direction: str | None = None

    @property
    def has_batch(self) -> bool:
        """Whether its parameters are (path, batch, size, dtype): the batch family's."""
        return self.direction in catalogue.BATCH_DIRECTIONS

    @property
    def name(self) -> str:
        """asv's name of the benchmark: module.Class.method."""
        return ".".join(part for part in (self.module, self.cls, self.method) if part)


def _host(module: str, sweep: str, sweeps_size: bool, methods=(TIMED,)) -> list[Benchmark]:
    return [Benchmark(module, cls, method, sweep, sweeps_size, direction)
            for cls, direction in HOST_CLASSES for method in methods]


BENCHMARKS: tuple[Benchmark, ...] = (
    *_host("bench_sizes", "sizes", True, (TIMED, FAULTS, HELD_BYTES)),
    *_host("bench_dtypes", "dtypes", False),
    *_host("bench_layouts", "layouts", False),
    Benchmark("bench_batch", "BatchToTorch", TIMED, BATCH, False, catalogue.BATCH_TO_TORCH),
    Benchmark("bench_batch", "BatchToTorchUint8", TIMED, BATCH, False, catalogue.BATCH_TO_TORCH),
    Benchmark("bench_batch", "TorchToBatch", TIMED, BATCH, False, catalogue.TORCH_TO_BATCH),
    Benchmark("bench_batch", "FrameToTorch", TIMED, BATCH, False, catalogue.FRAME_TO_TORCH),
    Benchmark("bench_memory", "PeakMemory", PEAKMEM_CONVERT, "memory", False),
    Benchmark("bench_memory", "PeakMemory", PEAKMEM_PREPARED, "memory", False),
    Benchmark("bench_cuda", "HostToCuda", TIMED, "cuda", True, catalogue.HOST_TO_CUDA),
    Benchmark("bench_cuda", "CudaToHost", TIMED, "cuda", True, catalogue.CUDA_TO_HOST),
    Benchmark("bench_cuda", "HostToCudaDtypes", TIMED, "cuda", False, catalogue.HOST_TO_CUDA),
    Benchmark("bench_cuda", "CudaToHostDtypes", TIMED, "cuda", False, catalogue.CUDA_TO_HOST),
    Benchmark("bench_cuda", "BatchToCuda", TIMED, "cuda", False, catalogue.BATCH_TO_CUDA),
    Benchmark("bench_cuda", "PinMemoryFirst", "time_first_pin", "cuda", True, catalogue.HOST_TO_CUDA),
    Benchmark("bench_cuda", "TransferCeilings", "track_bandwidth", "cuda", False, catalogue.REFERENCE),
    Benchmark("bench_context", None, "track_torch_threads", CONTEXT, False),
    Benchmark("bench_context", None, "track_thp_mem_alloc_enable", CONTEXT, False),
    Benchmark("bench_context", None, "track_parallel_speedup", CONTEXT, False),
    Benchmark("bench_context", None, "track_call_time", CONTEXT, False),
    Benchmark("bench_context", None, "track_memory_bandwidth", CONTEXT, False),
)
BY_NAME: dict[str, Benchmark] = {b.name: b for b in BENCHMARKS}

#: What needs a CUDA device; of it, what the GPU check (`scripts/gpu-check`) runs: the size sweeps
#: of each direction, the first pin and the ceilings, with the context.
CUDA = tuple(b for b in BENCHMARKS if b.sweep == "cuda")
CUDA_SIZE_SWEEPS = tuple(b for b in CUDA if b.sweeps_size)
CUDA_CEILINGS = next(b for b in CUDA if b.cls == "TransferCeilings")
CUDA_FIRST_PIN = next(b for b in CUDA if b.cls == "PinMemoryFirst")
TORCH_THREADS = BY_NAME["bench_context.track_torch_threads"]
THP_MEM_ALLOC_ENABLE = BY_NAME["bench_context.track_thp_mem_alloc_enable"]
PARALLEL_SPEEDUP = BY_NAME["bench_context.track_parallel_speedup"]
CALL_TIME = BY_NAME["bench_context.track_call_time"]
MEMORY_BANDWIDTH = BY_NAME["bench_context.track_memory_bandwidth"]
#: What the machine gave a run (free cores, CPU speed, memory bandwidth): read in every round.
EVERY_ROUND = (PARALLEL_SPEEDUP, CALL_TIME, MEMORY_BANDWIDTH)
CONTEXT_TRACKS = (TORCH_THREADS, THP_MEM_ALLOC_ENABLE, *EVERY_ROUND)


def sweep(name: str) -> str:
    """The sweep of a benchmark; for one this suite no longer has (an old result file), its module's."""
    known = BY_NAME.get(name)
    return known.sweep if known else name.split(".", 1)[0].removeprefix("bench_")


def moved_bytes(name: str, values) -> int | None:
    """The bytes a case of benchmark `name` moves, from its parameters after the path: the size, or
    for the batch family (batch, size, ...) the whole batch's."""
    known = BY_NAME.get(name)
    if known and known.has_batch:
        return values[0] * values[1]
    return values[0] if values else None


def sweeps_size(name: str) -> bool:
    known = BY_NAME.get(name)
    return bool(known and known.sweeps_size)


def is_timed(name: str) -> bool:
    """Whether a benchmark's samples are looks (`TIMED`), by its method name."""
    return name.rsplit(".", 1)[-1] == TIMED


def short(name: str) -> str:
    """A timed benchmark's name without its method, as tables show it."""
    return name.removesuffix("." + TIMED)


def host_timing(module: str, direction: str) -> Benchmark:
    """The host timing benchmark of `direction` in a sweep module, e.g. bench_sizes' NumpyToTorch."""
    return next(b for b in BENCHMARKS if b.module == module and b.method == TIMED and b.direction == direction)


def regex(benchmark: Benchmark, cases: str = "") -> str:
    """An asv --bench regex for every case of one benchmark, or for the cases whose parameters
    (asv's text of them, without the parentheses) match `cases`."""
    name = "^" + re.escape(benchmark.name)
    return name + (rf"\({cases}\)$" if cases else r"(\(|$)")


def with_readings(bench: list[str]) -> list[str]:
    """A selection of the suite (`--bench` regexes; none: everything) with the context tracks added:
    a run of a few cases reads what the machine gave it as a full run does, and compare judges its
    cases against those readings (a slow stretch can cover the whole of a short run)."""
    return [*bench, *(regex(b) for b in CONTEXT_TRACKS)] if bench else []
