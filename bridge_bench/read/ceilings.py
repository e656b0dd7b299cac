"""The bandwidth self-check: no transfer may beat its direction's ceiling measured in the same run.

A path that crosses PCIe names its ceiling in the catalogue (`Path.ceiling`: a pinned copy timed
with CUDA events, bench_cuda.TransferCeilings). Its bandwidth is bytes / its published time (the
median of its quiet looks), in GB/s of 10**9 bytes. A figure more than `TOLERANCE` above the ceiling
of the same machine, environment and commit is not fast, it is wrong (a missing synchronise, an
enqueue timed as a transfer), so every place that shows results flags it.

Input is the results loader's frame (`results.load(...).frame`); nothing here reads files. GB/s
columns are named `gbps`, as in `bridge_bench.read.analysis`, so a table of either plots the same way.

    transfers(frame)   one row per timed transfer: gbps, ceiling_gbps, ratio, violation
    violations(frame)  the rows of transfers(frame) that break the check
    render(frame)      a text table of GB/s per path and size against the ceiling (scripts/gpu-check)
"""

from __future__ import annotations

import pandas as pd

from bridge_bench import catalogue, inputs, units
from bridge_bench.read.results import RUN

#: A bandwidth this much above its ceiling is a measurement error (ceilings vary ~1-2 % run to run).
TOLERANCE = 0.05
_CEILING_OF = {p.id: p.ceiling for p in catalogue.CATALOGUE if p.ceiling}


def ceilings(frame: pd.DataFrame) -> pd.DataFrame:
    """The measured ceilings: RUN columns, `ceiling` (the reference's path id), `ceiling_gbps`."""
    ok = frame[(frame["status"] == "ok") & frame["path"].isin(set(_CEILING_OF.values()))
               & (frame["unit"] == "GB/s")]
    out = ok[RUN + ["path", "value"]].rename(columns={"path": "ceiling", "value": "ceiling_gbps"})
    return out.groupby(RUN + ["ceiling"], as_index=False, dropna=False)["ceiling_gbps"].median()


def transfers(frame: pd.DataFrame, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """Every timed transfer with its bandwidth and its run's ceiling.

    Adds `gbps`, `ceiling`, `ceiling_gbps` (NaN when the run has no ceiling: then nothing is
    checked), `ratio` (gbps / ceiling_gbps) and `violation` (ratio > 1 + tolerance).
    """
    timed = frame[(frame["status"] == "ok") & (frame["kind"] == "time")
                  & frame["path"].isin(_CEILING_OF.keys())].copy()
    timed["gbps"] = timed["size"].astype(float) / timed["value"].astype(float) / inputs.GB
    timed["ceiling"] = timed["path"].map(_CEILING_OF)
    out = timed.merge(ceilings(frame), on=RUN + ["ceiling"], how="left")
    out["ratio"] = out["gbps"] / out["ceiling_gbps"]
    out["violation"] = out["ratio"] > 1 + tolerance
    return out


def violations(frame: pd.DataFrame, tolerance: float = TOLERANCE) -> pd.DataFrame:
    """The transfers reported faster than their ceiling allows: measurement errors, never results."""
    out = transfers(frame, tolerance)
    return out[out["violation"]].reset_index(drop=True)


def _grid(rows: pd.DataFrame, column: str, order: list) -> str:
    grid = rows.pivot_table(index="label", columns=column, values="cell", aggfunc="first")
    return grid.reindex(columns=order).fillna("-").to_string()


def render(frame: pd.DataFrame, tolerance: float = TOLERANCE) -> str:
    """GB/s per path and size (or dtype, in a dtype sweep), one block per run and benchmark, '!' on a violation."""
    data = transfers(frame, tolerance)
    if data.empty:
        return "no timed transfers with a ceiling in these results"
    data["cell"] = [f"{units.number(g)}{'!' if v else ''}" for g, v in zip(data["gbps"], data["violation"])]
    blocks = []
    for (machine, env, commit, benchmark), rows in data.groupby(RUN + ["benchmark"], dropna=False, sort=True):
        bounds = rows.drop_duplicates("ceiling")
        limits = ", ".join(f"{c} {units.number(g)} GB/s" if pd.notna(g) else f"{c} not measured"
                           for c, g in zip(bounds["ceiling"], bounds["ceiling_gbps"]))
        head = f"{machine} | {env} | {str(commit)[:8]} | {benchmark}\nceiling: {limits}"
        if rows["dtype"].nunique() > 1:
            dtypes = [d for d in inputs.DTYPES if d in set(rows["dtype"])]
            for size, part in rows.groupby("size", sort=True):
                blocks.append(f"{head}\nGB/s at {inputs.format_size(size)}\n{_grid(part, 'dtype', dtypes)}")
        else:
            rows = rows.assign(sized=rows["size"].map(inputs.format_size))
            order = [inputs.format_size(s) for s in sorted(rows["size"].unique())]
            blocks.append(f"{head}\nGB/s ({rows['dtype'].iloc[0]})\n{_grid(rows, 'sized', order)}")
    bad = int(data["violation"].sum())
    summary = (f"{bad} figure(s) above their ceiling by more than {tolerance:.0%} (marked !): "
               "measurement errors, not results" if bad else
               f"no figure above its ceiling by more than {tolerance:.0%}")
    return "\n\n".join(blocks + [summary])
