"""What bridge-bench publishes for a timed case: the median of its quiet looks.

A *look* is one window of one fresh process (bridge_bench.measure.timing): the fastest batch of bare
calls in it. Two things move a look, and they need opposite estimators (docs/calibration.md, "The
published figure: which estimator"):

- **Slow spells** of another tenant (1.6x-2.1x, 0.1 ms to seconds) sometimes cover a whole 10 ms
  window. On a noisy day 40-60 % of the looks at a zero-copy call read ~2x: the median of all
  looks then moved up to 1.9x between two identical runs, while the fastest look moved 1.05x at
  the 99th percentile.
- **Layouts**: each look is its own process with its own memory layout, and a call-bound case
  has a rare layout ~9 % faster than the usual one. On a quiet day the fastest look finds it in
  one run and not in the next: it moved 1.10x at the median case, the median of all looks 1.03x.

So the looks more than `QUIET` times the fastest are set aside as met by a spell (a spell costs
far more than 1.2x; layouts differ by less), and the published figure is the median of the rest:
a median over processes, of the looks no spell reached. Over both kinds of day it moved like the
better of the two plain estimators. asv itself publishes the median of all samples, so `finalize`
rewrites the `result` of each timed case in asv's result files to this estimate (and asv's
interval fields to the fastest and the slowest quiet look), keeping the samples, `number` and
every other field: the dashboard, `asv compare`, the report and `bridge-bench compare` then all
read the same figure. `bridge-bench run` and every private asv run of this package finalize;
after a plain `asv run`, `bridge-bench finalize` does.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bridge_bench import suite

#: A look this many times slower than the fastest met a slow spell.
QUIET = 1.2


def quiet(samples: list[float]) -> list[float]:
    """The looks within `QUIET` of the fastest, fastest first."""
    fastest = min(samples)
    return sorted(s for s in samples if s <= fastest * QUIET)


def published(samples: list[float]) -> float:
    """The median of the quiet looks."""
    return statistics.median(quiet(samples))


def interval(samples: list[float]) -> tuple[float, float]:
    """The fastest and the slowest quiet look."""
    looks = quiet(samples)
    return looks[0], looks[-1]


def finalize_file(file: Path) -> int:
    """Rewrite the timed results of one asv result file (figure and interval) to the published
    estimate; how many changed. asv's median equals the estimate when no look met a spell, but its
    interval never does."""
    from asv.util import load_json, write_json

    data = load_json(str(file), api_version=2)
    changed = finalize_data(data)
    if changed:
        write_json(str(file), data, api_version=2)
    return changed


def finalize_data(data: dict) -> int:
    """`finalize_file` on a result file's data, as asv's `load_json` returns it; how many changed."""
    columns = data["result_columns"]
    at = {name: columns.index(name) for name in ("result", "stats_ci_99_a", "stats_ci_99_b", "samples")}
    changed = 0
    for name, row in data["results"].items():
        if not suite.is_timed(name) or len(row) <= at["samples"] or not row[at["samples"]]:
            continue
        for i, samples in enumerate(row[at["samples"]]):
            if not samples:
                continue
            new = (published(samples), *interval(samples))
            old = (row[at["result"]][i], row[at["stats_ci_99_a"]][i], row[at["stats_ci_99_b"]][i])
            if old != new:
                changed += 1
                row[at["result"]][i], row[at["stats_ci_99_a"]][i], row[at["stats_ci_99_b"]][i] = new
    return changed


def result_files(results_dir: Path) -> list[Path]:
    """asv's result files in a results directory (<machine>/<commit>-<env>.json), and whatever else
    is named like one there (a folder called x.json): the caller says what it skips."""
    return sorted(p for p in Path(results_dir).glob("*/*.json") if p.name != "machine.json")


def finalize(results_dir: Path) -> int:
    """`finalize_file` on every result file of an asv results directory; how many results changed."""
    return sum(finalize_file(f) for f in result_files(results_dir) if f.is_file())
