"""`bridge-bench report`: asv results -> a folder a person can open on an air-gapped box.

Writes `index.html` (self-contained: images inline as data URIs, no CDN, no JavaScript, every string
from the results HTML-escaped), `report.md` (same content, for a pull request or a CI job summary;
images by relative path), `tables/<name>.csv` (every table, full precision) and `images/<name>.png`.

What it reads: the newest commit of each machine x environment. History across commits is what
asv's own dashboard (`asv publish`) is for; this report answers "what does the bridge cost here,
against what this machine can copy". Cross-environment ratios pair environments that differ in one
factor (torch, numpy, threads, THP).

Where it writes: never over something the user had. `--out` must be missing, empty, or a previous
report (it holds `.bridge-bench-report`, the list of files that report wrote; only those are
replaced). It may not lie inside a results directory, which is never modified.
"""

from __future__ import annotations

import base64
import html
import io
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bridge_bench import analysis, catalogue, ceilings, devices, inputs, plots, results, semantics

MARKER = ".bridge-bench-report"
#: Figures are drawn for this many runs (newest first) and cross-environment comparisons: a figure
#: costs ~0.3-1 s and ~30 KB, and the issue's budget is 20 s for 100k rows. Every run is in the
#: tables and CSVs.
PLOTTED_RUNS = 1
MAX_PLOTTED = 2


class ReportError(ValueError):
    """The report cannot be written as asked; the message names the file or folder."""


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # (file name, caption, table)
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, PNG)

    def add_figure(self, name: str, fig) -> None:
        """Render now and keep the PNG: a figure left open holds megabytes until the end."""
        self.figures.append((name, _png(fig)))


# -- output folder ---------------------------------------------------------------------------------

def _prepare_out(out: Path, inputs_dirs: list[Path]) -> None:
    """Refuse an output folder that holds anything but a previous report; clear a previous report."""
    target = out.resolve()
    for d in inputs_dirs:
        source = d.resolve()
        if target == source or source in target.parents:
            raise ReportError(f"{out}: inside the results directory {d}, which a report never modifies; "
                              "choose another --out")
    if not out.exists():
        return
    if not out.is_dir():
        raise ReportError(f"{out}: exists and is not a folder")
    marker = out / MARKER
    if marker.is_file():
        for name in json.loads(marker.read_text()):
            (out / name).unlink(missing_ok=True)
        marker.unlink()
    elif any(out.iterdir()):
        raise ReportError(f"{out}: not empty and not a previous bridge-bench report (no {MARKER}); "
                          "refusing to overwrite it, choose a new or empty --out")


# -- formatting ------------------------------------------------------------------------------------

def _number(v) -> str:
    if isinstance(v, str):
        return v
    if v is None or pd.isna(v):
        return "—"
    if v == float("inf"):
        return "∞"
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return str(v)


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """Strings for HTML and Markdown: sizes readable, floats to 3 significant digits, NaN as '—'."""
    shown = table if isinstance(table.index, pd.RangeIndex) else table.reset_index()
    if "size" in shown.columns:
        shown = shown.assign(size=shown["size"].map(lambda s: inputs.format_size(int(s))))
    return shown.map(_number)


def _markdown_cell(text: str) -> str:
    return html.escape(str(text)).replace("|", "\\|")


