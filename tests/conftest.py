import pytest


def pytest_collection_modifyitems(config, items):
    """CUDA tests skip, with the reason, where torch has no CUDA device."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device: torch.cuda.is_available() is False")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
