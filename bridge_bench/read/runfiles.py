"""Which result files a question needs, known before any value is read.

A nightly history keeps every night's result files (`scripts/store-night`), ~0.8 MB each, four a
night; the gate asks about the last 7 nights of one machine and torch version, the report about
the newest night of each. Loading every file to throw most of them away costs time and memory in
proportion to the nights kept (docs/nightly-history.md). So a run is first known by what costs
almost nothing to read: its file name, and its header, the fields asv writes before the results
(commit, environment, commit date, and the machine's and environment's params: machine, torch,
numpy). The header is read with ijson, a streaming JSON parser, which stops there. Then only the
chosen files are read by asv's reader (`results.read`); a chosen file that turns out unusable
gives way to the next newest, so the runs chosen are those a full load would choose.

Runs are ordered by when they ran as the file says it without reading its values: first by the
night in its name (the workflow's `<UTC date>-<run id>-` prefix, `NIGHT`), then by commit date
(asv's own order, for folders as asv writes them: one file per commit and environment), then by
name. The same order serves a full load (`compare.Side.window`, `analysis.latest`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from bridge_bench.read import results

#: The workflow's name of a night's result file: `<UTC date>-<run id>-<asv's file name>`.
NIGHT = re.compile(r"(\d{4}-\d{2}-\d{2})-(\d+)-")
#: The header fields read, all written before `results` in asv's files (compact or sorted).
HEADER = ("commit_hash", "env_name", "date", "params")
#: Bytes read at a time: a header is ~1 KB; ijson's default (64 KiB) would read 64x that per file.
CHUNK = 4096
COLUMNS = ["results_dir", "result_file", "machine", "env", "commit", "date", "torch", "numpy"]
#: A history is the runs of one machine and environment.
GROUP = ["machine", "env"]


def header(file: Path) -> dict:
    """The `HEADER` fields of a result file; KeyError when one is missing, ijson's JSONError when
    it is not JSON. Reads only as far as the fields (asv writes them before the results)."""
    import ijson

    found = {}
    with open(file, "rb") as stream:
        for key, value in ijson.kvitems(stream, "", buf_size=CHUNK, use_float=True):
            if key in HEADER:
                found[key] = value
                if len(found) == len(HEADER):
                    return found
    raise KeyError(f"no {', '.join(k for k in HEADER if k not in found)} in the file")


def scan(dirs) -> tuple[pd.DataFrame, list[str]]:
    """One row per result file whose header reads (`COLUMNS`), oldest first (`order`), and a
    problem for each entry that is not a file or whose header does not read. Missing folders and
    benchmarks.json are `results.read`'s to name."""
    import ijson

    rows, problems = [], []
    for d in map(Path, dirs):
        if not d.is_dir():
            continue
        found, bad = results.result_files(d)
        problems += bad
        for file in found:
            try:
                head = header(file)
                params = head["params"]
                rows.append({"results_dir": str(d), "result_file": str(file), "machine": params.get("machine"),
                             "env": head["env_name"], "commit": head["commit_hash"],
                             "date": pd.to_datetime(head["date"], unit="ms") if head["date"] else None,
                             "torch": params.get("torch"), "numpy": params.get("numpy")})
            except (ijson.JSONError, KeyError, TypeError, AttributeError, ValueError, OSError) as exc:
                problems.append(results.unreadable(file, exc))
    return order(pd.DataFrame(rows, columns=COLUMNS)), problems


def order(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` (rows with `result_file` and `date`; any number per file) oldest first: by the night in
    the file name, the commit date, the name."""
    names = runs["result_file"].map(lambda f: Path(f).name)
    nights = names.map(lambda name: f"{m[1]}-{int(m[2]):020d}" if (m := NIGHT.match(name)) else "")
    keyed = runs.assign(_night=nights, _name=names)
    return keyed.sort_values(["_night", "date", "_name", "result_file"], na_position="first",
                             kind="stable").drop(columns=["_night", "_name"])


def newest(runs: pd.DataFrame, n: int) -> pd.DataFrame:
    """The rows of `runs` (a row per file, a `scan`, or per case, loaded rows) of the newest `n`
    result files of each machine x environment, in their order in `runs`."""
    files = order(runs.drop_duplicates("result_file"))
    chosen = files.groupby(GROUP, dropna=False, sort=False).tail(n)["result_file"]
    return runs[runs["result_file"].isin(chosen)]


def load(dirs, runs: pd.DataFrame, n: int, problems: list[str]) -> results.Loaded:
    """The measured rows of the newest `n` runs of each machine x environment of `runs` (a `scan`,
    narrowed), reading only those files. A file that does not load or holds no measured value gives
    way to the next newest, as a full load would never have seen it. `problems`: the scan's."""
    failed: set[str] = set()
    read: set[str] = set()
    frames, warnings, files = [], list(problems), 0
    while True:
        chosen = set(newest(runs[~runs["result_file"].isin(failed)], n)["result_file"])
        todo = chosen - read - failed
        if not todo:
            break
        got = results.read(dirs, only=todo)
        measured = got.frame[got.frame["status"] == "ok"]
        read |= set(measured["result_file"])
        failed |= todo - read
        frames += [measured] if len(measured) else []  # an empty frame would turn every column to object
        warnings += got.warnings
        files += got.files
    frame = pd.concat(frames) if frames else pd.DataFrame(columns=results.COLUMNS)
    loaded = results.Loaded(frame[frame["result_file"].isin(chosen)], warnings, files)
    return results.usable(loaded, dirs)
