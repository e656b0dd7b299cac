#!/usr/bin/env python3
"""The README's two commands on a fresh machine: `python3 dev.py bench` and `python3 dev.py test`.

Both create ./.venv (if missing) and install the project with what it needs, again only when
pyproject.toml or the torch pin changed (a stamp in .venv records what was installed). torch is
pinned explicitly (BRIDGE_BENCH_TORCH, by default the release asv.conf.json's matrix pins, read by
bridge_bench/pins.py, which needs only the standard library): an unpinned torch resolves to a CUDA
build of several GB, which a machine without a GPU must not pull.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from bridge_bench import pins  # standard library only: importable before anything is installed

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
TORCH = os.environ.get("BRIDGE_BENCH_TORCH") or f"torch=={pins.torch_release(ROOT / 'asv.conf.json')}"
BROWSER = ROOT / "tests" / "browser"


def _fingerprint(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def _stale(stamp: Path, fingerprint: str) -> bool:
    return not stamp.exists() or stamp.read_text() != fingerprint


def sh(*cmd: str) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    code = subprocess.call(cmd, cwd=ROOT)
    if code:
        sys.exit(code)


def install() -> None:
    if not (BIN / "python").exists():
        print(f"creating {VENV}", file=sys.stderr)
        venv.create(VENV, with_pip=True)
    stamp, fingerprint = VENV / "bridge-bench-installed", _fingerprint((ROOT / "pyproject.toml").read_bytes(),
                                                                       TORCH.encode())
    if not _stale(stamp, fingerprint):
        return
    sh(str(BIN / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    sh(str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", ".[bench,test]", TORCH)
    stamp.write_text(fingerprint)


def browser_libraries() -> None:
    """The browser test answers the dashboard's CDN requests from npm copies of the same libraries."""
    if not shutil.which("npm"):
        print("npm not found: the browser test will skip (it needs Debian's chromium and npm)", file=sys.stderr)
        return
    stamp = BROWSER / "node_modules" / ".bridge-bench-installed"
    fingerprint = _fingerprint((BROWSER / "package-lock.json").read_bytes())
    if _stale(stamp, fingerprint):
        sh("npm", "ci", "--prefix", str(BROWSER), "--no-audit", "--no-fund", "--ignore-scripts")
        stamp.write_text(fingerprint)


def main(argv: list[str]) -> None:
    if argv[:1] not in (["bench"], ["test"]):
        sys.exit("usage: python3 dev.py bench [bridge-bench run options] | python3 dev.py test [pytest options]")
    install()
    if argv[0] == "bench":
        sh(str(BIN / "bridge-bench"), "run", *argv[1:])
        return
    browser_libraries()
    sh(str(BIN / "python"), "-m", "pytest", *argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
