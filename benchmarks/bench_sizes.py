"""Every path over the whole size range, float32, C-contiguous.

26 sizes (8 B to 256 MiB, doubling) x every path: the latency curve from the per-call floor to the
memory-bound regime, enough points for the cost model (fixed overhead + bytes / bandwidth). The
dtype and layout sweeps are cut to two sizes (bench_dtypes.py, bench_layouts.py) so that a full
real run with `asv run -E existing` stays within 15 minutes on a 2-core machine.
"""

from bridge_bench import inputs

from .common import direction_classes

NumpyToTorch, TorchToNumpy, Reference = direction_classes(__name__, inputs.SIZES)
