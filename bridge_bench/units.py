"""Numbers as a person reads them, decided once for the report, the plots and the printed tables.

Every figure here is a measurement good to a few percent, so three significant digits say all
there is (0.715, 22.4, 875); from 1,000 up a number is written whole with separators (12,345, not
1.23e+04), so that magnitudes line up down a column. A time gets the largest unit that keeps it at
1 or more (1.5 ms, 523 ns): three digits at every scale. Plain Python, no torch.
"""

from __future__ import annotations

import math

import pandas as pd

from bridge_bench.inputs import MiB

#: Largest first: a time takes the first unit it reaches.
_TIME_UNITS = ((1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns"))


def number(value, missing: str = "—") -> str:
    """A figure: three significant digits, whole with separators from 1,000, '∞' for infinity and
    `missing` for None or NaN. Strings, integers and booleans are shown as they are."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return missing
    if not isinstance(value, float):
        return str(value)
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def short(value: float) -> str:
    """At most four characters, for a heatmap cell: 0.715, 22.4, 875, 22k."""
    return f"{number(value / 1000)}k" if value >= 1000 else number(value)


def seconds(value: float) -> str:
    """A time in seconds, in the largest unit that keeps it at 1 or more: 2 s, 1.5 ms, 523 ns."""
    scale, name = next(((s, n) for s, n in _TIME_UNITS if abs(value) >= s), _TIME_UNITS[-1])
    return f"{number(value / scale)} {name}"


def measured(value, unit: str | None, missing: str = "-") -> str:
    """A value in its asv unit: times as `seconds`, peak memory (bytes) in MiB, anything else
    (GB/s, faults/call...) as a `number` followed by its unit."""
    if value is None or pd.isna(value):
        return missing
    if unit == "seconds":
        return seconds(value)
    if unit == "bytes":
        return f"{number(value / MiB)} MiB"
    return f"{number(float(value))} {unit or ''}".strip()
