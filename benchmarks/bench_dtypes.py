"""Every path on every dtype, C-contiguous, at one in-cache (32 KiB) and one DRAM-bound (64 MiB) size.

Two sizes, not the full sweep: dtype changes the per-element work (conversions in the legacy
`torch.Tensor(a)`, none in the zero-copy paths), which two points show; the full product of
15 dtypes x 26 sizes x 16 paths would not fit the 15-minute budget of a full run.
bfloat16 exists on the torch side only; numpy-side paths skip it with the reason.
"""

from bridge_bench import inputs, paths

from .common import _Conversions, host_params


class NumpyToTorch(_Conversions):
    params = host_params(paths.NUMPY_TO_TORCH, inputs.SWEEP_SIZES, dtypes=inputs.DTYPES)


class TorchToNumpy(_Conversions):
    params = host_params(paths.TORCH_TO_NUMPY, inputs.SWEEP_SIZES, dtypes=inputs.DTYPES)


class Reference(_Conversions):
    params = host_params(paths.REFERENCE, inputs.SWEEP_SIZES, dtypes=inputs.DTYPES)
