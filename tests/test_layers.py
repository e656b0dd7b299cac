"""The package's layers as an import rule (README, "Layout").

bridge_bench's top-level modules are the records every layer shares (the catalogue, the grid of
inputs, the classes, the rule of a published figure); `measure/` runs inside benchmark processes and
is the only layer that imports torch; `drive/` drives asv; `read/` reads results; `write/` writes
reports from what `read/` gives. A module imports its own layer and the layers below it, read
statically from every import statement, lazy ones included: a lazy import across the line is still
a dependency that one day runs."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bridge_bench"
#: What each layer may import, besides itself and the records ("" is the top level).
MAY_IMPORT = {
    "": set(),
    "measure": set(),
    "read": set(),
    "write": {"read"},
    "drive": {"measure", "read"},
    "cli": {"measure", "drive", "read", "write"},
}
LAYERS = ("measure", "drive", "read", "write")


def layer_of(module: str) -> str:
    """The layer of a dotted module name under bridge_bench ("" for the records)."""
    parts = module.split(".")[1:]
    if parts == ["cli"]:
        return "cli"
    return parts[0] if parts and parts[0] in LAYERS else ""


def imports(file: Path) -> set[str]:
    """Every module this file imports, dotted, lazy imports included."""
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def modules():
    for file in sorted(PACKAGE.rglob("*.py")):
        dotted = ".".join(("bridge_bench",) + file.relative_to(PACKAGE).with_suffix("").parts)
        yield dotted.removesuffix(".__init__"), file


@pytest.mark.parametrize("module,file", list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_a_module_imports_only_its_own_layer_and_those_below(module, file):
    layer = layer_of(module)
    allowed = MAY_IMPORT[layer] | {layer, ""}
    crossing = sorted(name for name in imports(file)
                      if name.startswith("bridge_bench.") and name.split(".")[1] in LAYERS + ("cli",)
                      and layer_of(name) not in allowed)
    assert not crossing, f"{module} ({layer or 'records'}) imports {crossing}"


@pytest.mark.parametrize("module,file", list(modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_only_the_measuring_layer_imports_torch(module, file):
    torch = sorted(name for name in imports(file) if name == "torch" or name.startswith("torch."))
    assert layer_of(module) == "measure" or not torch, f"{module} imports {torch}"


def test_the_rule_sees_a_lazy_import_across_the_line(tmp_path):
    """The checker itself: an import inside a function counts."""
    file = tmp_path / "m.py"
    file.write_text("def f():\n    from bridge_bench.measure import timing\n    import torch\n")
    assert {"bridge_bench.measure.timing", "torch"} <= imports(file)
