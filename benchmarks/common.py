"""Shared machinery of the asv suite: one case per benchmark process, prepared without `setup`.

Why no `setup` on `time_` benchmarks: asv_runner 0.3 times every call on its own (`number` = 1)
and re-runs setup between samples whenever a benchmark has any setup hook. For a 0.5 us call
such as `torch.from_numpy(a)` the clock then measures itself (field notes: ~10 us reported against
~0.46 us). So a `time_` method prepares its case on its first call, stores the bound call on the
instance, and every later call runs only the bound call. asv runs each parameter combination in a
process of its own and discards the first call (its calibration loop starts from one call and
grows `number` from there), so preparation never lands in a sample. Preparation is cheap because
sources are views of a buffer reserved when this module is imported, before asv forks (inputs.py).

`bridge-bench fidelity` checks the result: the time asv reports for a zero-copy path must match a
tight loop of the same call.

A case this torch or numpy cannot build, or that the path refuses (an exception on a trial call),
is skipped with the reason printed (`asv run --show-stderr` shows it); asv records it as skipped.
`peakmem_` benchmarks do not time anything, so they use `setup` normally (bench_memory.py).
"""

import abc
import sys

from asv_runner.benchmarks.mark import SkipNotImplemented

from bridge_bench import inputs, paths

inputs.reserve_for(max(inputs.SIZES))


def bind_or_skip(path_id, case):
    """The bound call for a case, after one trial call; SkipNotImplemented with the reason otherwise."""
    try:
        call = paths.prepare(path_id, case)
        call()
    except inputs.Unsupported as exc:
        reason = str(exc)
    except Exception as exc:  # the path refuses this case: asv shows it as skipped, not failed
        reason = f"{paths.get(path_id).label} refuses it: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    else:
        return call
    print(f"asv: skipped: {reason}", file=sys.stderr)
    raise SkipNotImplemented(reason)


class CaseBenchmark(abc.ABC):
    """Base of the timing classes: subclasses declare `params`, `param_names` and `case()`."""

    timeout = 300

    @abc.abstractmethod
    def case(self, *params):
        """(path id, inputs.Case) for one parameter combination."""

    def time_convert(self, *params):
        try:
            self.call()
        except AttributeError:
            if "call" in self.__dict__:
                raise
            self.call = bind_or_skip(*self.case(*params))
