"""What bridge-bench publishes for a timed case: the fastest of its looks, and how well that is known.

A *look* is one window of one fresh process (bridge_bench.sampling): its fastest batch of bare
calls. asv records one sample per look, and asv's rounds spread a case's looks over the whole run,
minutes apart. On the shared machines this suite runs on, slow spells (1.3x-2x, 0.1 ms to several
seconds) cover most looks in a noisy stretch, while quiet moments keep coming back (README,
"Figures"): a median over looks moves with the noise, the fastest look does not. So the published
figure is the minimum over looks, as timeit's documentation and BenchmarkTools.jl (Chen & Revels)
argue for when noise only adds time. Its precision is read off the data: the second-fastest look
says how far the next-best moment was (`spread`).

asv itself publishes the median of a result's samples, so `finalize` rewrites the `result` of each
timed case in asv's result files to this estimate (and asv's interval fields to the fastest two
looks), keeping the samples, `number` and every other field: the dashboard, `asv compare`, the
report and `bridge-bench compare` then all read the same figure. `bridge-bench run` and every
private asv run of this package finalize; after a plain `asv run`, `bridge-bench finalize` does.
"""

from __future__ import annotations

from pathlib import Path

#: The method name of the timed benchmarks (benchmarks/common.py, `_CallTime`): only their results are looks.
TIMED_METHOD = "time_convert"


def is_timed(benchmark: str) -> bool:
    return benchmark.rsplit(".", 1)[-1] == TIMED_METHOD


def published(samples: list[float]) -> float:
    """The fastest look."""
    return min(samples)


def interval(samples: list[float]) -> tuple[float, float]:
    """The fastest and the second-fastest look (both the fastest when there is one look)."""
    ordered = sorted(samples)
    return ordered[0], ordered[min(1, len(ordered) - 1)]


def spread(samples: list[float]) -> float:
    """How far apart the two fastest looks are, relative: 0.01 means the next-best look was 1 % slower."""
    low, high = interval(samples)
    return high / low - 1


def finalize_file(file: Path) -> int:
    """Rewrite the timed results of one asv result file to the published estimate; how many changed."""
    from asv.util import load_json, write_json

    data = load_json(str(file), api_version=2)
    columns = data["result_columns"]
    at = {name: columns.index(name) for name in ("result", "stats_ci_99_a", "stats_ci_99_b", "samples")}
    changed = 0
    for name, row in data["results"].items():
        if not is_timed(name) or len(row) <= at["samples"] or not row[at["samples"]]:
            continue
        for i, samples in enumerate(row[at["samples"]]):
            if not samples:
                continue
            low, high = interval(samples)
            if row[at["result"]][i] != low:
                changed += 1
            row[at["result"]][i] = low
            row[at["stats_ci_99_a"]][i], row[at["stats_ci_99_b"]][i] = low, high
    if changed:
        write_json(str(file), data, api_version=2)
    return changed


def finalize(results_dir: Path) -> int:
    """`finalize_file` on every result file of an asv results directory; how many results changed."""
    files = sorted(p for p in Path(results_dir).glob("*/*.json") if p.name != "machine.json")
    return sum(finalize_file(f) for f in files)
