"""Tables from the tidy results frame (`results.load`): latency, bandwidth against the same run's
ceiling, zero-copy speedups, a cost model per path, dtype/layout tables, peak memory,
cross-environment ratios, the semantics probe's grid, and the findings that sum them up per path.

Every function takes the loaded frame (measured rows), or a tidy table another function here made
from it, and returns a pandas DataFrame whose columns or index start with the run (`RUN`), so one
table holds any number of machines, environments and commits, and a CSV of it is self-describing.
The wide tables a person reads (`by_size` and the functions named `*_by_size`) are made here too,
so that the report only lays them out. Paths are grouped by the catalogue's `direction` and shown
by its `label`; no path id is named here. Bandwidth is `gbps` wherever it appears (GB/s of 10**9
bytes, as `bridge_bench.read.ceilings` names it too).

"Bytes" are the logical bytes of the array (elements x itemsize, the `size` parameter). A copy
reads them and writes them, so a copy at 20 GB/s moves 40 GB/s of memory traffic; every path is
counted the same way, which is what makes a path comparable with its ceiling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bridge_bench import catalogue, inputs, outcomes, suite
from bridge_bench.read import results, runfiles
from bridge_bench.read.results import RUN

#: Context varied on purpose, which changes copy speed (docs/methodology.md, "Context"): two runs
#: that differ in exactly one of these, all else equal, are a controlled comparison.
CONTEXT_COLUMNS = ["torch", "numpy", "torch_threads", "thp", "THP_MEM_ALLOC_ENABLE"]
#: Context that must match for two runs to be comparable: same kind of hardware and OS. The machine
#: name and asv env name are left out: they usually *encode* the factor being varied.
SAME_HARDWARE = ["cpu", "num_cpu", "os", "gpu", "thp_defrag"]
#: A case (`results.CASE`) with the catalogue's direction and label beside its path, for tables.
DESCRIBED_CASE = [*results.CASE[:1], "direction", "label", *results.CASE[1:]]
#: The rows of a wide table: one path of one run.
PATH_ROWS = [*RUN, "direction", "label"]
#: The case the size sweep times and the catalogue's `shares` flag describes.
COMMON_DTYPE, COMMON_LAYOUT = "float32", "C"
US = 1e6


def _order(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort rows in catalogue order (direction, then path), so tables read like `bridge-bench list`."""
    rank = {p.id: i for i, p in enumerate(catalogue.CATALOGUE)}
    return frame.assign(_rank=frame["path"].map(rank)).sort_values([*RUN, "_rank", "size"]).drop(columns="_rank")


def _flag(paths: pd.Series, name: str) -> pd.Series:
    """A catalogue flag (`shares`, `cuda`) of each path; False for a path this checkout does not
    know (older results). Boolean even with no rows: an empty column of objects would index a
    frame's columns, not its rows."""
    return paths.map(lambda p: bool(getattr(catalogue.BY_ID.get(p), name, False))).astype(bool)


def path_label(path_id) -> str:
    """The catalogue's label; the id of a path this checkout does not know."""
    return catalogue.BY_ID[path_id].label if path_id in catalogue.BY_ID else path_id


def named_at(name: str, size: int) -> str:
    """A column or file name for a figure at one size, without spaces: `gbps_64MiB`."""
    return f"{name}_{inputs.format_size(size).replace(' ', '')}"


#: The findings' bandwidth columns: GB/s and % of the ceiling at OUT_OF_CACHE.
GBPS_AT, PCT_AT = named_at("gbps", inputs.OUT_OF_CACHE), named_at("pct_of_ceiling", inputs.OUT_OF_CACHE)


def timings(frame: pd.DataFrame, sweep: str) -> pd.DataFrame:
    """Measured time rows of one sweep ("sizes", "dtypes", "layouts", "cuda"), value in seconds."""
    rows = frame[(frame["kind"] == "time") & (frame["sweep"] == sweep) & (frame["status"] == "ok")]
    return _order(rows.astype({"size": "int64"}))


