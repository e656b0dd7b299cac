"""A case run in a forked child: a case that aborts the interpreter or hangs becomes a reason, not a
dead benchmark run, and a count comes from a process that ran nothing else."""

from __future__ import annotations

import os
import pickle
import signal
import sys
import tempfile
import traceback
from typing import Any, Callable

#: A child that has not answered after this long is killed and the case recorded as hanging.
CHILD_TIMEOUT_S = 240


class Refused(NotImplementedError):
    """The case cannot be timed here: it does not exist, raises, crashes or hangs. The text says which."""


class Crashed(Refused):
    """The child died of a signal (SIGALRM: it hung past its time). `said` is what it printed last
    on stderr that explains it: a C++ abort's `what():` message, else its first line."""

    def __init__(self, sig: signal.Signals, said: str, timeout_s: int):
        self.signal, self.said = sig.name, said
        super().__init__(f"hangs (no result after {timeout_s} s)" if sig == signal.SIGALRM
                         else f"crashes the interpreter ({sig.name})")


def _last_words(stderr: str) -> str:
    said = [line.strip() for line in stderr.splitlines() if line.strip()]
    what = [line.split("what():", 1)[1].strip() for line in said if "what():" in line]
    return (what or said or [""])[0][:300]


def in_child(work: Callable[[], Any], timeout_s: int = CHILD_TIMEOUT_S) -> Any:
    """Run `work()` in a forked child and return its (picklable) result.

    Why a child: some cases abort the interpreter (SIGABRT from a C++ exception) or hang, which
    must become a reason, not a dead benchmark run; and a count (faults, bytes) must come from a
    process that ran nothing else. The parent must not have started torch's OpenMP pool: a parallel
    region in a child forked after that deadlocks, which is why a look tries its case in a child
    before the benchmark process runs anything itself.

    `Refused` is raised for a child that raised `NotImplementedError` (its message), `Crashed` for
    one that crashed (the signal, what it said) or hung; any other exception in the child is raised
    here as RuntimeError with its text. The benchmarks' first look at a case and every case of the
    semantics probe run here. What the child writes to stderr is passed on to this process's.
    """
    read_end, write_end = os.pipe()
    said = tempfile.TemporaryFile()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        os.dup2(said.fileno(), 2)
        signal.alarm(timeout_s)
        try:
            payload = ("ok", work())
        except NotImplementedError as exc:
            payload = ("refused", str(exc))
        except BaseException as exc:  # noqa: BLE001 - everything must reach the parent as text
            payload = ("error", describe(exc) + "\n" + traceback.format_exc())
        with os.fdopen(write_end, "wb") as fh:
            pickle.dump(payload, fh)
        sys.stderr.flush()
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    with said:
        said.seek(0)
        stderr = said.read().decode(errors="replace")
    sys.stderr.write(stderr)
    if os.WIFSIGNALED(status):
        raise Crashed(signal.Signals(os.WTERMSIG(status)), _last_words(stderr), timeout_s)
    if not data:
        raise RuntimeError(f"the measuring process exited with status {os.waitstatus_to_exitcode(status)} "
                           "and no result")
    kind, value = pickle.loads(data)
    if kind == "refused":
        raise Refused(value)
    if kind == "error":
        raise RuntimeError(value)
    return value


def describe(exc: BaseException) -> str:
    """'TypeError: first line of the message': how a refusal reads in asv's log and the probe."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"
