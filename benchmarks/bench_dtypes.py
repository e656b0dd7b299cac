"""Every path on every dtype, C-contiguous, at one in-cache (32 KiB) and one DRAM-bound (64 MiB) size.

Two sizes, not the full sweep: dtype changes the per-element work (conversions in the legacy
`torch.Tensor(a)`, none in the zero-copy paths), which two points show; the full product of
15 dtypes x 26 sizes x 16 paths would not fit the 15-minute budget of a full run.
bfloat16 exists on the torch side only; numpy-side paths skip it with the reason.
"""

from bridge_bench import inputs

from .common import direction_classes

NumpyToTorch, TorchToNumpy, Reference = direction_classes(__name__, inputs.SWEEP_SIZES, dtypes=inputs.DTYPES)
