"""The semantics probe: what each path really does for every dtype and layout.

For each path x dtype x layout it records whether the result shares memory with the source
(overlapping address ranges, and whether an in-place write shows on the other side), the dtype in
and out, or the exception type and the first line of its message. Some cases abort the interpreter
(a C++ exception turned into SIGABRT), so worker processes that each import torch once take cases
one at a time over a pipe and run each in a forked child (`sampling.in_child`, as the benchmarks'
first look at a case does): a child that dies is recorded as a crash with its signal and what it
said, and the worker goes on.

This module also owns what the probe's results mean and how they are stored: `symbol` (one
character a case, 'c' for a copy that changes dtype) and the `--json` document (`write`, `read`),
which the report reads where torch is not installed.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bridge_bench import catalogue, errors, inputs
from bridge_bench.measure import sampling

#: Small enough to be instant, an odd power of two so the 2-D layouts are not square (4 x 8 floats).
DEFAULT_SIZE = 128
CASE_TIMEOUT_S = 60
OUTCOMES = ("shares", "copies", "raises", "crash", "n/a")
_SHORT = {"bool": "b", "float16": "f16", "float32": "f32", "float64": "f64", "bfloat16": "bf16",
          "complex64": "c64", "complex128": "c128", **{f"{k}{n}": f"{k[0]}{n}" for k in ("int", "uint") for n in (8, 16, 32, 64)}}
SYMBOLS = {"shares": "S", "copies": "C", "raises": "E", "crash": "X", "n/a": "."}


@dataclass(frozen=True)
class Job:
    path: str
    dtype: str
    layout: str
    size: int = DEFAULT_SIZE

    def key(self) -> dict:
        return {"path": self.path, "dtype": self.dtype, "layout": self.layout, "size": self.size}


# ---------------------------------------------------------------- inside a worker process

def _extent(obj) -> tuple[int, int]:
    """[lo, hi) byte addresses spanned by a numpy array or a torch tensor."""
    if hasattr(obj, "data_ptr"):
        ptr, item = obj.data_ptr(), obj.element_size()
        strides = [s * item for s in obj.stride()]
    else:
        ptr, item, strides = obj.ctypes.data, obj.itemsize, list(obj.strides)
    lo = ptr + sum((n - 1) * s for n, s in zip(obj.shape, strides) if s < 0)
    hi = ptr + item + sum((n - 1) * s for n, s in zip(obj.shape, strides) if s > 0)
    return lo, hi


def _dtype_name(obj) -> str:
    return str(obj.dtype).replace("torch.", "")


def _first(obj):
    value = obj[(0,) * obj.ndim]
    return value.item() if hasattr(value, "item") else value


def _writes_through(src, out) -> bool | None:
    """Write 1 into element 0 of one side and look at the other; restore 0. None: neither writable."""
    for a, b in ((src, out), (out, src)):
        index = (0,) * a.ndim
        try:
            a[index] = 1
        except (ValueError, RuntimeError, TypeError):
            continue  # read-only side: try the other direction
        try:
            return _first(b) != 0
        finally:
            a[index] = 0
    return None


def probe(job: Job) -> dict:
    """Run one case in this process and describe what happened."""
    record = job.key()
    from bridge_bench.measure import bindings

    path = catalogue.get(job.path)
    try:
        bindings.check_available(path)
        src = inputs.make_source(path.source, inputs.Case(job.size, job.dtype, job.layout))
    except inputs.Unsupported as exc:
        return {**record, "outcome": "n/a", "reason": str(exc)}
    record["dtype_in"] = _dtype_name(src)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            call = bindings.bind(path.id, src)
            out = bindings.output(path.id, call, call())
        except Exception as exc:
            message = str(exc).strip().splitlines()
            return {**record, "outcome": "raises", "error_type": type(exc).__name__,
                    "error": message[0] if message else ""}
    overlap = _extent(src)[0] < _extent(out)[1] and _extent(out)[0] < _extent(src)[1]
    through = _writes_through(src, out)
    shares = through if through is not None else overlap
    record.update({
        "outcome": "shares" if shares else "copies",
        "dtype_out": _dtype_name(out),
        "result_type": type(out).__module__.split(".")[0] + "." + type(out).__name__,
        "memory_overlap": overlap,
        "write_shows_on_other_side": through,
    })
    if caught:
        record["warning"] = f"{caught[0].category.__name__}: {str(caught[0].message).splitlines()[0]}"
    return record


def tried(job: Job) -> dict:
    """`probe(job)` in a forked child: a crash or a hang is the case's record, not the worker's end."""
    try:
        return sampling.in_child(lambda: probe(job), timeout_s=CASE_TIMEOUT_S)
    except sampling.Crashed as crash:
        return {**job.key(), "outcome": "crash", "signal": crash.signal, **({"error": crash.said} if crash.said else {})}


def worker() -> None:
    """Read one JSON job per line on stdin, answer one JSON record per line on stdout."""
    from bridge_bench.measure import bindings  # noqa: F401 - torch is imported once here, not in every child

    inputs.reserve_for(inputs.KiB)
    for line in sys.stdin:
        job = Job(**json.loads(line))
        sys.stdout.write(json.dumps(tried(job)) + "\n")
        sys.stdout.flush()


# ---------------------------------------------------------------- the parent

class _Worker:
    def __init__(self):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "bridge_bench.measure.semantics", "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1, stderr=self.stderr)

    def ask(self, job: Job) -> dict:
        """The worker's record of `job`; a crash record if the worker itself dies or stops answering."""
        timer = threading.Timer(2 * CASE_TIMEOUT_S, self.proc.kill)
        timer.start()
        try:
            self.proc.stdin.write(json.dumps(job.key()) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        finally:
            timer.cancel()
        if line:
            return json.loads(line)
        code = self.proc.wait()
        return {**job.key(), "outcome": "crash",
                **({"signal": signal.Signals(-code).name} if code < 0 else {"exit_code": code})}

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.alive():
            self.proc.stdin.close()
            self.proc.wait()
        self.stderr.close()


def jobs_for(path_ids=None, dtypes=None, layouts=None, size=DEFAULT_SIZE) -> list[Job]:
    path_ids = [catalogue.get(p).id for p in (path_ids or catalogue.HOST_PATH_IDS)]
    dtypes = [inputs.check_dtype(d) for d in (dtypes or inputs.DTYPES)]
    layouts = [inputs.check_layout(l) for l in (layouts or inputs.LAYOUTS)]
    inputs.check_size(size)
    return [Job(p, d, l, size) for p, d, l in itertools.product(path_ids, dtypes, layouts)]


def run(jobs: list[Job], workers: int | None = None, progress=None) -> list[dict]:
    """Probe every job in worker processes; results in job order."""
    results: list[dict | None] = [None] * len(jobs)
    queue = iter(enumerate(jobs))
    lock = threading.Lock()
    done = [0]

    def drive():
        current = _Worker()
        try:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                index, job = item
                results[index] = record = current.ask(job)
                if record["outcome"] == "crash" or not current.alive():
                    current.close()
                    current = _Worker()
                with lock:
                    done[0] += 1
                    if progress:
                        progress(done[0], len(jobs))
        finally:
            current.close()

    count = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    threads = [threading.Thread(target=drive) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summary(records: list[dict]) -> dict[str, int]:
    counts = Counter(r["outcome"] for r in records)
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


def symbol(record: dict) -> str:
    """A case as one character (`SYMBOLS`), and 'c' for a copy whose dtype is not the source's:
    `torch.Tensor(a)` on float64 copies *and* converts, which a user must not mistake for a copy.
    '?' for an outcome this version does not know (a newer probe's JSON)."""
    if record.get("outcome") == "copies" and record.get("dtype_out") != record.get("dtype_in"):
        return "c"
    return SYMBOLS.get(record.get("outcome"), "?")


class ProbeFileError(errors.InputError):
    """A file that is not the JSON of `bridge-bench semantics --json`; the message names it."""


@dataclass
class Probe:
    """One `bridge-bench semantics --json` document: the records of `run` and what produced them."""
    cases: list[dict]
    versions: dict[str, str]
    size: int | None
    summary: dict[str, int]


def write(records: list[dict], size: int, out: TextIO) -> None:
    """The `--json` document: torch and numpy versions, the source size, `summary` and every record."""
    from bridge_bench.measure import context

    json.dump({"versions": context.versions(), "size": size, "summary": summary(records), "cases": records},
              out, indent=1)
    out.write("\n")


def read(file: Path) -> Probe:
    """A document `write` wrote (the report reads it where torch may be missing); ProbeFileError if not."""
    try:
        data = json.loads(Path(file).read_text())
        cases = data["cases"]
        if not cases or not all(isinstance(c, dict) and "outcome" in c for c in cases):
            raise ValueError("'cases' is not a list of probed cases")
        return Probe(cases, data.get("versions", {}), data.get("size"), data.get("summary", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProbeFileError(f"{file}: not the JSON of `bridge-bench semantics --json` ({exc})") from None


def render(records: list[dict]) -> str:
    """A grid per path (layouts x dtypes), then the distinct errors and crashes, then the counts."""
    dtypes = list(dict.fromkeys(r["dtype"] for r in records))
    layouts = list(dict.fromkeys(r["layout"] for r in records))
    by_key = {(r["path"], r["dtype"], r["layout"]): r for r in records}
    width = 4
    lines = ["S shares memory   C copies   c copies and changes dtype   E raises   X crashes   . n/a", ""]
    for pid in dict.fromkeys(r["path"] for r in records):
        lines.append(f"{catalogue.get(pid).label}  [{pid}]")
        lines.append(" " * 13 + " ".join(f"{_SHORT.get(d, d)[:width]:>{width}}" for d in dtypes))
        for layout in layouts:
            cells = []
            for d in dtypes:
                rec = by_key.get((pid, d, layout))
                cells.append(f"{symbol(rec) if rec else ' ':>{width}}")
            lines.append(f"  {layout:<11}" + " ".join(cells))
        lines.append("")
    problems = Counter()
    for r in records:
        if r["outcome"] == "raises":
            problems[f"raises {r['error_type']}: {r['error'][:110]}"] += 1
        elif r["outcome"] == "crash":
            problems[f"crash {r.get('signal', r.get('exit_code'))}: {r['path']}"] += 1
    if problems:
        lines.append("Errors and crashes (cases):")
        lines += [f"  {n:4d}  {text}" for text, n in problems.most_common()]
        lines.append("")
    counts = summary(records)
    lines.append(f"{len(records)} cases: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return "\n".join(lines)


if __name__ == "__main__" and sys.argv[1:] == ["--worker"]:
    worker()
