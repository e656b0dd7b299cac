"""bridge-bench: what it costs to move data across the NumPy <-> PyTorch bridge."""

__version__ = "0.1.0"
