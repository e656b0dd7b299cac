"""The batch bridge: a list of N arrays into one tensor (and a DataFrame's rows), one tensor into N arrays.

What a dataset's samples cost to become a batch, against one copy of the whole batch into a
preallocated buffer (`np.stack(batch, out=buf)`, the family's reference): `torch.tensor(batch)`
reads the list element by element (PyTorch issue 13918), `torch.from_numpy(np.stack(batch))`
copies once. Batch sizes 1-512 by items of 64 B-4 MiB in float32, up to 32 MiB a batch
(`inputs.BATCH_SIZES`, `BATCH_ITEM_SIZES`, `BATCH_MAX_BYTES`: larger batches skip as not in the
grid; `torch.tensor(batch)` and `torch.as_tensor(batch)` up to 1 MiB, 0.1-1.4 s a call past it);
uint8 (images) at 64 items of 4 KiB; taking a batch apart at items of 4 KiB (it costs per item);
DataFrames of 512 rows of 16 columns, of one dtype and of two. Timed as the rest of the suite
(common.py), without the counts: 119 cases (35 more of the grid skip). The cuts keep the family
within 15 % of a full run's time (docs/calibration.md, "The batch family (2026-12-07)"). DataFrames need pandas in
the environment; where it is missing they skip with the reason.
"""

from bridge_bench import catalogue, inputs

from .common import LISTING, batch_class

if not LISTING:
    try:  # imported once here, in the process every benchmark process is forked from
        import pandas  # noqa: F401
    except ImportError:
        pass

BatchToTorch = batch_class(__name__, "BatchToTorch", catalogue.BATCH_TO_TORCH, inputs.BATCH_SIZES,
                           inputs.BATCH_ITEM_SIZES)
BatchToTorchUint8 = batch_class(__name__, "BatchToTorchUint8", catalogue.BATCH_TO_TORCH, [inputs.BATCH_CHECK[0]],
                                [inputs.BATCH_CHECK[1]], ["uint8"])
TorchToBatch = batch_class(__name__, "TorchToBatch", catalogue.TORCH_TO_BATCH, inputs.BATCH_SIZES,
                           inputs.SPLIT_ITEM_SIZES)
FrameToTorch = batch_class(__name__, "FrameToTorch", catalogue.FRAME_TO_TORCH, inputs.FRAME_ROWS,
                           inputs.FRAME_ROW_SIZES)
