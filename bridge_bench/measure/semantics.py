"""The semantics probe: what each path really does for every dtype and layout.

For each path x dtype x layout it records whether the result shares memory with the source
(overlapping address ranges, and whether an in-place write shows on the other side), the dtype in
and out, or the exception type and the first line of its message. Some cases abort the interpreter
(a C++ exception turned into SIGABRT), so worker processes that each import torch once take cases
one at a time over a pipe and run each in a forked child (`child.in_child`, as the benchmarks'
first look at a case does): a child that dies is recorded as a crash with its signal and what it
said, and the worker goes on.

What the results mean and how they are read back (symbols, counts, the text grid, `read`) is
`bridge_bench.outcomes`, which the report uses where torch is not installed; this module writes the
`--json` document (`write`).
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
from dataclasses import dataclass
from typing import TextIO

from bridge_bench import catalogue, inputs, messages, outcomes
from bridge_bench.measure import child, sources

#: Small enough to be instant, an odd power of two so the 2-D layouts are not square (4 x 8 floats).
DEFAULT_SIZE = 128
#: The batch family is probed on batches (frames) of this many items (rows) of the size each, C-contiguous.
PROBE_BATCH = 4
CASE_TIMEOUT_S = 60


@dataclass(frozen=True)
class Job:
    path: str
    dtype: str
    layout: str
    size: int = DEFAULT_SIZE
    batch: int | None = None

    def key(self) -> dict:
        batch = {} if self.batch is None else {"batch": self.batch}
        return {"path": self.path, "dtype": self.dtype, "layout": self.layout, "size": self.size, **batch}


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


def _parts(obj) -> list:
    """The arrays and tensors an object holds its data in: itself, a list's items, a DataFrame's
    columns (pandas' views of its blocks); none for Python numbers (`t.tolist()`)."""
    if isinstance(obj, (list, tuple)):
        return [x for x in obj if hasattr(x, "data_ptr") or hasattr(x, "ctypes")]
    if hasattr(obj, "iloc"):
        return [obj.iloc[:, i].to_numpy() for i in range(obj.shape[1])]
    return [obj]


def _dtype_name(obj) -> str:
    """The dtype of an array or tensor; of a list, its items' (or the Python type of its numbers);
    of a DataFrame, its columns' dtypes joined by '+'."""
    if hasattr(obj, "dtypes") and not hasattr(obj, "dtype"):
        return "+".join(dict.fromkeys(str(d) for d in obj.dtypes))
    if isinstance(obj, (list, tuple)):
        leaf = obj[0] if obj else None
        while isinstance(leaf, list):
            leaf = leaf[0] if leaf else None
        return _dtype_name(leaf) if hasattr(leaf, "dtype") else f"python {type(leaf).__name__}"
    return str(obj.dtype).replace("torch.", "")


def _overlaps(src, out) -> bool:
    """Whether any array of `out` spans bytes of any array of `src` (`_parts`)."""
    spans = [_extent(part) for part in _parts(src)]
    return any(lo < hi_s and lo_s < hi for lo, hi in map(_extent, _parts(out)) for lo_s, hi_s in spans)


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
        src = sources.make_source(path.source, inputs.Case(job.size, job.dtype, job.layout, job.batch))
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
    overlap = _overlaps(src, out)
    src_parts, out_parts = _parts(src), _parts(out)
    through = _writes_through(src_parts[0], out_parts[0]) if src_parts and out_parts else None
    shares = through if through is not None else overlap
    record.update({
        "outcome": "shares" if shares else "copies",
        "dtype_out": _dtype_name(out),
        "result_type": type(out).__module__.split(".")[0] + "." + type(out).__name__,
        "memory_overlap": overlap,
        "write_shows_on_other_side": through,
    })
    if caught:
        record["warning"] = f"{caught[0].category.__name__}: {messages.first_line(caught[0].message)}"
    return record


def tried(job: Job) -> dict:
    """`probe(job)` in a forked child: a crash or a hang is the case's record, not the worker's end."""
    try:
        return child.in_child(lambda: probe(job), timeout_s=CASE_TIMEOUT_S)
    except child.Crashed as crash:
        said = {"error": crash.said} if crash.said else {}
        return {**job.key(), "outcome": "crash", "signal": crash.signal, **said}


def worker() -> None:
    """Read one JSON job per line on stdin, answer one JSON record per line on stdout."""
    from bridge_bench.measure import bindings  # noqa: F401 - torch is imported once here, not in every child

    sources.reserve_for(inputs.KiB)
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
    """Every path x dtype x layout; a path of the batch family on batches of `PROBE_BATCH` C-contiguous
    items of `size` (its items have no other layout)."""
    path_ids = [catalogue.get(p).id for p in (path_ids or catalogue.HOST_PATH_IDS + catalogue.BATCH_PATH_IDS)]
    dtypes = [inputs.check_dtype(d) for d in (dtypes or inputs.DTYPES)]
    layouts = [inputs.check_layout(layout) for layout in (layouts or inputs.LAYOUTS)]
    inputs.check_size(size)
    jobs = []
    for pid, dtype, layout in itertools.product(path_ids, dtypes, layouts):
        if not catalogue.get(pid).batch:
            jobs.append(Job(pid, dtype, layout, size))
        elif layout == layouts[0]:
            jobs.append(Job(pid, dtype, "C", size, PROBE_BATCH))
    return jobs


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


def write(records: list[dict], size: int, out: TextIO) -> None:
    """The `--json` document: torch and numpy versions, the source size, `summary` and every record."""
    from bridge_bench.measure import context

    json.dump({"versions": context.versions(), "size": size, "summary": outcomes.summary(records), "cases": records},
              out, indent=1)
    out.write("\n")


def main(argv: list[str] | None = None) -> None:
    """`python -m bridge_bench.measure.semantics`: the whole probe's JSON document on stdout, as
    `bridge-bench semantics --json` writes it, needing torch and numpy only (the releases sweep runs
    it with each pair's interpreter, which has the project without its dependencies); with
    `--worker`, one worker of `run` (jobs on stdin, records on stdout)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--worker"]:
        worker()
    elif not argv:
        write(run(jobs_for()), DEFAULT_SIZE, sys.stdout)
    else:
        sys.exit("usage: python -m bridge_bench.measure.semantics [--worker]")


if __name__ == "__main__":
    main()
