"""What the benchmark processes themselves saw: torch's thread count and the THP settings.

These change copy speeds by 2-4x (field notes). The machine file carries them as dashboard
filters (`bridge-bench machine`); these track them per environment and commit, as the processes
that ran the benchmarks saw them; the results loader warns where the machine file disagrees
(bridge_bench/results.py, stale_context).
"""

from bridge_bench import context


def track_torch_threads():
    return context.torch_threads()


track_torch_threads.unit = "threads"


def track_thp_mem_alloc_enable():
    return int(context.thp_mem_alloc_enable() == "1")


track_thp_mem_alloc_enable.unit = "THP_MEM_ALLOC_ENABLE=1"
