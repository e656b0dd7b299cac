"""The batch family read back: what building a batch costs against one copy of the whole batch.

A batch of N items of S bytes (benchmarks/bench_batch.py) is built many ways; each way's time is
read against the same run's `np.stack(batch, out=buf)` at the same N, S and dtype
(`catalogue.BATCH_REFERENCE`: one pass over the batch's bytes into memory made beforehand), so the
ratio says how many copies of the batch a way costs. No torch here.
"""

from __future__ import annotations

import pandas as pd

from bridge_bench import catalogue, inputs, suite, units
from bridge_bench.read.results import RUN

#: The column naming a case's shape as people say it: "64 x 4 KiB".
SHAPE = "shape"
#: The references: copies of the whole batch into a destination made beforehand (`np.stack(batch,
#: out=buf)`, `torch.stack(tensors, out=dst)`), which no way to build a new batch tensor can be.
REFERENCES = tuple(pid for pid in catalogue.ids(catalogue.BATCH_TO_TORCH)
                   if catalogue.get(pid).output == "destination")


def shape(batch: int, size: int) -> str:
    return f"{int(batch)} x {inputs.format_size(int(size))}"


def timings(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured rows of the batch family's timings (host and CUDA), in catalogue order, with the
    shape and the bytes of the whole batch; value in seconds."""
    rows = frame[(frame["kind"] == "time") & (frame["status"] == "ok") & frame["batch"].notna()
                 & frame["benchmark"].map(lambda name: bool(suite.BY_NAME.get(name) and suite.BY_NAME[name].has_batch))]
    rank = {p.id: i for i, p in enumerate(catalogue.CATALOGUE)}
    rows = rows.astype({"batch": "int64", "size": "int64"}).assign(
        bytes=lambda r: r["batch"] * r["size"], _rank=lambda r: r["path"].map(rank))
    rows = rows.sort_values([*RUN, "_rank", "dtype", "size", "batch"]).drop(columns="_rank")
    return rows.assign(**{SHAPE: [shape(b, s) for b, s in zip(rows["batch"], rows["size"])]})


def against_copy(frame: pd.DataFrame) -> pd.DataFrame:
    """Every batch-building case (host, `catalogue.BATCH_TO_TORCH`) with `copy_s`, the same run's
    reference at its shape and dtype, and `x_copy`, its time over that."""
    t = timings(frame)
    built = t[t["direction"] == catalogue.BATCH_TO_TORCH]
    keys = [*RUN, "batch", "size", "dtype"]
    copy = built[built["path"] == catalogue.BATCH_REFERENCE][keys + ["value"]].rename(columns={"value": "copy_s"})
    out = built.merge(copy, on=keys, how="inner")
    return out.assign(x_copy=out["value"] / out["copy_s"])


def ratio_grid(pairs: pd.DataFrame, dtype: str = "float32") -> pd.DataFrame:
    """Time over one copy, a path per row and a shape per column (smallest batch first), for one dtype."""
    rows = pairs[pairs["dtype"] == dtype]
    wide = rows.pivot_table(index=[*RUN, "label"], columns=SHAPE, values="x_copy", sort=False)
    order = rows.drop_duplicates(SHAPE).sort_values(["size", "batch"])[SHAPE]
    return wide[[c for c in order if c in wide.columns]]


def time_grid(frame: pd.DataFrame, direction: str) -> pd.DataFrame:
    """Time per call (µs), a path of `direction` per row, a shape (and dtype, where not float32) per column."""
    t = timings(frame)
    t = t[t["direction"] == direction]
    columns = [s if d == "float32" else f"{s} {d}" for s, d in zip(t[SHAPE], t["dtype"])]
    t = t.assign(case=columns, us=t["value"] * 1e6)
    t = t.assign(other=t["dtype"] != "float32")
    order = t.drop_duplicates("case").sort_values(["other", "size", "batch"])["case"]
    wide = t.pivot_table(index=[*RUN, "label"], columns="case", values="us", sort=False)
    return wide[[c for c in order if c in wide.columns]]


def spread(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per run and way to build a float32 batch (`against_copy`; the `REFERENCES` are not ways),
    cheapest first: its time over one copy of the batch at its best, median and worst shape, and at
    how many shapes it was the fastest way."""
    rows = pairs[(pairs["dtype"] == "float32") & ~pairs["path"].isin(REFERENCES)]
    wins = rows.loc[rows.groupby([*RUN, SHAPE])["x_copy"].idxmin()].groupby([*RUN, "label"]).size()
    shapes = rows.groupby(RUN)[SHAPE].nunique()
    table = rows.groupby([*RUN, "label"], sort=False)["x_copy"].agg(["min", "median", "max"])
    table["fastest at"] = [f"{wins.get(key, 0)} of {shapes[key[:-1]]}" for key in table.index]
    table = table.rename(columns={c: f"x copy, {c}" for c in ("min", "median", "max")}).reset_index()
    return table.sort_values([*RUN, "x copy, median"], kind="stable").reset_index(drop=True)


def advice(pairs: pd.DataFrame) -> str:
    """What a user should write, from one run's `spread`: the way fastest at most shapes, and how far
    `torch.tensor(batch)`, the way most code writes, is from it."""
    table = spread(pairs)
    if table.empty:
        return ""
    best = table.loc[table["fastest at"].map(lambda text: int(text.split()[0])).idxmax()]
    said = f"On this run, `{best['label']}` was the fastest way at {best['fastest at']} shapes"
    naive = table[table["label"] == catalogue.get("batch_tensor").label]
    if len(naive):
        low, high = (units.number(float(naive.iloc[0][f"x copy, {c}"])) for c in ("min", "max"))
        said += f"; `{naive.iloc[0]['label']}` cost {low}x-{high}x one copy of the batch: stack first"
    return said + "."
