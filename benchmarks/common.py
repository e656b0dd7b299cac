"""Shared machinery of the asv suite: one case per benchmark process, prepared without `setup`.

Why no `setup` on `time_` benchmarks: asv_runner 0.3 times every call on its own (`number` = 1)
and re-runs setup between samples whenever a benchmark has any setup hook. For a 0.5 us call such
as `torch.from_numpy(a)` the clock then measures itself (field notes: ~10 us reported against
~0.46 us). Instead, `time_convert` prepares its case on its first call and keeps the bound call in
a module global; every later call runs only that. This is sound because asv runs each parameter
combination in a process of its own (forked from the forkserver), and because asv's calibration
loop starts from a single call that it never keeps as a sample. Preparation is cheap anyway:
sources are views of a buffer reserved when this module is imported, before asv forks (inputs.py).

Why a staticmethod and a global rather than `self.call`: asv already wraps a parameterised
benchmark in a closure; every further layer is ~25 ns on a ~500 ns call. `bridge-bench fidelity`
checks what is left: asv's figure for a zero-copy path against a tight loop of the same call.
With BRIDGE_BENCH_REFERENCE_DIR set, the classes gain a `teardown` that runs that tight loop
(10,000 calls) in the benchmark process itself. asv calls teardown between samples (outside the
timed region) and once at the end, so reference and asv samples interleave in time: this
machine's 2x slow spells last seconds, and only an interleaved reference is comparable.

A case this torch or numpy cannot build, or that the path refuses (an exception or a crash on a
trial call in a forked child), is skipped with the reason printed (`asv run --show-stderr` shows
it); asv records it as skipped.
CUDA cases are tried in the benchmark process itself instead (`_try_here`): a CUDA context does not
survive a fork, so a crash there fails the benchmark rather than skipping it.
`peakmem_` benchmarks time nothing, so they use `setup` normally (bench_memory.py).
"""

import json
import os
import signal
import sys
import timeit

from asv_runner.benchmarks.mark import SkipNotImplemented

from bridge_bench import inputs, paths

inputs.reserve_for(max(inputs.SIZES))

_call = None  # the bound call of the one case this process times


TRIAL_TIMEOUT_S = 120


def _trial(path_id, case):
    """Prepare and run one case in a forked child: None if it worked, else why not.

    A child, because some cases abort the interpreter (SIGABRT from a C++ exception): asv would
    record that as a failed benchmark and `asv run` would exit non-zero. The fork happens before
    this process prepares anything: preparation may start torch's OpenMP pool, and a parallel
    region in a child forked after that deadlocks. An alarm bounds a child that hangs anyway.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        signal.alarm(TRIAL_TIMEOUT_S)
        try:
            paths.prepare(path_id, case)()
            message = b""
        except BaseException as exc:
            message = _describe(exc).encode()
        os.write(write_end, message)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as fh:
        message = fh.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status))
        if sig == signal.SIGALRM:
            return f"hangs (no result after {TRIAL_TIMEOUT_S} s)"
        return f"crashes the interpreter ({sig.name})"
    return message or None


def _describe(exc):
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"


def _try_here(path_id, case):
    """Prepare and call a CUDA case in this process: (call, None), or (None, why not) on an exception."""
    try:
        call = paths.prepare(path_id, case)
        call()
        return call, None
    except inputs.Unsupported:
        raise
    except Exception as exc:
        return None, _describe(exc)


def bind_or_skip(path_id, case, trial=True):
    """The bound call for a case, after a trial run; SkipNotImplemented with the reason otherwise."""
    path = paths.get(path_id)
    try:
        path.check_available()
        inputs.make_source(path.source, case)
        if path.cuda:  # a CUDA context does not survive a fork: try the case in this process
            call, problem = _try_here(path_id, case)
        else:
            call, problem = None, (_trial(path_id, case) if trial else None)
        if problem is None:
            return call or paths.prepare(path_id, case)
        reason = f"{path.label} refuses it: {problem}"
    except inputs.Unsupported as exc:
        reason = str(exc)
    print(f"asv: skipped: {reason}", file=sys.stderr)
    raise SkipNotImplemented(reason)


def _time_convert(path, size, dtype, layout):
    global _call
    try:
        _call()
    except TypeError:
        if _call is not None:
            raise
        _call = bind_or_skip(path, inputs.Case(size, dtype, layout))


REFERENCE_CALLS = 10_000


def _take_reference(path, size, dtype, layout):
    if _call is None:
        return
    per_call = timeit.Timer(_call).timeit(REFERENCE_CALLS) / REFERENCE_CALLS
    record = {"path": path, "size": size, "dtype": dtype, "layout": layout,
              "pid": os.getpid(), "calls": REFERENCE_CALLS, "seconds_per_call": per_call}
    out = os.path.join(os.environ["BRIDGE_BENCH_REFERENCE_DIR"], "reference.jsonl")
    with open(out, "a") as fh:
        fh.write(json.dumps(record) + "\n")


class _Conversions:
    """Base of the timing classes (underscore: asv does not collect it); see direction_classes."""

    param_names = ["path", "size", "dtype", "layout"]
    timeout = 300
    # asv interleaves rounds across the whole suite, minutes apart. This machine has slow spells
    # (2x, ~1 s): with asv's default 2 rounds one bad round holds half the samples and drags the
    # median halfway; with 3 it holds a third and the median stays with the other two.
    rounds = 3
    time_convert = staticmethod(_time_convert)

    if os.environ.get("BRIDGE_BENCH_REFERENCE_DIR"):
        teardown = staticmethod(_take_reference)


def direction_classes(module, sizes, dtypes=("float32",), layouts=("C",)):
    """The sweep's timing classes, one per host direction, named for it and placed in `module`.

    One class per direction, so asv reports progress per direction and the dashboard draws one
    graph per direction; every class has the same four params, fixed lists on every machine.
    """
    classes = []
    for name, direction in (("NumpyToTorch", paths.NUMPY_TO_TORCH), ("TorchToNumpy", paths.TORCH_TO_NUMPY),
                            ("Reference", paths.REFERENCE)):
        params = [paths.ids(direction, cuda=False), list(sizes), list(dtypes), list(layouts)]
        classes.append(type(name, (_Conversions,), {"params": params, "__module__": module}))
    return classes
