"""What bridge-bench publishes for a timed case: the median of its looks, asv's own figure.

A *look* is one window of one fresh process (bridge_bench.sampling): the fastest batch of bare
calls in it, so a slow spell shorter than the window cannot move it. What a look cannot escape is
its process: where the memory layout put the call's data and code. Looks of one call land on
layouts up to ~10 % apart (1.3x-1.5x for a 64 MiB copy, through page placement and huge pages),
and asv's rounds give every look its own process and layout. So the published figure is a median
*over processes*: in four identical full runs on the development machine (README, "Figures"), the
median of a call-bound case's looks moved at most 1.07x between runs (half the cases under
1.03x), while the fastest look moved 1.10x in half the cases, because it finds a rare lucky layout
in one run and not in the next.

asv itself publishes the median of a result's samples, with a 99 % order-statistic interval
(asv_runner.statistics.compute_stats), also when rounds append their samples: so the dashboard,
`asv compare`, the report and `bridge-bench compare` read asv's own `result`, and nothing here
rewrites asv's files.
"""

from __future__ import annotations

#: The method name of the timed benchmarks (benchmarks/common.py, `_CallTime`): only their results are looks.
TIMED_METHOD = "time_convert"


def is_timed(benchmark: str) -> bool:
    return benchmark.rsplit(".", 1)[-1] == TIMED_METHOD
