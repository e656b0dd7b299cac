"""The torch release this project is measured with, read from the one place that pins it.

That place is asv.conf.json's matrix (`"req": {"torch": ["X.Y.Z"]}`): asv itself reads it when
it builds a managed environment, so it cannot read the pin from anywhere else. Everything else
that names the project's torch reads it from there with `torch_release`: dev.py's default
`BRIDGE_BENCH_TORCH`, the command line's "torch is not installed" message, and the GPU workflow's
default matrix (its newest release; `python -m bridge_bench.pins` prints the pin).
tests/test_pins.py fails if one of them spells the version itself.

Standard library only, and nothing else of the package: dev.py imports it on a fresh machine,
before anything is installed. asv reads its configuration as JSON5 (// and /* */ comments);
`strip_comments` removes those and nothing inside a string (a URL's //), which is all of JSON5
that the project's configurations use (tests/test_pins.py reads them both ways).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: The checkout's asv configuration (absent where the package is installed from a wheel).
CONFIG = Path(__file__).resolve().parent.parent / "asv.conf.json"
#: A JSON string (kept), or a // or /* */ comment (removed).
_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.DOTALL)


def strip_comments(text: str) -> str:
    """JSON text without its // and /* */ comments; strings are left as they are."""
    return _TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith('"') else " ", text)


def read_config(path: Path = CONFIG) -> dict:
    """An asv configuration as asv reads it (comments allowed), with the standard library only."""
    return json.loads(strip_comments(Path(path).read_text(encoding="utf-8")))


def torch_release(config: Path = CONFIG) -> str:
    """The torch release the configuration's matrix pins, e.g. '2.13.0'; ValueError unless it pins one."""
    versions = read_config(config).get("matrix", {}).get("req", {}).get("torch")
    if not (isinstance(versions, list) and len(versions) == 1 and isinstance(versions[0], str)):
        raise ValueError(f'{config}: its matrix must pin one torch release ("req": {{"torch": ["X.Y.Z"]}}), '
                         f"not {versions!r}")
    return versions[0]


def install_hint() -> str:
    """How to install the pinned torch, for a message: the pip command, or where the pin is when the
    checkout's configuration is not there (an installed wheel)."""
    try:
        return f"pip install torch=={torch_release()}"
    except (OSError, ValueError):
        return "pip install the torch release that asv.conf.json's matrix pins"


def main() -> None:
    print(torch_release())


if __name__ == "__main__":
    main()
