"""What was wrong with the input: one line per file or folder, with its kind, and a summary of a few lines.

A nightly history can hold hundreds of files; a thousand lines of warnings printed above a report's
answer hide it. Each problem is still one line naming its file (`Problem`, a `str`, so that it
prints, compares and serialises as the line it is), and `summary` tells how many there were, of
which kinds, and the first few, after the answer.
"""

from __future__ import annotations

from collections import Counter

#: Up to this many problems are printed one a line; more are summarized.
SHOWN = 5


class Problem(str):
    """A line that names its file or folder first, and its `kind`: what went wrong, in a few words,
    the same for every file that went wrong that way."""

    kind: str

    def __new__(cls, line: str, kind: str) -> Problem:
        problem = super().__new__(cls, line)
        problem.kind = kind
        return problem


def unique(lines: list[str]) -> list[str]:
    """The lines in order, each once (two sides of a comparison read the same folder)."""
    return list(dict.fromkeys(lines))


def summary(lines: list[str], listed: str = "") -> list[str]:
    """Every line where there are at most `SHOWN`; else the count, the kinds and the first few,
    and where all of them are (`listed`, when they are)."""
    lines = unique(lines)
    if len(lines) <= SHOWN:
        return lines
    kinds = Counter(getattr(line, "kind", "other") for line in lines)
    first = SHOWN - 2
    return [f"{len(lines)} input problems: " + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()),
            *lines[:first], f"... and {len(lines) - first} more" + (f": {listed}" if listed else "")]
