"""Lines for a person: progress on stderr, and the one line of a longer text that says what happened.

Every layer that tells a person how far it is prints with `progress`, on stderr and at once, so
stdout carries only the answer (a table, a JSON document, a path) and a log shows each step when it
happens. An error that quotes an exception quotes its `first_line` (the rest is detail); one that
quotes a child process quotes the `last_line` it wrote to stderr (where Python's traceback, and
most tools, say what went wrong). Standard library only: every layer imports it.
"""

from __future__ import annotations

import sys
import time
from typing import Callable


def progress(message: str, end: str = "\n") -> None:
    """`message` on stderr, flushed; `end=""` leaves the line open for a count that rewrites it ('\\r')."""
    print(message, end=end, file=sys.stderr, flush=True)


def stopwatch(prefix: str, report: Callable[[str], None] | None = progress) -> Callable[[str], None]:
    """A step reporter for a long job: `step("loading")` hands `report` 'prefix: loading (1.2 s)', the
    seconds since the stopwatch was made; with `report` None it says nothing."""
    start = time.perf_counter()

    def step(message: str) -> None:
        if report:
            report(f"{prefix}: {message} ({time.perf_counter() - start:.1f} s)")

    return step


def first_line(text: object, default: str = "no message") -> str:
    """The first non-blank line of `text` (an exception, or its message), `default` where there is none."""
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0].strip() if lines else default


def last_line(text: str | None, default: str = "no message") -> str:
    """The last non-blank line of `text` (what a process wrote to stderr), `default` where there is none."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else default


def count(done: int, total: int) -> None:
    """Progress as a count of cases, rewritten in place every 50 (the semantics probe's)."""
    if done == total or done % 50 == 0:
        progress(f"\r  {done}/{total} cases", end="\n" if done == total else "")
