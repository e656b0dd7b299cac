#!/usr/bin/env python3
"""The README's two commands on a fresh machine: `python3 dev.py bench` and `python3 dev.py test`.

Both create ./.venv (if missing) and install the project with what it needs. torch is pinned
explicitly (BRIDGE_BENCH_TORCH, default torch==2.13.0): an unpinned torch resolves to a CUDA
build of several GB, which a machine without a GPU must not pull.
"""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
TORCH = os.environ.get("BRIDGE_BENCH_TORCH", "torch==2.13.0")


def sh(*cmd: str) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    code = subprocess.call(cmd, cwd=ROOT)
    if code:
        sys.exit(code)


def install() -> None:
    if not (BIN / "python").exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    sh(str(BIN / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", ".[bench,test]", TORCH)


def main(argv: list[str]) -> None:
    if argv[:1] not in (["bench"], ["test"]):
        sys.exit("usage: python3 dev.py bench [bridge-bench run options] | python3 dev.py test [pytest options]")
    install()
    if argv[0] == "bench":
        sh(str(BIN / "bridge-bench"), "run", *argv[1:])
        return
    # The browser test answers the dashboard's CDN requests from npm copies of the same libraries.
    if shutil.which("npm"):
        sh("npm", "ci", "--prefix", "tests/browser", "--no-audit", "--no-fund", "--ignore-scripts")
    else:
        print("npm not found: the browser test will skip (it needs Debian's chromium and npm)", file=sys.stderr)
    sh(str(BIN / "python"), "-m", "pytest", *argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
