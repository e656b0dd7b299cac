"""Every pointer from the code to a document lands: the document is in the repository and, where the
pointer names a section, the section is there. Rules are stated in code and explained in docs/; a
pointer that dangles sends the next engineer nowhere."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: `docs/methodology.md, "How many looks"`, `README ("Layout")`, `(docs/gpu.md)`: a document, then
#: maybe a section in quotes.
POINTER = re.compile(r"""(docs/[\w.-]+\.md|README(?:\.md)?|CHANGELOG\.md)"""
                     r"""(?:(?:[,:][ \t]*|[ \t]*\([ \t]*)(?:"([^"\n]{1,80})"|'([^'\n]{1,80})'))?""")
#: Documents that are not in the repository.
ELSEWHERE = re.compile(r"field[ -]notes", re.IGNORECASE)


def sources() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    keep = [ROOT / name for name in listed
            if (name.endswith((".py", ".json", ".yml", ".toml")) or name.startswith(("scripts/", ".ci/")))
            and not name.startswith(("tests/data/", "reports/", "test-artifacts/"))]
    return [path for path in keep if path.is_file() and path.name != Path(__file__).name]


def headings(document: Path) -> set[str]:
    return {line.lstrip("#").strip() for line in document.read_text().splitlines() if line.startswith("#")}


#: A line break inside prose, with the next line's indentation and comment marker: a pointer may
#: wrap, as comments and docstrings do.
WRAP = re.compile(r"[ \t]*\n[ \t]*(?:#:?[ \t]*)?")


def pointers():
    for path in sources():
        text = WRAP.sub(" ", path.read_text(errors="replace"))
        for match in POINTER.finditer(text):
            yield f"{path.relative_to(ROOT)}: {match.group(0)[:60]}", match.group(1), match.group(2) or match.group(3)


@pytest.mark.parametrize("where,document,section", list(pointers()))
def test_a_pointer_names_a_document_and_section_that_exist(where, document, section):
    file = ROOT / (document if document.endswith(".md") else document + ".md")
    assert file.is_file(), f"{where}: {document} is not in the repository"
    if section:
        assert section in headings(file), f"{where}: {document} has no section {section!r}"


def test_no_code_points_at_a_document_outside_the_repository():
    found = [f"{path.relative_to(ROOT)}: {m.group(0)}" for path in sources()
             for m in ELSEWHERE.finditer(path.read_text(errors="replace"))]
    assert not found, found
