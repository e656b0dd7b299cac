"""What runs inside benchmark processes: the bindings of the catalogue's paths, the sources, the
timing window and the looks, the counts, the machine's readings and the semantics probe. The only
layer that imports torch (tests/test_layers.py)."""
