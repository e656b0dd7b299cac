"""Shared machinery of the asv suite: a benchmark type that times the bound call itself.

Why not asv's own `time_` benchmark: asv_runner calls a parameterised benchmark through a closure,
`self.func(*param)`, which costs 80-290 ns depending on the CPU; on a 0.5 us `torch.from_numpy`
that was a 1.2x-1.4x error. And asv_runner 0.3 times every call on its own and re-runs setup between
samples as soon as a benchmark has a `setup` hook (docs/methodology.md, "The call, not the
harness"), so preparation cannot live in setup either.

So `time_convert` here is a *factory*: it prepares the case (binds the catalogue's call to a source
made by `inputs`, calls it once) and returns the zero-argument call. `_CallTime`, an asv benchmark
type registered below for methods named `time_convert`, takes one *look* per asv round: in the
round's fresh benchmark process it randomizes the memory layout, runs the factory and times the
returned call with `bridge_bench.measure.timing` (batches of bare calls; the fastest batch of a short
window, with a canary between batches that tells whether the window held a quiet moment). Each
look is one asv sample, the batch size is asv's `number`, and the published figure is the median
of the quiet looks (`bridge_bench.estimate`). Preparation never sits in a timed region, and the
harness costs one `timeit` loop iteration per call, as in a tight loop. `record.Looks` spaces a
case's looks seconds apart and gives slow cases every second round only.

Registration: asv_runner keeps its benchmark types in `asv_runner.benchmarks.benchmark_types`
and takes the first whose `name_regex` matches a method name; the same list is where its plugin
mechanism (`asv_bench*` distributions) puts external types. Importing this module puts `_CallTime`
first for `time_convert`, in every environment that runs the suite, with nothing else to install.

One process, one case: asv gives every case a benchmark process of its own, and the looks rely on
it (every source is a view of one shared buffer, `inputs`; each look randomizes the process's
layout). Before it times anything, `_CallTime` checks that its process times no other case and
that the call it got is the one `bind` made for the case its parameters name (`_check_case`).

A case this torch or numpy cannot build, or that the path refuses (raises, aborts the interpreter,
hangs), is skipped with the reason printed (`asv run --show-stderr`); asv records it as skipped.
The first look at a case tries it in a forked child, before this process runs anything (a
parallel region in a child forked after torch's OpenMP pool started would deadlock). CUDA classes
(`cuda = True`) measure consecutive windows in one benchmark process: a CUDA context does not
survive a fork, so a crash there fails the benchmark rather than skipping it.

With BRIDGE_BENCH_REFERENCE_DIR set, every look at a call under 5 us is followed by plain
`timeit` loops of 10,000 calls of the same bound call, the fastest appended to reference.jsonl there:
`bridge-bench fidelity` reads both figures from the same processes.
"""
import ast
import functools
import hashlib
import importlib.util
import inspect
import json
import os
import re
import sys
import timeit
from pathlib import Path

from asv_runner.benchmarks import benchmark_types
from asv_runner.benchmarks._base import _get_first_attr
from asv_runner.benchmarks.mark import SkipNotImplemented
from asv_runner.benchmarks.time import TimeBenchmark

from bridge_bench import catalogue, inputs, suite
from bridge_bench.measure import child, counting, devices, plan, process, record, sources, timing

#: asv imports the suite to list it (`discover`, `check`: once every round) and to run it
#: (`run_server`, the forkserver every benchmark process is forked from; `run`, with spawn). Only a
#: process that runs benchmarks needs torch (`bindings`, 2.2 s of a 3.7 s discovery here), the
#: shared source buffer (filling it takes ~0.8 s) and light forks; it imports torch before it forks,
#: so that no benchmark process pays for the import. Listing reads the bindings' text (`version`).
LISTING = sys.argv[1:2] in (["discover"], ["check"])
if not LISTING:
    from bridge_bench.measure import bindings

    sources.reserve_for(max(inputs.SIZES))
    process.lighten_forks()

#: The last call `bind` made in this process, and the case it made it for, as asv's parameters.
_bound = (None, None)
#: The case this process times: the first `_check_case` names it.
_timed = None


def bind(path_id, case):
    """The bound call for a case after one call of it; a NotImplementedError saying why not otherwise
    (`inputs.Unsupported`: the case cannot exist here; `child.Refused`: the path refuses it)."""
    global _bound
    path = catalogue.get(path_id)
    call = bindings.prepare(path_id, case)
    try:
        call()
    except Exception as exc:
        raise child.Refused(f"{path.label} refuses it: {child.describe(exc)}") from None
    _bound = (case.params(path_id), call)
    return call


