"""Host <-> CUDA transfers: the catalogue's CUDA paths, each timed until its data is usable.

Sizes run from 8 B to 1 GiB (float32, doubling): from the launch-and-synchronise floor (~10 us)
past the knee into PCIe's plateau, which only large copies reach. The dtype sweep uses one
launch-bound (32 KiB) and one bandwidth-bound (64 MiB) size, as the host suite's does.

Timing: the same `time_convert` as the host suite (common.py: the benchmark type times the bound
call in batches, preparation never timed), in the benchmark process itself (`cuda = True`: a
CUDA context does not survive a fork); every bound CUDA call ends with `torch.cuda.synchronize()`
(devices.synced), so an enqueue is never reported as a transfer. The first `pin_memory()` of a
size is the exception: each call must find torch's pinned-host cache empty, and emptying it must
stay out of the timed region. A setup hook does exactly that when a benchmark times one call per
sample, which `PinMemoryFirst` asks for itself (`number = 1`: asv_runner 0.3 would force it anyway
when a setup hook exists, a later one might not); the call costs a `cudaHostAlloc` (tens of us at
least), far above the per-sample overhead that makes setup wrong for sub-microsecond calls.

Ceilings: a 256 MiB pinned copy each way timed with CUDA events, the fastest copy as GB/s (a
`track_`). Every other transfer's bandwidth must come in under its direction's ceiling
(`bridge_bench.read.ceilings`). The ceiling's process reads it, and so does every process that measures
a transfer (benchmarks/common.py), into the run's record: on a host of two sockets, pinned memory
lands near the GPU in some processes and far from it in others, and the ceiling is the best any
process saw. asv runs a round's benchmarks in order of name, so `TransferCeilings` reports after
every transfer of its round.

Once a run (one process per case, round 1 only: bridge_bench.drive.rounds): every CUDA benchmark process
pays for a CUDA context and its own pinned and device buffers. That process measures several
consecutive windows (bridge_bench.measure.timing), each an asv sample.

Without CUDA every case skips with the reason. Parameters never depend on the machine, and nothing
here touches CUDA at import (asv's forkserver imports this once and forks every benchmark from it).
"""

from bridge_bench import catalogue, inputs, suite
from bridge_bench.measure import devices, record

from .common import TIMING, _Batches, _Conversions, bind_or_skip
from .common import version as _version  # not `version`: asv takes a module's `version` as its benchmarks'


def _ids(direction, cold=False):
    return catalogue.ids(direction, cuda=True, cold=cold)


def _params(path_ids, sizes, dtypes=("float32",)):
    return [path_ids, list(sizes), list(dtypes), ["C"]]


class _Transfers(_Conversions):
    rounds = 1
    cuda = True
    version = _version(_ids(catalogue.HOST_TO_CUDA) + _ids(catalogue.CUDA_TO_HOST), *TIMING)


class HostToCuda(_Transfers):
    params = _params(_ids(catalogue.HOST_TO_CUDA), inputs.TRANSFER_SIZES)


class CudaToHost(_Transfers):
    params = _params(_ids(catalogue.CUDA_TO_HOST), inputs.TRANSFER_SIZES)


class HostToCudaDtypes(_Transfers):
    params = _params(_ids(catalogue.HOST_TO_CUDA), inputs.TRANSFER_SWEEP_SIZES, inputs.DTYPES)


class CudaToHostDtypes(_Transfers):
    params = _params(_ids(catalogue.CUDA_TO_HOST), inputs.TRANSFER_SWEEP_SIZES, inputs.DTYPES)


class BatchToCuda(_Batches):
    """A batch onto the GPU: the DataLoader's way (collate, pin, non-blocking copy) against stacking
    on the host and `.cuda()`, each ending with the synchronise."""

    rounds = 1
    cuda = True
    params = [_ids(catalogue.BATCH_TO_CUDA), [8, inputs.BATCH_CHECK[0]], list(inputs.BATCH_ITEM_SIZES[1:]), ["float32"]]
    version = _version(_ids(catalogue.BATCH_TO_CUDA), *TIMING, _Batches.time_convert)


class PinMemoryFirst:
    """The first `pin_memory()` of a size: torch's pinned-host cache is emptied before every call."""

    params = _params(_ids(catalogue.HOST_TO_CUDA, cold=True), inputs.TRANSFER_SIZES)
    param_names = _Conversions.param_names
    timeout = _Conversions.timeout
    rounds = 1
    number = 1  # one call per sample: setup empties the cache between calls

    def setup(self, path, size, dtype, layout):
        if getattr(self, "case", None) != (path, size, dtype, layout):
            self.call = bind_or_skip(path, inputs.Case(size, dtype, layout), suite.CUDA_FIRST_PIN)
            self.case = (path, size, dtype, layout)
        devices.empty_host_cache()

    def time_first_pin(self, path, size, dtype, layout):
        self.call()


class TransferCeilings:
    """Pinned copies each way, timed on the device with CUDA events: the bound for every transfer,
    the best reading of the run (module docstring)."""

    params = _params(catalogue.ids(catalogue.REFERENCE, cuda=True), [inputs.CEILING_SIZE])
    param_names = _Conversions.param_names
    timeout = _Conversions.timeout
    unit = "GB/s"

    def track_bandwidth(self, path, size, dtype, layout):
        call = bind_or_skip(path, inputs.Case(size, dtype, layout), suite.CUDA_CEILINGS)
        own = devices.bandwidth_gbs(size, devices.event_seconds(call))
        return max(record.run_readings(path, own))
