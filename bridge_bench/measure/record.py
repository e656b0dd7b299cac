"""The run's record of looks: one file per case in a folder every benchmark process of the run
shares, and the readings of the machine the run's processes share (docs/methodology.md,
"How many looks")."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bridge_bench.measure.timing import EXTEND_BUDGET_S, EXTEND_S, Canary, Window

#: Looks at one case are at least this far apart. In a full run asv's rounds put minutes between
#: them anyway; in a run of a few cases the rounds follow each other within a second, and one
#: slow stretch of a few seconds would cover every look.
LOOK_GAP_S = 3.0


#: Names the `Looks` record shared by the rounds of one run, when they are separate asv processes
#: (`rounds.run` sets it); without it the record is named by the benchmark processes'
#: common parent, which lives for one `asv run`.
RUN_VARIABLE = "BRIDGE_BENCH_RUN"


def looks_folder(run: str) -> Path:
    """The `Looks` record of the run named `run`: a folder of one small file per case."""
    return _looks_root() / f"run-{run}"


def _looks_root() -> Path:
    folder = Path(tempfile.gettempdir()) / "bridge-bench-looks"
    folder.mkdir(exist_ok=True)
    return folder


def record_folder() -> Path:
    """The folder of this run's `Looks` (and of what else its benchmark processes share, `run_median`): named
    by `RUN_VARIABLE`, else by the processes' common parent."""
    if os.environ.get(RUN_VARIABLE):
        folder = looks_folder(os.environ[RUN_VARIABLE])
    else:
        folder = _looks_root() / str(os.getppid())
        if not folder.exists():
            for old in _looks_root().glob("[0-9]*"):
                if not Path(f"/proc/{old.name}").exists():
                    shutil.rmtree(old, ignore_errors=True)
    folder.mkdir(exist_ok=True)
    return folder


def run_readings(name: str, reading: float | None = None) -> list[float]:
    """Add `reading` (if any) to the file `name` of this run's record; every reading of the run so far.

    What several processes of a run measure of one thing (the machine's free cores in every round,
    a transfer ceiling in every CUDA process) goes here, so that the track that reports it speaks
    for the whole run: asv keeps one value of a track, the last one."""
    file = record_folder() / name
    if reading is not None:
        with file.open("a") as out:
            out.write(f"{reading!r}\n")
    readings = []
    for line in file.read_text().splitlines() if file.exists() else []:
        try:
            readings.append(float(line))
        except ValueError:  # a line another process is writing
            continue
    return readings


def run_median(name: str, reading: float) -> float:
    """Add `reading` to this run's readings of `name`; their median (`cores`, `cpu`, `bandwidth`:
    read in every round, reported for the whole run, not one moment of it)."""
    return statistics.median(run_readings(name, reading))


def records(run: str) -> list[dict]:
    """Every case's record of the run named `run` (`Looks.state`), in no particular order."""
    return [state for state in map(_read_state, looks_folder(run).glob("*.json")) if state]


def _read_state(file: Path) -> dict:
    """A case's record, or {} where there is none yet (or a round died writing it)."""
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        return {}


def _replace(file: Path, text: str) -> None:
    """Write `file` whole or not at all: a round killed mid-write leaves the previous record."""
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(file)


class Looks:
    """This run's record of one case: every look so far (seconds per call) and whether it held a
    quiet moment, how many processes the case was given, when its last look ended, or why it is
    refused; and, shared by every case, the run's fastest canary and its batch size.

    asv calls the benchmark once per round, each time in a new process; this record, a file per
    case in a folder shared by every benchmark process of the run, is what tells a round whether
    to look (bridge_bench.measure.plan), how long to wait first (`wait`), and whether the case was already
    refused, and what tells the driver which cases to give a process in the next round.
    One file per case keeps its cost per look under a millisecond (one file for the whole run,
    rewritten at every look, cost 11 ms a look with 2800 cases: a sixth of a full run). A run of
    `bridge-bench` names the folder (`RUN_VARIABLE`, one asv process per round). In a plain
    `asv run` every benchmark process has the same parent, asv's forkserver or, with `spawn`, asv
    itself: the parent's pid names the folder, and folders of runs whose parent is gone are
    removed when a new run starts one.
    """

    def __init__(self, case: str):
        self.file = record_folder() / f"{hashlib.sha1(case.encode()).hexdigest()[:20]}.json"
        self.state = _read_state(self.file) or {"case": case, "rounds": 0, "samples": [], "quiet": []}
        self.state["rounds"] += 1

    def _write(self) -> None:
        _replace(self.file, json.dumps(self.state))

    @property
    def first(self) -> bool:
        return not self.state["samples"]

    @property
    def refused(self) -> str | None:
        """Why an earlier round refused this case, if one did."""
        return self.state.get("refused")

    def extension(self) -> float:
        """How long a look may go on for a quiet moment, when the plan lets it (`EXTEND_S`, while
        the run has not spent `EXTEND_BUDGET_S` on extending)."""
        return max(0.0, min(EXTEND_S, EXTEND_BUDGET_S - (self._shared("extended") or 0.0)))

    def canary(self) -> Canary:
        """This look's canary, with the run's fastest canary batch as its floor."""
        return Canary(self.canary_floor())

    def canary_floor(self) -> float | None:
        """The fastest canary batch per call of this run so far (a file shared by every case)."""
        return self._shared("canary")

    def _shared(self, name: str) -> float | None:
        """A number the run's cases share: a file of the record's folder."""
        try:
            return float((self.file.parent / name).read_text())
        except (OSError, ValueError):
            return None

    def wait(self, gap_s: float = LOOK_GAP_S) -> None:
        """Sleep until the last look at this case ended `gap_s` ago."""
        if "last" in self.state:
            time.sleep(max(0.0, self.state["last"] + gap_s - time.monotonic()))

    def skip(self) -> None:
        """A round without a look: only the round is counted."""
        self._write()

    def done(self, window: Window) -> None:
        self.state["samples"].append(window.seconds)
        self.state["quiet"].append(bool(window.quiet))
        self.state["last"] = time.monotonic()
        self._write()
        floor = self.canary_floor()
        if window.canary and (floor is None or window.canary < floor):
            _replace(self.file.parent / "canary", repr(window.canary))
        if window.extended:
            _replace(self.file.parent / "extended", repr((self._shared("extended") or 0.0) + window.extended))

    def refuse(self, reason: str) -> None:
        self.state["refused"] = reason
        self._write()
