"""The code passes the project's ruff configuration (pyproject.toml, [tool.ruff]): line length,
pycodestyle, pyflakes and the complexity bar; and no module of the package holds two jobs' worth of
lines (design.md, "The package": past about 400 lines a module usually holds two)."""

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import needs

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def test_ruff_passes_with_the_projects_configuration():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    needs("ruff", ruff is not None, "pip install -e '.[test]'")
    proc = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_module_over_the_line_bar():
    long = {str(f.relative_to(ROOT)): n for f in (ROOT / "bridge_bench").rglob("*.py")
            if (n := len(f.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"