def _png(fig) -> bytes:
    """PNG reduced to a 256-colour palette: a third of the bytes, no visible loss for line plots and
    heatmaps, which keeps a report with every image inline small enough to commit or mail."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plots.plt.close(fig)
    small = io.BytesIO()
    Image.open(buf).convert("RGB").quantize(256).save(small, format="png", optimize=True)
    return small.getvalue()


# -- sections --------------------------------------------------------------------------------------

def _run_name(run: tuple) -> str:
    machine, env, commit = run
    return f"{machine} · {env} · {commit[:8]}"


def _runs_section(frame: pd.DataFrame, loaded: results.Loaded) -> Section:
    text = (f"{loaded.files} result file(s), {len(frame)} measured values. Each run is one machine x "
            "environment x commit; the sections below read its newest commit.")
    return Section("Runs", text, [("runs", "Runs found (newest commit of each machine and environment "
                                           "is reported)", analysis.runs(frame))])


def _latency_section(frame: pd.DataFrame, runs: list[tuple]) -> Section:
    s = Section("Latency", "Time per call in µs, float32, C-contiguous (sizes sweep). Log-log figures per "
                "direction; solid lines share memory, dashed lines copy.",
                [("latency", "Time per call (µs) by array size", analysis.latency(frame))])
    t = analysis.size_sweep(frame)
    for i, run in enumerate(runs):
        r = t[(t[analysis.RUN].apply(tuple, axis=1) == run)]
        for direction, rows in r.groupby("direction", sort=False):
            s.add_figure(f"time_{direction.replace('->', '_to_')}_run{i}",
                              plots.time_vs_size(rows, f"{direction}: time per call\n{_run_name(run)}"))
    return s


def _bandwidth_section(frame: pd.DataFrame, runs: list[tuple]) -> tuple[Section, pd.DataFrame]:
    bw = analysis.bandwidth(frame)
    wide = bw.pivot_table(index=[*analysis.RUN, "direction", "label"], columns="size",
                          values="pct_of_ceiling", sort=False)
    wide.columns = [inputs.format_size(int(c)) for c in wide.columns]
    ceiling = bw.drop_duplicates([*analysis.RUN, "size"]).pivot_table(
        index=analysis.RUN, columns="size", values="ceiling_gbps", sort=False)
    ceiling.columns = [inputs.format_size(int(c)) for c in ceiling.columns]
    s = Section("Bandwidth against the ceiling",
                "Bandwidth = logical array bytes / time (a copy reads and writes those bytes, so the memory "
                "traffic is twice that). Only copying paths have one: a zero-copy call moves no bytes. "
                "The ceiling is the fastest reference copy (direction `reference`) of the same run at the "
                "same size; a path's percentage says how close it comes to a plain copy on this machine.",
                [("bandwidth", "Every copying case: GB/s and % of the same run's ceiling", bw),
                 ("ceiling", "The ceiling (GB/s) per run and size", ceiling),
                 ("pct_of_ceiling", "% of the same run's ceiling by size", wide)])
    for i, run in enumerate(runs):
        rows = bw[bw[analysis.RUN].apply(tuple, axis=1) == run]
        s.add_figure(f"bandwidth_run{i}",
                          plots.bandwidth_vs_size(rows, f"Bandwidth of copying paths\n{_run_name(run)}"))
    return s, bw


def _speedup_section(frame: pd.DataFrame, runs: list[tuple]) -> Section:
    sp = analysis.speedups(frame)
    wide = sp.pivot_table(index=[*analysis.RUN, "direction", "zero_copy", "copy"], columns="size",
                          values="speedup", sort=False)
    wide.columns = [inputs.format_size(int(c)) for c in wide.columns]
    keep = [inputs.format_size(s) for s in (8, inputs.IN_CACHE, inputs.MiB, inputs.OUT_OF_CACHE,
                                            max(inputs.SIZES))]
    s = Section("Zero-copy versus copy", "Copy time / zero-copy time, same run and size (catalogue `shares`).",
                [("speedups", "Speedup of each zero-copy path over each copy of its direction",
                  wide[[c for c in keep if c in wide.columns]])])
    for i, run in enumerate(runs):
        rows = sp[sp[analysis.RUN].apply(tuple, axis=1) == run]
        s.add_figure(f"speedups_run{i}",
                          plots.speedups(rows, f"Zero-copy over copy\n{_run_name(run)}"))
    return s


def _cost_section(frame: pd.DataFrame) -> Section:
    return Section("Cost model",
                   "time = overhead + bytes x cost per byte, fitted per path in two regimes (below 64 MiB: "
                   "caches help; from 64 MiB: DRAM) by least squares on relative residuals. `gbps_dram` is "
                   "what to expect for large arrays; zero-copy paths show ~0 ns per MiB. `rms_error_pct` is "
                   "the fit's RMS relative error over all sizes.",
                   [("cost_model", "Cost model per path", analysis.cost_model(frame))])


def _sweep_section(frame: pd.DataFrame, runs: list[tuple], sweep: str, column: str) -> Section:
    s = Section(f"{column.capitalize()}s",
                f"Time per call (µs) by {column} at {inputs.format_size(inputs.IN_CACHE)} (in cache) and "
                f"{inputs.format_size(inputs.OUT_OF_CACHE)} (DRAM). '—': skipped, the path refuses it or this "
                "torch/numpy lacks it (see the semantics table).")
    for size in inputs.SWEEP_SIZES:
        table = analysis.at_size(frame, sweep, column, size)
        name = f"{sweep}_{inputs.format_size(size).replace(' ', '')}"
        s.tables.append((name, f"Time per call (µs) by {column} at {inputs.format_size(size)}", table))
        for i, run in enumerate(runs):
            rows = table[table.index.droplevel(["direction", "label"]).map(tuple) == run]
            if rows.empty:
                continue
            rows = rows.droplevel(analysis.RUN)
            rows.index = rows.index.get_level_values("label")
            s.add_figure(f"{name}_run{i}", plots.heatmap(
                rows, f"Time per call (µs) by {column}, {inputs.format_size(size)}\n{_run_name(run)}",
                "µs per call (log scale)"))
    return s


def _memory_section(frame: pd.DataFrame) -> Section:
    return Section("Peak memory",
                   "What one call allocates: asv's peak RSS with the call minus the same process without it "
                   "(`peakmem_convert` - `peakmem_prepared`). ~0 for zero-copy, ~1x the array for a copy.",
                   [("peak_memory", "Allocated by one call", analysis.peak_memory(frame))])


def _cross_env_section(frame: pd.DataFrame) -> Section:
    ratios = analysis.cross_env(frame)
    if ratios.empty:
        return Section("Across environments",
                       "Only one environment per machine: nothing to compare. Run the suite again with another "
                       "torch or numpy (asv matrix), torch thread count, or THP_MEM_ALLOC_ENABLE=1, and pass "
                       "both results directories.")
    s = Section("Across environments",
                "Time ratio B / A for runs that differ in exactly one factor (same hardware): above 1, B is slower.",
                [("cross_env", "Per comparison and path, over the size sweep", analysis.cross_env_summary(ratios)),
                 ("cross_env_cases", "Every compared case", ratios)])
    sizes = analysis.size_ratios(ratios)
    for i, ((factor, a, b, ctx), g) in enumerate(sizes.groupby(["factor", "a", "b", "context"], sort=False)):
        if i == MAX_PLOTTED:
            break
        grid = g.pivot_table(index="label", columns="size", values="ratio", sort=False)
        grid.columns = [inputs.format_size(int(c)) for c in grid.columns]
        s.add_figure(f"ratio_{i}", plots.heatmap(grid, f"{factor}: {b} / {a} (time ratio)\n{ctx}",
                                                      "time ratio B / A", ratio=True, fmt="{:.2f}".format))
    return s


def _transfers_section(frame: pd.DataFrame, runs: list[tuple]) -> Section:
    """Host <-> CUDA: GB/s per path against the same run's pinned-copy ceiling, and the self-check
    (`bridge_bench.ceilings`): a transfer faster than its ceiling is a measurement error."""
    checked = ceilings.transfers(frame)
    title = "Host <-> CUDA transfers"
    if checked.empty:
        return Section(title, "No timed transfer with a ceiling in these results (no CUDA paths): nothing to check.")
    bad = checked[checked["violation"]]
    text = (f"{len(bad)} of {len(checked)} transfer bandwidths are more than {ceilings.TOLERANCE:.0%} above the "
            "same run's ceiling: those are measurement errors (a missing synchronise), not results."
            if len(bad) else f"All {len(checked)} transfer bandwidths are within their run's ceiling.")
    text += (" GB/s = array bytes / the published time, the median of the quiet looks (10^9 bytes/s); the ceiling of each direction is a "
             f"{inputs.format_size(devices.CEILING_SIZE)} pinned copy timed with CUDA events in the same run.")
    # float32 over the size sweep; a case the dtype sweep measured too is read as the median of both
    sizes = (checked[checked["dtype"] == "float32"]
             .groupby([*analysis.RUN, "direction", "path", "label", "size"], as_index=False, sort=False)
             .agg(gbps=("gbs", "median"), ceiling_gbps=("ceiling_gbs", "first")))
    wide = sizes.pivot_table(index=[*analysis.RUN, "direction", "label"], columns="size", values="gbps", sort=False)
    wide.columns = [inputs.format_size(int(c)) for c in wide.columns]
    cols = [*analysis.RUN, "direction", "label", "size", "dtype", "gbs", "ceiling", "ceiling_gbs", "ratio", "violation"]
    s = Section(title, text, [("transfers", "GB/s by path and size, float32", wide),
                              ("ceiling_checks", "Every transfer against its ceiling (GB/s)", checked[cols])])
    for i, run in enumerate(runs):
        for direction, rows in sizes[sizes[analysis.RUN].apply(tuple, axis=1) == run].groupby("direction", sort=False):
            s.add_figure(f"transfer_{direction.replace('->', '_to_')}_run{i}", plots.bandwidth_vs_size(
                rows, f"{direction}: bandwidth\n{_run_name(run)}", "ceiling: pinned copy, CUDA events, same run"))
    return s


def _semantics_section(file: Path) -> Section:
    try:
        data = json.loads(file.read_text())
        cases = pd.DataFrame(data["cases"])
        cases["outcome"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReportError(f"{file}: not the JSON of `bridge-bench semantics --json` ({exc})") from None
    symbol = cases["outcome"].map(semantics.SYMBOLS).fillna("?")
    changed = (cases["outcome"] == "copies") & (cases.get("dtype_out") != cases.get("dtype_in"))
    cases["cell"] = symbol.where(~changed, "c")
    cases["label"] = cases["path"].map(lambda p: catalogue.BY_ID[p].label if p in catalogue.BY_ID else p)
    grid = cases.pivot_table(index=["label", "layout"], columns="dtype", values="cell", aggfunc="first", sort=False)
    versions = ", ".join(f"{k} {v}" for k, v in data.get("versions", {}).items())
    s = Section("Semantics", f"What each path really did on each dtype and layout ({versions}; "
                f"{data.get('size')} B sources). S shares memory, C copies, c copies and changes dtype, "
                "E raises, X crashes the interpreter, . n/a. Counts: "
                + ", ".join(f"{n} {k}" for k, n in data.get("summary", {}).items()) + ".",
                [("semantics", "Outcome per path, layout and dtype", grid)])
    if "error" in cases:
        errors = (cases[cases["outcome"] == "raises"].groupby(["error_type", "error"]).size()
                  .sort_values(ascending=False).rename("cases").to_frame())
        s.tables.append(("semantics_errors", "Errors raised (cases)", errors))
    return s


# -- writers ---------------------------------------------------------------------------------------

def _html(sections: list[Section], images: dict[str, bytes], title: str, warnings: list[str]) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
             "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1400px;padding:0 1em}"
             "table{border-collapse:collapse;font-size:12px;margin:0.5em 0 1.5em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f3f3f3}"
             ".scroll{overflow-x:auto}img{max-width:100%;display:block;margin:1em 0}"
             ".warn{color:#a40}</style></head><body>", f"<h1>{esc(title)}</h1>", "<ul>"]
    parts += [f"<li><a href='#s{i}'>{esc(s.title)}</a></li>" for i, s in enumerate(sections)]
    parts.append("</ul>")
    if warnings:
        parts.append("<h2>Input warnings</h2><ul class='warn'>" + "".join(f"<li>{esc(w)}</li>" for w in warnings)
                     + "</ul>")
    for i, s in enumerate(sections):
        parts.append(f"<h2 id='s{i}'>{esc(s.title)}</h2><p>{esc(s.text)}</p>")
        for name, caption, table in s.tables:
            parts.append(f"<h3>{esc(caption)}</h3><p><a href='tables/{esc(name)}.csv'>{esc(name)}.csv</a></p>"
                         "<div class='scroll'>" + _display(table).to_html(index=False, escape=True, border=0)
                         + "</div>")
        for name, _ in s.figures:
            data = base64.b64encode(images[name]).decode()
            parts.append(f"<img alt='{esc(name)}' src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _markdown(sections: list[Section], title: str, warnings: list[str]) -> str:
    lines = [f"# {_markdown_cell(title)}", ""]
    lines += [f"> warning: {_markdown_cell(w)}" for w in warnings]
    for s in sections:
        lines += ["", f"## {s.title}", "", _markdown_cell(s.text), ""]
        for name, caption, table in s.tables:
            shown = _display(table)
            shown.columns = [_markdown_cell(c) for c in shown.columns]
            lines += [f"**{_markdown_cell(caption)}** ([{name}.csv](tables/{name}.csv))", "",
                      shown.map(_markdown_cell).to_markdown(index=False), ""]
        lines += [f"![{name}](images/{name}.png)" for name, _ in s.figures]
    return "\n".join(lines) + "\n"


def build(dirs: list[Path], out: Path, semantics: Path | None = None, progress=None) -> results.Loaded:
    """Write the report for the results directories `dirs` into `out`; returns what was loaded."""
    start = time.perf_counter()

    def step(message: str) -> None:
        if progress:
            progress(f"report: {message} ({time.perf_counter() - start:.1f} s)")

    dirs = [Path(d) for d in dirs]
    _prepare_out(out, dirs)
    semantics_section = _semantics_section(semantics) if semantics else None
    step(f"loading {', '.join(map(str, dirs))}")
    loaded = results.load(dirs)
    frame = analysis.latest(loaded.frame)
    newest = analysis.runs(frame).iloc[::-1][analysis.RUN].head(PLOTTED_RUNS)
    runs = [tuple(r) for r in newest.itertuples(index=False)]
    step(f"{len(loaded.frame)} values loaded; latency, bandwidth, speedups, cost model")
    sections = [_runs_section(loaded.frame, loaded), _transfers_section(frame, runs),
                _latency_section(frame, runs)]
    bandwidth_section, _ = _bandwidth_section(frame, runs)
    sections += [bandwidth_section, _speedup_section(frame, runs), _cost_section(frame)]
    step("dtype and layout sweeps")
    sections += [_sweep_section(frame, runs, "dtypes", "dtype"), _sweep_section(frame, runs, "layouts", "layout"),
                 _memory_section(frame)]
    step("cross-environment ratios")
    sections.append(_cross_env_section(loaded.frame))
    if semantics_section:
        sections.append(semantics_section)
    sections = [s for s in sections if s.tables or s.figures or s.text]

    images = {name: png for s in sections for name, png in s.figures}
    step(f"writing {len(images)} images, tables, index.html and report.md")
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("images", "tables"):
        (out / sub).mkdir(exist_ok=True)
    for name, data in images.items():
        (out / "images" / f"{name}.png").write_bytes(data)
        written.append(f"images/{name}.png")
    for s in sections:
        for name, _, table in s.tables:
            table.to_csv(out / "tables" / f"{name}.csv")
            written.append(f"tables/{name}.csv")
    title = "bridge-bench report: the NumPy <-> PyTorch bridge"
    (out / "index.html").write_text(_html(sections, images, title, loaded.warnings), encoding="utf-8")
    (out / "report.md").write_text(_markdown(sections, title, loaded.warnings), encoding="utf-8")
    written += ["index.html", "report.md"]
    (out / MARKER).write_text(json.dumps(written, indent=0))
    step(f"done: {out / 'index.html'}")
    return loaded


def print_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
