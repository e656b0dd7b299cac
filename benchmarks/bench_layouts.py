"""Every path on every memory layout, float32, at the same two sizes as the dtype sweep.

Layouts decide whether a path can share memory at all (negative strides and non-native byte order
are refused by `torch.from_numpy`; non-contiguous tensors make `np.array` gather), so every layout
runs on every path. Layouts that cannot exist on a side (negative strides, read-only or byte-swapped
tensors) skip with the reason.
"""

from bridge_bench import inputs, paths

from .common import _Conversions, host_params


class NumpyToTorch(_Conversions):
    params = host_params(paths.NUMPY_TO_TORCH, inputs.SWEEP_SIZES, layouts=inputs.LAYOUTS)


class TorchToNumpy(_Conversions):
    params = host_params(paths.TORCH_TO_NUMPY, inputs.SWEEP_SIZES, layouts=inputs.LAYOUTS)


class Reference(_Conversions):
    params = host_params(paths.REFERENCE, inputs.SWEEP_SIZES, layouts=inputs.LAYOUTS)