def size_sweep(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured time rows of every benchmark that sweeps size (host `bench_sizes`, the CUDA
    transfers...: `suite.Benchmark.sweeps_size`)."""
    t = frame[(frame["kind"] == "time") & (frame["status"] == "ok")]
    return _order(t[_sweeps_size(t)].astype({"size": "int64"}))


def _sweeps_size(rows: pd.DataFrame) -> pd.Series:
    return rows["benchmark"].map(suite.sweeps_size).astype(bool)


def by_size(table: pd.DataFrame, rows, values: str) -> pd.DataFrame:
    """A tidy table's `values` as a grid: `rows` by size, columns named as people say them ("32 KiB").
    Rows and sizes keep the table's order; cases measured twice (two sweeps) read as their mean."""
    wide = table.pivot_table(index=rows, columns="size", values=values, sort=False)
    wide.columns = [inputs.format_size(int(c)) for c in wide.columns]
    return wide


def of_run(table: pd.DataFrame, run: tuple) -> pd.DataFrame:
    """The rows of one run (machine, env, commit) of a tidy table."""
    return table[table[RUN].eq(list(run)).all(axis=1)]


def runs(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run with its context and date, oldest first."""
    cols = [*RUN, "date", *CONTEXT_COLUMNS, "cpu", "num_cpu", "os"]
    present = [c for c in cols if c in frame]
    return (frame[present].drop_duplicates(RUN).sort_values("date").reset_index(drop=True))


def run_labels(frame: pd.DataFrame) -> dict[tuple, str]:
    """A short name for each run (RUN values), for headings and captions, so that a table names its
    run once instead of repeating machine, env and a 40-character commit in every row:
    "machine / torch 2.13.0 / numpy 2.4.6 / c4e7898f". A factor other than the versions (threads,
    THP) is added to every label when the runs differ in it, and the asv env name where two runs
    would still read alike. The CSVs keep the full machine, env and commit."""
    table = runs(frame)
    named = [c for c in CONTEXT_COLUMNS
             if c in table and (c in ("torch", "numpy") or table[c].nunique(dropna=False) > 1)]
    labels = table["machine"].astype(str)
    for column in named:
        labels += table[column].map(lambda v, c=column: "" if pd.isna(v) else f" / {c} {v}")
    labels += " / " + table["commit"].astype(str).str[:8]
    twins = labels.duplicated(keep=False)
    labels[twins] += " / " + table.loc[twins, "env"].astype(str)
    return dict(zip(table[RUN].itertuples(index=False, name=None), labels))


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the newest run of each machine x environment (`runfiles.order`: by the night in its file
    name, else the newest commit): what the detailed sections show. Nights of one commit are runs
    of one machine, environment and commit (RUN): more than one would mix in one table's rows."""
    return runfiles.newest(frame, 1)


def latency(frame: pd.DataFrame) -> pd.DataFrame:
    """Time per call in microseconds: run x direction x path (rows) by size (columns)."""
    return by_size(size_sweep(frame), PATH_ROWS, "value") * US


def bandwidth(frame: pd.DataFrame) -> pd.DataFrame:
    """GB/s of every timed case and the percentage of the same run's ceiling at the same size.

    Only copying paths (catalogue `shares` False) get a bandwidth: a zero-copy call moves no
    bytes, and size / time for it is a number that grows with size and means nothing. Host paths
    only: a CUDA transfer's ceiling is a pinned PCIe copy, read by `bridge_bench.read.ceilings`.
    The ceiling is the fastest reference path (direction "reference": copies into preallocated and
    into fresh memory) of the same run at the same size, dtype and layout. At small sizes every
    path is overhead-bound and the percentage says how close a call is to a bare copy, not to DRAM.
    """
    t = size_sweep(frame)
    t = t[~_flag(t["path"], "shares") & ~_flag(t["path"], "cuda")]
    t = t.assign(gbps=t["size"] / t["value"] / inputs.GB)
    key = [*RUN, "size", "dtype", "layout"]
    ref = t[t["direction"] == catalogue.REFERENCE]
    ceiling = ref.groupby(key, as_index=False)["gbps"].max().rename(columns={"gbps": "ceiling_gbps"})
    out = t.merge(ceiling, on=key, how="left")
    out["pct_of_ceiling"] = 100 * out["gbps"] / out["ceiling_gbps"]
    columns = [*RUN, *DESCRIBED_CASE, "value", "gbps", "ceiling_gbps", "pct_of_ceiling"]
    return out[columns].rename(columns={"value": "seconds"})


def ceiling_by_size(bandwidths: pd.DataFrame) -> pd.DataFrame:
    """The ceiling (GB/s) of each run (rows) by size, from `bandwidth`."""
    return by_size(bandwidths.drop_duplicates([*RUN, "size"]), RUN, "ceiling_gbps")


def transfer_bandwidth(checked: pd.DataFrame) -> pd.DataFrame:
    """GB/s of each float32 host <-> CUDA transfer per run, path and size, with its run's ceiling,
    from `ceilings.transfers`. A case that both the size sweep and the dtype sweep measured reads
    as the median of both."""
    return (checked[checked["dtype"] == "float32"]
            .groupby([*RUN, "direction", "path", "label", "size"], as_index=False, sort=False)
            .agg(gbps=("gbps", "median"), ceiling_gbps=("ceiling_gbps", "first")))


def speedups(frame: pd.DataFrame) -> pd.DataFrame:
    """How many times faster each zero-copy path is than each copying path of its direction.

    Pairs come from the catalogue's `shares` flag: every sharing path against every copying path
    of the same direction, at the same size, in the same run.
    """
    t = size_sweep(frame)
    t = t[t["direction"] != catalogue.REFERENCE]
    shares = _flag(t["path"], "shares")
    cols = [*RUN, "direction", "size", "label", "value"]
    pairs = t[shares][cols].merge(t[~shares][cols], on=[*RUN, "direction", "size"], suffixes=("_zero_copy", "_copy"))
    pairs["speedup"] = pairs["value_copy"] / pairs["value_zero_copy"]
    return pairs.rename(columns={"label_zero_copy": "zero_copy", "label_copy": "copy"})[
        [*RUN, "direction", "zero_copy", "copy", "size", "speedup"]]


def speedups_by_size(pairs: pd.DataFrame) -> pd.DataFrame:
    """`speedups` as a grid: one row per run and pair, a column per size."""
    return by_size(pairs, [*RUN, "direction", "zero_copy", "copy"], "speedup")


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Least squares on relative residuals (`polyfit` weighted by 1/time): overhead, slope, residuals.
    NaN when the regime has fewer than two sizes (a filtered run)."""
    if len(x) < 2:
        return np.nan, np.nan, np.array([])
    slope, overhead = np.polyfit(x, y, 1, w=1 / y)
    return overhead, slope, (overhead + slope * x - y) / y


def _fit(group: pd.DataFrame) -> pd.Series:
    x, y = group["size"].to_numpy(float), group["value"].to_numpy(float)
    dram = x >= inputs.OUT_OF_CACHE
    overhead, cache_slope, cache_rel = _line(x[~dram], y[~dram])
    _, dram_slope, dram_rel = _line(x[dram], y[dram])
    rel = np.concatenate([cache_rel, dram_rel])
    return pd.Series({
        "overhead_us": overhead * US,
        "ns_per_MiB_cache": cache_slope * inputs.MiB * 1e9,
        "ns_per_MiB_dram": dram_slope * inputs.MiB * 1e9,
        "gbps_dram": np.nan if np.isnan(dram_slope) else 1 / dram_slope / 1e9 if dram_slope > 0 else np.inf,
        "rms_error_pct": 100 * np.sqrt(np.mean(rel**2)),
        "points": len(x),
    })


def cost_model(frame: pd.DataFrame) -> pd.DataFrame:
    """Per path and run: time = fixed overhead (us) + bytes x cost per byte, with the fit's error.

    Two regimes, each a straight line: below OUT_OF_CACHE (64 MiB) the source and destination can
    sit in cache, at and above it every byte goes to DRAM; a copy's per-byte cost differs between
    them by 2-5x, so one line through 8 B..256 MiB would fit neither (its slope would come from the
    many in-cache sizes and overstate large-array bandwidth). The overhead comes from the cache
    regime's intercept, the GB/s a user can expect for large arrays from the DRAM regime's slope.

    Why least squares on relative residuals (`numpy.polyfit(x, t, 1, w=1/t)`): sizes span eight
    orders of magnitude and timing noise grows with the time. Ordinary least squares lets the
    millisecond noise of the largest sizes decide the intercept, which then comes out as noise
    (even negative) instead of the sub-microsecond per-call floor; relative residuals weigh every
    size alike. `rms_error_pct` is the fit quality: the RMS relative error of the model over all
    sizes. A zero-copy path shows ~0 ns per MiB in both regimes and no GB/s (NaN, as in `bandwidth`):
    it moves no bytes, and 1 / a slope of noise is a number that means nothing.
    """
    t = size_sweep(frame)
    fits = t.groupby([*RUN, "direction", "label"], sort=False)[["size", "value"]].apply(_fit)
    sharing = {p.label for p in catalogue.CATALOGUE if p.shares}
    fits.loc[fits.index.get_level_values("label").isin(sharing), "gbps_dram"] = np.nan
    return fits.astype({"points": "int64"})


def at_size(frame: pd.DataFrame, sweep: str, column: str, size: int) -> pd.DataFrame:
    """Time per call (us) at one size: run x direction x path (rows) by dtype or layout (columns).

    A missing cell is a case that was skipped: this torch/numpy lacks the dtype or the path refuses
    the layout (the semantics table says which, and how).
    """
    t = timings(frame, sweep)
    t = t[t["size"] == size]
    order = list(inputs.DTYPES if column == "dtype" else inputs.LAYOUTS)
    table = t.pivot_table(index=[*RUN, "direction", "label"], columns=column, values="value", sort=False) * US
    return table[[c for c in order if c in table.columns]]


def peak_memory(frame: pd.DataFrame) -> pd.DataFrame:
    """What one call allocates: peak RSS with the call minus the same process without it, in MiB.

    asv's peakmem is the whole process (interpreter, torch, the source buffer); `peakmem_prepared`
    is that baseline, so the difference is the call's own allocation.
    """
    m = frame[(frame["kind"] == "peakmemory") & (frame["status"] == "ok")].copy()
    m["which"] = m["benchmark"].str.rsplit(".", n=1).str[-1]
    wide = m.pivot_table(index=[*RUN, "direction", "label", "size"], columns="which", values="value", sort=False)
    if not {suite.PEAKMEM_CONVERT, suite.PEAKMEM_PREPARED} <= set(wide.columns):
        return pd.DataFrame()
    out = pd.DataFrame({"allocated_MiB": (wide[suite.PEAKMEM_CONVERT] - wide[suite.PEAKMEM_PREPARED]) / inputs.MiB})
    sizes = out.index.get_level_values("size").to_numpy(float)
    out["allocated_x_array"] = out["allocated_MiB"] * inputs.MiB / sizes
    return out


def cross_env(frame: pd.DataFrame) -> pd.DataFrame:
    """Time ratios B / A for pairs of runs that differ in exactly one factor (torch, numpy, THP...).

    Runs are first reduced to the newest commit per context (every CONTEXT_COLUMNS and SAME_HARDWARE value),
    then paired when all their context but one factor matches. A ratio above 1 means B is slower.
    """
    t = frame[(frame["kind"] == "time") & (frame["status"] == "ok")]
    ctx = [c for c in CONTEXT_COLUMNS + SAME_HARDWARE if c in t]
    t = t.assign(**{c: t[c].map(str) for c in ctx})  # None -> "None": a value to group on, not missing
    t = t[t["date"] == t.groupby(ctx)["date"].transform("max")]
    contexts = t[ctx].drop_duplicates().reset_index(drop=True)
    keyed = t.set_index(ctx)
    parts = []
    for factor in CONTEXT_COLUMNS:
        others = [c for c in ctx if c != factor]
        for _, group in contexts.groupby(others):
            levels = sorted(group[factor].unique())
            for a, b in zip(levels, levels[1:]):
                sel = {**dict(zip(others, group.iloc[0][others])), factor: a}
                va = keyed.loc[tuple(sel[c] for c in ctx)].reset_index()[DESCRIBED_CASE + ["value"]]
                sel[factor] = b
                vb = keyed.loc[tuple(sel[c] for c in ctx)].reset_index()[DESCRIBED_CASE + ["value"]]
                pair = va.merge(vb, on=DESCRIBED_CASE, suffixes=("_a", "_b"))
                pair.insert(0, "factor", factor)
                pair.insert(1, "a", a)
                pair.insert(2, "b", b)
                pair.insert(3, "context", ", ".join(f"{c}={sel[c]}" for c in others if c in CONTEXT_COLUMNS))
                parts.append(pair)
    if not parts:
        return pd.DataFrame(columns=["factor", "a", "b", "context", *DESCRIBED_CASE, "value_a", "value_b", "ratio"])
    out = pd.concat(parts, ignore_index=True)
    out["ratio"] = out["value_b"] / out["value_a"]
    return out


def size_ratios(ratios: pd.DataFrame) -> pd.DataFrame:
    """The rows of `cross_env` that belong to a size sweep."""
    return ratios[_sweeps_size(ratios)]


def cross_env_summary(ratios: pd.DataFrame) -> pd.DataFrame:
    """Per comparison and path: median, min and max of B / A over the size sweep."""
    return (size_ratios(ratios).groupby(["factor", "a", "b", "context", "direction", "label"], sort=False)["ratio"]
            .agg(median="median", min="min", max="max", cases="size"))


def semantics_grid(cases: list[dict]) -> pd.DataFrame:
    """The probe's cases (`outcomes.read(...).cases`) as one symbol (`outcomes.symbol`) per path
    label and layout (rows) by dtype (columns), in the probe's order; a path this checkout does not
    know is shown by its id."""
    table = pd.DataFrame(cases).assign(cell=[outcomes.symbol(c) for c in cases])
    table["label"] = table["path"].map(path_label)
    return table.pivot_table(index=["label", "layout"], columns="dtype", values="cell", aggfunc="first", sort=False)


def semantics_counts(cases: list[dict]) -> pd.DataFrame:
    """How many of each path's cases (dtype x layout) came out as each symbol (`outcomes.symbol`),
    by label in the probe's order, symbols in the legend's order: the grid's summary, a row a path."""
    table = pd.DataFrame(cases).reindex(columns=["path"]).assign(cell=[outcomes.symbol(c) for c in cases])
    labels = table["path"].map(path_label)
    counts = pd.crosstab(labels.rename("label"), table["cell"]).reindex(labels.unique())
    return counts[sorted(counts.columns, key="SCcEX.?".find)].rename_axis(columns=None)


def semantics_errors(cases: list[dict]) -> pd.DataFrame:
    """How many cases raised each distinct error (type and message), most first; empty when none did."""
    raised = pd.DataFrame([c for c in cases if c["outcome"] == "raises"], columns=["error_type", "error"])
    return raised.groupby(["error_type", "error"]).size().sort_values(ascending=False).rename("cases").to_frame()


def _does(case: dict) -> str:
    """A probed case in words: its outcome, the error type it raised, the dtype a copy changed to."""
    if case["outcome"] == "raises":
        return f"raises {case.get('error_type')}"
    return f"copies to {case.get('dtype_out')}" if outcomes.symbol(case) == "c" else case["outcome"]


def behaviour(cases: list[dict]) -> pd.DataFrame:
    """What the probe saw each path do, by label: `does` for float32 C-contiguous (the case the
    size sweep times: "shares", "copies", "copies to float32", "raises ValueError"...), `converts`
    the dtypes it changes ("13 dtypes to float32", the legacy constructor's surprise), and the
    float32 layouts on which it raises (`raises_on`) or kills the interpreter (`crashes_on`)."""
    table = pd.DataFrame(cases).reindex(columns=["path", "dtype", "layout", "outcome", "dtype_out"])
    table = table.assign(label=table["path"].map(path_label), does=[_does(c) for c in cases])
    f32 = table[table["dtype"] == COMMON_DTYPE]
    changed = table[table["does"].str.startswith("copies to")].groupby("label").agg(
        dtypes=("dtype", "nunique"), to=("dtype_out", lambda d: ", ".join(d.unique())))

    def layouts(outcome):
        return f32[f32["outcome"] == outcome].groupby("label")["layout"].agg(", ".join)

    return pd.DataFrame({
        "does": f32[f32["layout"] == COMMON_LAYOUT].groupby("label")["does"].first(),
        "converts": changed["dtypes"].astype(str) + " dtypes to " + changed["to"],
        "raises_on": layouts("raises"),
        "crashes_on": layouts("crash"),
    }).rename_axis("label")


def catalogue_behaviour() -> pd.DataFrame:
    """`behaviour` where no probe ran: `does` is the catalogue's `shares` flag ("shares" or
    "copies"), which states the float32 C-contiguous case; the rest is unknown."""
    does = {p.label: "shares" if p.shares else "copies" for p in catalogue.CATALOGUE if not p.cuda}
    return pd.DataFrame({"does": does}).rename_axis("label")


def findings(frame: pd.DataFrame, does: pd.Series) -> pd.DataFrame:
    """Per host path of each run, what someone choosing a conversion asks first, float32 C-contiguous.

    `does` (from `behaviour`, by label), `overhead_us`: the time of one call at the smallest size
    (8 B: nothing to copy, so all of it is overhead); bandwidth at OUT_OF_CACHE (DRAM-bound, the
    size of the dtype and layout tables) in GB/s and % of the run's ceiling, from `bandwidth`, so
    NaN for a zero-copy path; `allocated_x_array`: what one call allocates at PEAKMEM_SIZE, from
    `peak_memory`, rounded to 0.01 (peak RSS moves by pages: -0.0005 is 0).
    """
    t = size_sweep(frame)
    t = t[~_flag(t["path"], "cuda")]
    rows = [*RUN, "direction", "label"]
    out = t[t["size"] == min(inputs.SIZES)].groupby(rows, sort=False)["value"].mean().mul(US).rename("overhead_us")
    bw = bandwidth(frame)
    at = bw[bw["size"] == inputs.OUT_OF_CACHE].groupby(rows)[["gbps", "pct_of_ceiling"]].mean()
    at.columns = [GBPS_AT, PCT_AT]
    out = out.to_frame().join(at)
    memory = peak_memory(frame)
    if len(memory):
        memory = memory[memory.index.get_level_values("size") == inputs.PEAKMEM_SIZE].droplevel("size")
        out = out.join(memory["allocated_x_array"].round(2) + 0.0)  # + 0.0: -0.0 reads 0
    out.insert(0, "does", out.index.get_level_values("label").map(does))
    return out.reindex(columns=["does", "overhead_us", GBPS_AT, PCT_AT, "allocated_x_array"])
