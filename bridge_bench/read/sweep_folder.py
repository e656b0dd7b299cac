"""A releases sweep's folder, as the sweep writes it and the releases report reads it: its
configuration, its results, the record of its pairs and the probe's files, and their former names
(before `bridge-bench history` became `releases`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

#: The record of a sweep (one entry per pair: times, disk, what failed), beside its results.
RECORD = "sweep.json"
#: The sweep's configuration, and the results folder it names (what `releases-report` reads).
CONFIG = Path("asv.releases.json")
RESULTS = Path(".asv/releases/results")
#: Their names before `bridge-bench history` became `releases`, still read for one release.
FORMER = {CONFIG: Path("asv.history.json"), RESULTS: Path(".asv/history/results")}
#: The folder of the probe's files, one per pair, beside the results.
SEMANTICS = "semantics"


def default(path: Path) -> Path:
    """`path` (CONFIG or RESULTS) in the working folder; where only its former name is there, that one,
    with a one-line note on stderr: a checkout or a sweep from before the rename keeps working."""
    former = FORMER[path]
    if path.exists() or not former.exists():
        return path
    print(f"bridge-bench: warning: no {path}; reading {former}, its former name, which is read until the next "
          "release only", file=sys.stderr)
    return former


def read_record(workdir: Path) -> list[dict]:
    """The outcomes `sweep` wrote into `workdir` (the results folder's parent); [] if none."""
    file = Path(workdir) / RECORD
    return json.loads(file.read_text()) if file.is_file() else []