def _check_case(param, call):
    """RuntimeError (asv records a failure) unless this process times only `param`, with the call
    `bind` made for it: a harness that ran two cases in one process, or a `time_convert` that handed
    back a call bound earlier, would publish a figure under parameters it did not measure. Outside
    the timed region, once a look."""
    global _timed
    _timed = _timed or tuple(param)
    if _timed != tuple(param):
        raise RuntimeError(f"asked to time {tuple(param)} in a benchmark process that times {_timed}")
    case, bound = _bound
    if call is not bound or case != _timed:
        raise RuntimeError(f"the call to time for {_timed} is not the one bind made for it (last bound: {case})")


def _trial(factory, param):
    """Prepare and call the case once (the factory does both); nothing to send back."""
    factory(*param)


def _skip(reason):
    print(f"asv: skipped: {reason}", file=sys.stderr)
    return SkipNotImplemented(str(reason))


def bind_or_skip(path_id, case, benchmark=None):
    """`bind` in the benchmark process itself (no child), the reason printed and asv told to skip;
    with `benchmark` (a `suite.Benchmark`), the reason also kept in the run's record of the case."""
    try:
        return bind(path_id, case)
    except NotImplementedError as exc:
        if benchmark is not None:
            record.Looks(f"{benchmark.name}{case.params(path_id)}").refuse(str(exc))
        raise _skip(exc) from None


#: Each CUDA transfer's process also times its direction's ceiling, with this many copies (the
#: ceiling's own process times `devices.CEILING_REPEATS`): the run's ceiling is the best of them.
CEILING_REPEATS_IN_TRANSFERS = 5

REFERENCE_CALLS = 10_000
#: Each look's reference is the fastest of this many loops, as the look is the fastest of its batches:
#: a 10,000-call loop (5-7 ms) meets a slow spell far more often than a 0.5 ms batch, and with 5
#: loops a look the batches found quiet read 1.1x-1.2x in its reference on a noisy day.
REFERENCE_LOOPS = 20
#: Reference loops are taken for calls up to this long (10,000 calls in at most 50 ms), and for
#: every call of the batch family (microseconds to milliseconds), with as many calls a loop as take
#: `REFERENCE_LOOP_S`: the length of the 10,000-call loops of a zero-copy call (3-5 ms). A longer
#: loop meets more slow spells than the look's 0.5 ms batches, and its fastest reads slower than
#: the call: 50 ms loops read `np.stack(batch, out=buf)` of 64 x 4 KiB 1.17x slower than the looks did.
REFERENCE_MAX_S = 5e-6
REFERENCE_LOOP_S = 0.005


def _reference(call, param, seconds):
    """The fastest of a few tight `timeit` loops of the bound call (10,000 calls, or as many as take
    `REFERENCE_LOOP_S` for a longer call), appended to BRIDGE_BENCH_REFERENCE_DIR/reference.jsonl."""
    calls = max(1, min(REFERENCE_CALLS, int(REFERENCE_LOOP_S / seconds)))
    per_call = min(timeit.Timer(call).repeat(REFERENCE_LOOPS, calls)) / calls
    record = {"params": list(param), "pid": os.getpid(), "calls": calls, "seconds_per_call": per_call}
    with open(os.path.join(os.environ["BRIDGE_BENCH_REFERENCE_DIR"], "reference.jsonl"), "a") as fh:
        fh.write(json.dumps(record) + "\n")


