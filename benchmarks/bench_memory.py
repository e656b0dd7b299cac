"""Peak memory of one conversion at 256 MiB: zero-copy paths allocate ~nothing, copies ~the array.

asv's `peakmem_` is the peak resident set of the whole benchmark process, which includes the
interpreter, torch and the shared source buffer. `peakmem_prepared` is the same process with the
same setup but without the call; the difference between the two is what the call allocates.
Nothing is timed here, so these use `setup` (the timing caveat of common.py does not apply).
"""

from bridge_bench import catalogue, inputs

from .common import LISTING, bind_or_skip

if not LISTING:  # torch, for the processes that measure (benchmarks/common.py)
    from bridge_bench.measure import bindings


class PeakMemory:
    params = [list(catalogue.HOST_PATH_IDS), [inputs.PEAKMEM_SIZE], ["float32"], ["C"]]
    param_names = ["path", "size", "dtype", "layout"]

    def setup(self, path, size, dtype, layout):
        # One call on an 8-byte array first: the first conversion of a process initialises torch
        # state lazily (~20 MiB here), which is not what the call allocates. No trial call at
        # full size: it would raise the process's peak before the measurement. Every path accepts
        # float32 C-contiguous input, so there is nothing to refuse here.
        bind_or_skip(path, inputs.Case(8, dtype, layout))
        self.call = bindings.prepare(path, inputs.Case(size, dtype, layout))

    def peakmem_convert(self, path, size, dtype, layout):
        self.call()

    def peakmem_prepared(self, path, size, dtype, layout):
        pass
