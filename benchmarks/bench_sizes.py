"""Every path over the whole size range, float32, C-contiguous.

26 sizes (8 B to 256 MiB, doubling) x every path: the latency curve from the per-call floor to the
memory-bound regime, enough points for the cost model (fixed overhead + bytes / bandwidth). The
dtype and layout sweeps are cut to two sizes (bench_dtypes.py, bench_layouts.py) so that a full
real run with `asv run -E existing` stays within 15 minutes on a 2-core machine.

This sweep also counts, per case, the minor page faults and the heap bytes one call keeps
(`track_faults`, `track_held_bytes`): signals that do not drift with the machine's speed, so
`bridge-bench compare` gates them tightly. Every path at every size is covered once; the dtype and
layout sweeps do without them, for time.
"""

from bridge_bench import inputs

from .common import direction_classes

NumpyToTorch, TorchToNumpy, Reference = direction_classes(__name__, inputs.SIZES, counts=True)
