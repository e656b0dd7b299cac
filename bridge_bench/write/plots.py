"""matplotlib figures of the analysis tables (Agg backend: no display, same output everywhere).

Each function takes one run's rows and returns a Figure; the report saves it. Legends are the
catalogue's labels (the code a user writes); a path keeps its colour in every figure and every
report (`colour`: its record's, never its place in the catalogue), and zero-copy paths are drawn
solid, copying paths dashed (the `shares` field).
Time-versus-size is log-log: sizes double from 8 B to 256 MiB and times span six decades.
"""

from __future__ import annotations

import hashlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm, TwoSlopeNorm  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from bridge_bench import catalogue, inputs, units  # noqa: E402

#: matplotlib's qualitative 20-colour palette: each catalogue record names a slot of it (`colour`).
PALETTE = plt.get_cmap("tab20").colors
_SIZE_TICKS = FuncFormatter(lambda x, _: inputs.format_size(int(x)) if x >= 1 else "")


def colour(path_id: str) -> tuple[float, float, float]:
    """A path's colour, a function of its id alone: the tab20 slot its record names, or for an id
    without one (a record that names none, a path of an old result that the catalogue no longer
    has) a slot from a hash of the id. Not the path's place in the catalogue, as it was: adding a
    path recoloured every later one, so the same path had another colour in last month's report."""
    record = catalogue.BY_ID.get(path_id)
    if record is not None and record.colour is not None:
        return PALETTE[record.colour]
    return PALETTE[int.from_bytes(hashlib.sha256(path_id.encode()).digest()[:8], "big") % len(PALETTE)]


def _style(path_id: str) -> dict:
    record = catalogue.BY_ID.get(path_id)
    return {"color": colour(path_id), "linestyle": "-" if record and record.shares else "--",
            "marker": ".", "markersize": 4}


def _size_axis(ax) -> None:
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(_SIZE_TICKS)
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=2, numticks=15))
    ax.set_xlabel("array size (logical bytes)")
    ax.grid(True, which="major", alpha=0.3)


def _figure(title: str, width: float = 8, height: float = 4.8):
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.set_title(title)
    return fig, ax


def _path_lines(ax, rows: pd.DataFrame, y: pd.Series, ylabel: str) -> None:
    """One line per path (catalogue label and style) of `y` against size, log-log."""
    for (pid, label), g in rows.groupby(["path", "label"], sort=False):
        ax.plot(g["size"], y[g.index], label=label, **_style(pid))
    _size_axis(ax)
    ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="upper left")


def time_vs_size(rows: pd.DataFrame, title: str):
    """Latency of every path in `rows` (one run, one direction) against size, log-log."""
    fig, ax = _figure(title)
    _path_lines(ax, rows, rows["value"] * 1e6, "time per call (µs)")
    return fig


def time_vs_release(rows: pd.DataFrame, title: str):
    """Time per call (seconds) of every path against the torch release: `rows` is indexed by
    (path id, label), a column per release, oldest first; log y, ticks at 1, 2, 5 of each decade."""
    fig, ax = _figure(title, width=8, height=4.4)
    x = list(range(len(rows.columns)))
    for (pid, label), values in rows.iterrows():
        ax.plot(x, values.to_numpy(), label=label, **_style(pid))
    ax.set_xticks(x, [f"torch {v}" for v in rows.columns], rotation=30, ha="right")
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1, 2, 5)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: units.seconds(v) if v > 0 else ""))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylabel("time per call (published figure)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def bandwidth_vs_size(rows: pd.DataFrame, title: str, ceiling: str = "ceiling: fastest reference copy, same run"):
    """GB/s of the copying paths in `rows` (one run) with the run's ceiling (`ceiling_gbps`,
    labelled `ceiling`) as a black line."""
    fig, ax = _figure(title)
    line = rows.groupby("size")["ceiling_gbps"].first()
    ax.plot(line.index, line.to_numpy(), color="black", linewidth=2.5, alpha=0.35, label=ceiling)
    _path_lines(ax, rows, rows["gbps"], "bandwidth (GB/s of array bytes)")
    return fig


def speedups(rows: pd.DataFrame, title: str):
    """Zero-copy over copy: one panel per direction, a line per (zero-copy, copy) pair."""
    directions = list(dict.fromkeys(rows["direction"]))
    fig, axes = plt.subplots(1, len(directions), figsize=(6 * len(directions), 4.6), layout="constrained",
                             squeeze=False)
    fig.suptitle(title)
    for ax, direction in zip(axes[0], directions):
        d = rows[rows["direction"] == direction]
        for (zero, copy), g in d.groupby(["zero_copy", "copy"], sort=False):
            ax.plot(g["size"], g["speedup"], label=f"{zero} vs {copy}", marker=".", markersize=4)
        _size_axis(ax)
        ax.set_yscale("log")
        ax.axhline(1, color="black", linewidth=0.8)
        ax.set_title(direction)
        ax.set_ylabel("speedup (copy time / zero-copy time)")
        ax.legend(fontsize=7, loc="upper left")
    return fig


def heatmap(table: pd.DataFrame, title: str, colorbar: str, ratio: bool = False, fmt=units.short):
    """A labelled grid of `table` (rows x columns), values written in the cells; NaN cells blank.

    `ratio=True`: a diverging scale centred on 1 (B/A: red slower, blue faster); otherwise a log
    scale (times spanning decades).
    """
    values = table.to_numpy(float)
    finite = values[np.isfinite(values) & (values > 0)]
    if ratio:
        span = max(np.abs(np.log2(finite)).max(), 0.1) if finite.size else 1
        norm, cmap = TwoSlopeNorm(1, 2**-span, 2**span), "RdBu_r"
    else:
        norm, cmap = (LogNorm(finite.min(), finite.max()) if finite.size else None), "viridis"
    width = min(3 + 0.75 * table.shape[1], 22)
    fig, ax = _figure(title, width=width, height=1.4 + 0.32 * table.shape[0])
    image = ax.imshow(np.ma.masked_invalid(values), aspect="auto", cmap=cmap, norm=norm)
    ax.set_xticks(range(table.shape[1]), [str(c) for c in table.columns], rotation=45, ha="right")
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    if table.size <= 600:
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.text(j, i, fmt(v), ha="center", va="center", fontsize=7,
                        color="white" if not ratio else "black")
    fig.colorbar(image, ax=ax, label=colorbar)
    return fig


def batch_ratios(rows: pd.DataFrame, title: str):
    """Building a batch: one panel per item size, each way's time over one copy of the batch
    (`x_copy`) against the number of items, log-log; the copy itself is the line at 1."""
    sizes = sorted(rows["size"].unique())
    fig, axes = plt.subplots(1, len(sizes), figsize=(3.4 * len(sizes) + 2.6, 4.4), layout="constrained",
                             squeeze=False, sharey=True)
    fig.suptitle(title)
    for ax, size in zip(axes[0], sizes):
        for (pid, label), g in rows[rows["size"] == size].groupby(["path", "label"], sort=False):
            ax.plot(g["batch"], g["x_copy"], label=label, **{**_style(pid), "markersize": 7})
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(inputs.BATCH_SIZES, [str(b) for b in inputs.BATCH_SIZES])
        ax.axhline(1, color="black", linewidth=0.8)
        ax.set_title(f"items of {inputs.format_size(int(size))}")
        ax.set_xlabel("items in the batch")
        ax.grid(True, which="major", alpha=0.3)
    axes[0][0].set_ylabel("time / one copy of the batch")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside right center")
    return fig
