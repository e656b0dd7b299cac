"""Tables from the tidy results frame (`results.load`): latency, bandwidth against the same run's
ceiling, zero-copy speedups, a cost model per path, dtype/layout tables, peak memory and
cross-environment ratios.

Every function takes the loaded frame (measured rows) and returns a pandas DataFrame whose columns
or index start with the run (`RUN`), so one table holds any number of machines, environments and
commits, and a CSV of it is self-describing. Paths are grouped by the catalogue's `direction` and
shown by its `label`; no path id is named here.

"Bytes" are the logical bytes of the array (elements x itemsize, the `size` parameter). A copy
reads them and writes them, so a copy at 20 GB/s moves 40 GB/s of memory traffic; every path is
counted the same way, which is what makes a path comparable with its ceiling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bridge_bench import catalogue, inputs
from bridge_bench.results import RUN

#: One run: what produced a set of numbers together. Ceilings and ratios never cross runs.
#: Context columns that change copy speed and are varied on purpose (field notes). A pair of runs
#: differing in exactly one of these (all else equal) is a controlled comparison.
FACTORS = ["torch", "numpy", "torch_threads", "thp", "THP_MEM_ALLOC_ENABLE"]
#: Context that must match for two runs to be comparable: same kind of hardware and OS. The machine
#: name and asv env name are left out: they usually *encode* the factor being varied.
SAME_HARDWARE = ["cpu", "num_cpu", "os", "gpu", "thp_defrag"]
CASE = ["benchmark", "direction", "label", "path", "size", "dtype", "layout"]
US = 1e6


def _order(frame: pd.DataFrame) -> pd.DataFrame:
    """Sort rows in catalogue order (direction, then path), so tables read like `bridge-bench list`."""
    rank = {p.id: i for i, p in enumerate(catalogue.CATALOGUE)}
    return frame.assign(_rank=frame["path"].map(rank)).sort_values([*RUN, "_rank", "size"]).drop(columns="_rank")


def _shares(path_id) -> bool:
    """The catalogue's `shares` flag; False for a path this checkout does not know (older results)."""
    record = catalogue.BY_ID.get(path_id)
    return bool(record and record.shares)


def _cuda(path_id) -> bool:
    record = catalogue.BY_ID.get(path_id)
    return bool(record and record.cuda)


def timings(frame: pd.DataFrame, sweep: str) -> pd.DataFrame:
    """Measured time rows of one sweep ("sizes", "dtypes", "layouts", "cuda"), value in seconds."""
    rows = frame[(frame["kind"] == "time") & (frame["sweep"] == sweep) & (frame["status"] == "ok")]
    return _order(rows.astype({"size": "int64"}))


def size_sweep(frame: pd.DataFrame) -> pd.DataFrame:
    """Measured time rows of every benchmark that sweeps size (host `bench_sizes`, the CUDA
    transfers...): those with more sizes than the dtype and layout sweeps' two."""
    t = frame[(frame["kind"] == "time") & (frame["status"] == "ok")]
    return _order(t[_sweeps_size(t)].astype({"size": "int64"}))


def _sweeps_size(rows: pd.DataFrame) -> pd.Series:
    return rows.groupby("benchmark")["size"].transform("nunique") > len(inputs.SWEEP_SIZES)


