"""Every path on every memory layout, float32, at the same two sizes as the dtype sweep.

Layouts decide whether a path can share memory at all (negative strides and non-native byte order
are refused by `torch.from_numpy`; non-contiguous tensors make `np.array` gather), so every layout
runs on every path. Layouts that cannot exist on a side (negative strides, read-only or byte-swapped
tensors) skip with the reason.
"""

from bridge_bench import inputs

from .common import direction_classes

NumpyToTorch, TorchToNumpy, Reference = direction_classes(__name__, inputs.SWEEP_SIZES, layouts=inputs.LAYOUTS)