class _CallTime(TimeBenchmark):
    """asv benchmark type of `time_convert`: the method returns the call, this times it (module docstring).

    Returns asv's usual `{"samples", "number"}`: one sample per look (the fastest batch divided by
    `number`), `number` calls per batch; a round without a look returns no sample, and asv keeps
    the looks it has. asv passes the first round's `number` to later rounds, so every look at a
    case times batches of the same size. `--quick` (number = repeat = 1) takes one window of one
    call: a smoke test, as asv means it.
    """

    name_regex = re.compile(f"^{suite.TIMED}$")

    def run(self, *param):
        if _get_first_attr(self._attr_sources, "cuda", False):
            return self._run_cuda(param)
        looks = record.Looks(f"{self.name}{param}")
        if looks.refused:
            raise _skip(looks.refused)
        round_, mode = plan.round_of(looks.state), plan.mode()
        if not plan.due(looks.state, round_, mode):  # asv appends nothing: this case's looks stay as they are
            looks.skip()
            return {"samples": [], "number": self.number}
        try:
            if looks.first:  # a case may abort the interpreter, which must not kill the benchmark run
                child.in_child(lambda: _trial(self.func, param))
            looks.wait()
            layout = process.randomize_layout()  # noqa: F841 - kept alive while looking
            call = self._call(param)
            extend_s = looks.extension() if plan.extends(looks.state, round_, mode) else 0.0
            window = self._window(call, self.number, param, looks.canary(), extend_s)
        except NotImplementedError as exc:
            looks.refuse(str(exc))
            raise _skip(exc) from None
        looks.done(window)
        return {"samples": [window.seconds], "number": window.number}

    def _run_cuda(self, param):
        """CUDA: no fork (a CUDA context does not survive one), so consecutive windows of this
        process, once a run (bridge_bench.drive.rounds). A refusal is kept in the run's record, where
        `bridge-bench gpu-check` reads why a case skipped; the transfer's ceiling is read here too."""
        try:
            call = self._call(param)
        except NotImplementedError as exc:
            record.Looks(f"{self.name}{param}").refuse(str(exc))
            raise _skip(exc) from None
        windows = [self._window(call, self.number, param)]
        more = 0 if self.repeat == 1 else timing.IN_PROCESS_WINDOWS - 1
        windows += [self._window(call, windows[0].number, param) for _ in range(more)]
        ceiling = catalogue.get(param[0]).ceiling
        if ceiling and self.repeat != 1:
            record.run_readings(ceiling, devices.ceiling_gbs(ceiling, repeats=CEILING_REPEATS_IN_TRANSFERS))
        return {"samples": [w.seconds for w in windows], "number": windows[0].number}

    def _call(self, param):
        """The call the method prepared for `param`, checked (`_check_case`)."""
        call = self.func(*param)
        _check_case(param, call)
        return call

    def _window(self, call, number, param, canary=None, extend_s=0.0):
        if self.repeat == 1:  # --quick
            return timing.time_window(call, number or 1, window_s=0, min_batches=1, warmup_batches=0)
        window = timing.time_window(call, number, canary=canary, extend_s=extend_s)
        if os.environ.get("BRIDGE_BENCH_REFERENCE_DIR") and (
                window.seconds <= REFERENCE_MAX_S or catalogue.get(param[0]).batch):
            _reference(call, param, window.seconds)
        return window


if _CallTime not in benchmark_types:
    benchmark_types.insert(0, _CallTime)


def _counted(name, count):
    """A `track_` method named `name`: `count(call)` of the case's bound call, measured in a forked child."""

    def track(self, path, size, dtype, layout):
        try:
            return child.in_child(lambda: count(bind(path, inputs.Case(size, dtype, layout))))
        except NotImplementedError as exc:
            raise _skip(exc) from None

    track.__name__ = name
    return track


@functools.lru_cache(maxsize=None)
def _source(obj):
    """`obj`'s source, lines stripped; once a process (asv imports the suite twice a round, and every
    timing class hashes the same timing code)."""
    return _stripped(inspect.getsource(obj).splitlines())


def _stripped(lines):
    return "\n".join(line.strip() for line in lines)


def _bindings_text():
    return Path(importlib.util.find_spec("bridge_bench.measure.bindings").origin).read_text()


@functools.lru_cache(maxsize=4)
def _parsed(text):
    """The module `text` parsed, once per text: every path's fingerprint reads the same bindings."""
    return ast.parse(text)