def runs(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run with its context and date, oldest first."""
    cols = [*RUN, "date", *FACTORS, "cpu", "num_cpu", "os"]
    present = [c for c in cols if c in frame]
    return (frame[present].drop_duplicates(RUN).sort_values("date").reset_index(drop=True))


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the newest commit of each machine x environment: what the detailed sections show."""
    newest = frame.groupby(["machine", "env"])["date"].transform("max")
    return frame[frame["date"] == newest]


def latency(frame: pd.DataFrame) -> pd.DataFrame:
    """Time per call in microseconds: run x direction x path (rows) by size (columns)."""
    t = size_sweep(frame)
    table = t.pivot_table(index=[*RUN, "direction", "label"], columns="size", values="value", sort=False) * US
    table.columns = [inputs.format_size(int(s)) for s in table.columns]
    return table


def bandwidth(frame: pd.DataFrame) -> pd.DataFrame:
    """GB/s of every timed case and the percentage of the same run's ceiling at the same size.

    Only copying paths (catalogue `shares` False) get a bandwidth: a zero-copy call moves no
    bytes, and size / time for it is a number that grows with size and means nothing. Host paths
    only: a CUDA transfer's ceiling is a pinned PCIe copy, read by `bridge_bench.ceilings`.
    The ceiling is the fastest reference path (direction "reference": copies into preallocated and
    into fresh memory) of the same run at the same size, dtype and layout. At small sizes every
    path is overhead-bound and the percentage says how close a call is to a bare copy, not to DRAM.
    """
    t = size_sweep(frame)
    t = t[~t["path"].map(_shares) & ~t["path"].map(_cuda)]
    t = t.assign(gbps=t["size"] / t["value"] / inputs.GB)
    key = [*RUN, "size", "dtype", "layout"]
    ref = t[t["direction"] == catalogue.REFERENCE]
    ceiling = ref.groupby(key, as_index=False)["gbps"].max().rename(columns={"gbps": "ceiling_gbps"})
    out = t.merge(ceiling, on=key, how="left")
    out["pct_of_ceiling"] = 100 * out["gbps"] / out["ceiling_gbps"]
    return out[[*RUN, *CASE, "value", "gbps", "ceiling_gbps", "pct_of_ceiling"]].rename(columns={"value": "seconds"})


def speedups(frame: pd.DataFrame) -> pd.DataFrame:
    """How many times faster each zero-copy path is than each copying path of its direction.

    Pairs come from the catalogue's `shares` flag: every sharing path against every copying path
    of the same direction, at the same size, in the same run.
    """
    t = size_sweep(frame)
    t = t[t["direction"] != catalogue.REFERENCE]
    shares = t["path"].map(_shares)
    cols = [*RUN, "direction", "size", "label", "value"]
    pairs = t[shares][cols].merge(t[~shares][cols], on=[*RUN, "direction", "size"], suffixes=("_zero_copy", "_copy"))
    pairs["speedup"] = pairs["value_copy"] / pairs["value_zero_copy"]
    return pairs.rename(columns={"label_zero_copy": "zero_copy", "label_copy": "copy"})[
        [*RUN, "direction", "zero_copy", "copy", "size", "speedup"]]


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
    sizes. A zero-copy path shows ~0 ns per MiB in both regimes (it moves no bytes; its GB/s is
    meaningless, inf when the fitted slope is <= 0).
    """
    t = size_sweep(frame)
    fits = t.groupby([*RUN, "direction", "label"], sort=False)[["size", "value"]].apply(_fit)
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
    m["which"] = m["benchmark"].str.rsplit(".", n=1).str[-1].str.removeprefix("peakmem_")
    wide = m.pivot_table(index=[*RUN, "direction", "label", "size"], columns="which", values="value", sort=False)
    if not {"convert", "prepared"} <= set(wide.columns):
        return pd.DataFrame()
    out = pd.DataFrame({"allocated_MiB": (wide["convert"] - wide["prepared"]) / inputs.MiB})
    sizes = out.index.get_level_values("size").to_numpy(float)
    out["allocated_x_array"] = out["allocated_MiB"] * inputs.MiB / sizes
    return out


def cross_env(frame: pd.DataFrame) -> pd.DataFrame:
    """Time ratios B / A for pairs of runs that differ in exactly one factor (torch, numpy, THP...).

    Runs are first reduced to the newest commit per context (every FACTORS and SAME_HARDWARE value),
    then paired when all their context but one factor matches. A ratio above 1 means B is slower.
    """
    t = frame[(frame["kind"] == "time") & (frame["status"] == "ok")]
    ctx = [c for c in FACTORS + SAME_HARDWARE if c in t]
    t = t.assign(**{c: t[c].map(str) for c in ctx})  # None -> "None": a value to group on, not missing
    t = t[t["date"] == t.groupby(ctx)["date"].transform("max")]
    contexts = t[ctx].drop_duplicates().reset_index(drop=True)
    keyed = t.set_index(ctx)
    parts = []
    for factor in FACTORS:
        others = [c for c in ctx if c != factor]
        for _, group in contexts.groupby(others):
            levels = sorted(group[factor].unique())
            for a, b in zip(levels, levels[1:]):
                sel = {**dict(zip(others, group.iloc[0][others])), factor: a}
                va = keyed.loc[tuple(sel[c] for c in ctx)].reset_index()[CASE + ["value"]]
                sel[factor] = b
                vb = keyed.loc[tuple(sel[c] for c in ctx)].reset_index()[CASE + ["value"]]
                pair = va.merge(vb, on=CASE, suffixes=("_a", "_b"))
                pair.insert(0, "factor", factor)
                pair.insert(1, "a", a)
                pair.insert(2, "b", b)
                pair.insert(3, "context", ", ".join(f"{c}={sel[c]}" for c in others if c in FACTORS))
                parts.append(pair)
    if not parts:
        return pd.DataFrame(columns=["factor", "a", "b", "context", *CASE, "value_a", "value_b", "ratio"])
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
