"""What the benchmark processes themselves saw: torch's thread count, the THP settings, how many
cores they could use at once, how fast a core ran a fixed call and the memory bandwidth it had.

These change copy speeds by 2-4x (docs/methodology.md, "The readings of the machine"). The machine
file carries them as dashboard filters (`bridge-bench machine`); these track them per environment
and commit, as the processes that ran the benchmarks saw them; the results loader warns where the
machine file disagrees (bridge_bench/read/results.py, stale_context).
"""

from bridge_bench.measure import bandwidth, context, cores, cpu


def track_torch_threads():
    return context.torch_threads()


track_torch_threads.unit = "threads"


def track_thp_mem_alloc_enable():
    return int(context.thp_mem_alloc_enable() == "1")


track_thp_mem_alloc_enable.unit = "THP_MEM_ALLOC_ENABLE=1"


def track_parallel_speedup():
    """How many of torch's threads ran at once, over this run's rounds so far (bridge_bench.measure.cores):
    `bridge-bench run` measures it in every round, and compare does not judge a copy that uses the
    thread pool between runs that had different free cores."""
    return cores.run_reading(context.torch_threads())


track_parallel_speedup.unit = "cores"


def track_call_time():
    """A fixed call of no library under test, over this run's rounds so far (bridge_bench.measure.cpu):
    `bridge-bench run` measures it in every round, and compare judges call-bound cases and
    in-cache copies against the two runs' readings."""
    return cpu.run_reading()


track_call_time.unit = "ns"


def track_memory_bandwidth():
    """One thread's memory bandwidth over this run's rounds so far (bridge_bench.measure.bandwidth):
    `bridge-bench run` measures it in every round; compare reports both runs' readings."""
    return bandwidth.run_reading()


track_memory_bandwidth.unit = "GB/s"