def _binding_sources(path_id):
    """The source of a path's binding and of the functions of `bindings` it names, transitively:
    what a binding really runs, read from the module's text (listing the suite imports no torch)
    and given as `inspect.getsource` gives it, so that a series keeps its version."""
    text = _bindings_text()
    lines, tree = text.splitlines(), _parsed(text)
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    (table,) = [node.value for node in tree.body if isinstance(node, ast.AnnAssign) and node.target.id == "BINDINGS"]
    keys = [getattr(catalogue, key.attr) if isinstance(key, ast.Attribute) else key.value for key in table.keys]
    binding = table.values[keys.index(path_id)]
    if isinstance(binding, ast.Name):
        binding = functions[binding.id]
    seen, todo = [], [binding]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.append(node)
        named = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        named |= {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
        todo += [functions[name] for name in sorted(named) if name in functions]
    return [_stripped(lines[node.lineno - 1:node.end_lineno]) for node in seen]


def fingerprint(path_id):
    """A hash of what a path's benchmarks run for it: the fields of its record that decide the call,
    and the source of its binding and of the `bindings` helpers it calls (`_binding_sources`)."""
    path = catalogue.get(path_id)
    parts = [f"{path.id}|{path.direction}|{path.label}|{path.source}|{path.output}"] + _binding_sources(path_id)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


#: Each path's `fingerprint` when it joined the suite (`version`): one `id fingerprint` line a path.
JOINED = Path(__file__).with_name("fingerprints.txt")


def joined():
    """The fingerprints in `JOINED`, by path id."""
    lines = JOINED.read_text().splitlines()
    return dict(line.split() for line in lines if line.strip() and not line.startswith("#"))


def version(path_ids, *timing):
    """asv's `version` of a benchmark: a hash of what it actually times, not of its method's text.

    The method only asks the catalogue for a call, so asv's default (a hash of the method's source)
    would join measurements of an edited binding into the old series. This hashes the source
    factories, the timing code (`timing`: the measuring modules, the method) and every path whose
    `fingerprint` (its record and binding) is no longer the one it joined with (`JOINED`). Editing
    any of them starts a new series, as asv does for an edited benchmark; adding or removing a path
    that nobody edited since it joined starts none.

    asv keeps one version per benchmark, not one per parameter (asv_runner's `Benchmark.version`;
    asv's `Results` stores `version[name]`, and `publish` and `compare` drop or grey out every
    result of a name whose stored version differs): so a changed binding restarts the series of
    every path of its benchmark, and a per-path version would take a benchmark per path, a new name
    for every series (one graph per direction is the suite's shape, `suite.HOST_CLASSES`). A path
    that has not joined yet (no line in `JOINED`) counts as unchanged: tests/test_asv_suite.py
    asks for its line, so that its later edits count.
    """
    parts = [_source(sources.make_array), _source(sources.make_tensor)] + [_source(t) for t in timing]
    known = joined()
    for pid in sorted(path_ids):
        now = fingerprint(pid)
        if now != known.get(pid, now):
            parts.append(f"{pid} {now}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class _Conversions:
    """Base of the timing classes (underscore: asv does not collect it); see direction_classes."""

    param_names = ["path", "size", "dtype", "layout"]
    timeout = 300
    #: One look per round, and asv runs round 1 of every case before round 2: the looks at a case
    #: are spread over the whole run, so no slow spell covers them all (bridge_bench.measure.timing);
    #: how many of the rounds a case looks in is bridge_bench.measure.plan's.
    rounds = plan.LOOKS

    def time_convert(self, path, size, dtype, layout):
        return bind(path, inputs.Case(size, dtype, layout))


#: The code every timing class runs besides the catalogue's bindings: part of each one's `version`.
TIMING = (timing, record, process, child, counting, _CallTime, _counted, bind, _Conversions.time_convert)


def direction_classes(module, sizes, dtypes=("float32",), layouts=("C",), counts=False):
    """The sweep's timing classes, one per host direction, named for it and placed in `module`.

    One class per direction, so asv reports progress per direction and the dashboard draws one
    graph per direction; every class has the same four params, fixed lists on every machine.
    Each class times every case (`time_convert`); with `counts`, it also counts, in one child
    process each, the minor page faults and the heap bytes each call keeps (`track_faults`,
    `track_held_bytes`).
    """
    methods = {}
    if counts:
        methods = {suite.FAULTS: _counted(suite.FAULTS, counting.faults_per_call),
                   suite.HELD_BYTES: _counted(suite.HELD_BYTES, counting.held_bytes_per_call)}
        methods[suite.FAULTS].unit, methods[suite.HELD_BYTES].unit = "faults/call", "bytes/call"
    classes = []
    for name, direction in suite.HOST_CLASSES:
        ids = catalogue.ids(direction, cuda=False)
        params = [ids, list(sizes), list(dtypes), list(layouts)]
        classes.append(type(name, (_Conversions,), {
            "params": params, "__module__": module, "version": version(ids, *TIMING), **methods}))
    return classes


class _Batches(_Conversions):
    """Base of the batch family's timing classes: a case is a path, N items of `size` bytes each, a dtype."""

    param_names = ["path", "batch", "size", "dtype"]

    def time_convert(self, path, batch, size, dtype):
        return bind(path, inputs.Case(size, dtype, batch=batch))


def batch_class(module, name, direction, batches, sizes, dtypes=("float32",)):
    """A timing class of the batch family: every path of `direction` over batches x sizes x dtypes."""
    ids = catalogue.ids(direction, cuda=False)
    return type(name, (_Batches,), {"params": [ids, list(batches), list(sizes), list(dtypes)], "__module__": module,
                                    "version": version(ids, *TIMING, _Batches.time_convert)})
