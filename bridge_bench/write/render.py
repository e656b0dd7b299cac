"""A report's sections -> a folder a person can open on an air-gapped box.

A section is prose, tables and figures (`Section`); this module knows nothing of what they say.
It writes `index.html` (self-contained: images inline as data URIs, no CDN, no JavaScript, every
string HTML-escaped, since labels and context come from result files), `report.md` (the same
content, for a pull request or a CI job summary; images by relative path), `tables/<name>.csv`
(every table, every row and column, full precision) and `images/<name>.png`. Numbers are shown by
`bridge_bench.units`.

The page is for reading on a laptop (1366 px) and in a job summary, the CSVs for searching. So the
page names a run once, by its short label, not in every row (`_pages`); shows a table with a column
per size at PAGE_SIZES only; and links, without showing, the tables a section marks `linked`
(one row per measured case: hundreds of rows).

Where it writes: never over something the user had. The folder must be missing, empty, or a
previous report (it holds `.bridge-bench-report`, the list of files that report wrote; only those
are replaced). It may not lie inside a folder the report reads (a results directory is never
modified).
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bridge_bench import errors, inputs, units
from bridge_bench.write import plots
from bridge_bench.read.results import RUN

MARKER = ".bridge-bench-report"
#: The sizes the page shows of a table with a column per size (its CSV has all of them): the
#: per-call overhead (8 B), still overhead-bound (1 KiB), in L1/L2 (32 KiB), in L2/L3 (1 MiB,
#: 8 MiB), DRAM-bound (64 MiB) and the largest. Seven columns fit 1366 px; the figures draw every size.
PAGE_SIZES = (8, inputs.KiB, inputs.IN_CACHE, inputs.MiB, 8 * inputs.MiB, inputs.OUT_OF_CACHE, max(inputs.SIZES))
_SIZE_NAMES = {inputs.format_size(s) for s in inputs.SIZES}
_HIDDEN_SIZES = _SIZE_NAMES - {inputs.format_size(s) for s in PAGE_SIZES}
#: The last section's title: what was wrong with the input (skipped files, stale context).
WARNINGS = "Input warnings"
#: A text column with a cell longer than this is sentences, and wraps on the page.
WRAP = 20


class ReportError(errors.InputError):
    """The report cannot be written as asked; the message names the file or folder."""


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # (file name, caption, table)
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, PNG)
    linked: set[str] = field(default_factory=set)  # tables too long to read: the page links their CSV

    def add_figure(self, name: str, fig) -> None:
        """Render now and keep the PNG: a figure left open holds megabytes until the end."""
        self.figures.append((name, png(fig)))


def png(fig) -> bytes:
    """PNG reduced to a 256-colour palette: a third of the bytes, no visible loss for line plots and
    heatmaps, which keeps a report with every image inline small enough to commit or mail."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plots.plt.close(fig)
    small = io.BytesIO()
    Image.open(buf).convert("RGB").quantize(256).save(small, format="png", optimize=True)
    return small.getvalue()


def prepare(out: Path, sources: list[Path]) -> None:
    """Refuse an output folder that holds anything but a previous report, or lies inside one of the
    `sources` the report reads; clear a previous report."""
    target = out.resolve()
    for d in sources:
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


def _pages(table: pd.DataFrame, runs: dict[tuple, str]) -> list[tuple[str, pd.DataFrame]]:
    """A table as the page shows it: (run label or "", rows with a plain index). A table whose index
    starts with the run (analysis' wide tables) becomes one table per run, under its label;
    elsewhere the run's columns become one `run` column of labels."""
    if table.index.nlevels > len(RUN) and list(table.index.names[:len(RUN)]) == RUN:
        return [(runs[run], part.droplevel(RUN).reset_index()) for run, part in table.groupby(level=RUN, sort=False)]
    flat = table if isinstance(table.index, pd.RangeIndex) else table.reset_index()
    if set(RUN) <= set(flat.columns):
        labels = [runs[run] for run in flat[RUN].itertuples(index=False, name=None)]
        flat = flat.drop(columns=RUN)
        flat.insert(0, "run", labels)
    return [("", flat)]


def _blocks(section: Section, runs: dict[tuple, str]):
    """Each table of `section` as the page shows it: (file name, caption, rows), rows None for a
    table that is only linked."""
    for name, caption, table in section.tables:
        if name in section.linked:
            yield name, f"{caption} ({len(table):,} rows)", None
            continue
        hidden = [c for c in table.columns if c in _HIDDEN_SIZES]
        if hidden:
            sizes = sum(c in _SIZE_NAMES for c in table.columns)
            caption += f", {sizes - len(hidden)} of {sizes} sizes"
        for label, rows in _pages(table.drop(columns=hidden), runs):
            yield name, f"{caption} — {label}" if label else caption, rows


def _cells(rows: pd.DataFrame) -> pd.DataFrame:
    """Strings for HTML and Markdown: sizes readable, numbers by `units.number`, NaN as '—'."""
    if "size" in rows.columns:
        rows = rows.assign(size=rows["size"].map(lambda s: inputs.format_size(int(s))))
    return rows.map(units.number)


def _markdown_cell(text: str) -> str:
    return html.escape(str(text)).replace("|", "\\|")


def _numeric(rows: pd.DataFrame) -> list[bool]:
    """Which columns hold numbers: right-aligned so magnitudes line up; text (labels, advice) is
    left-aligned."""
    return [pd.api.types.is_numeric_dtype(dtype) for dtype in rows.dtypes]


def _html_table(rows: pd.DataFrame) -> str:
    """Cells do not wrap ("numpy->torch" breaks at its hyphen), except in a column of sentences
    (advice, error messages, CPU names: over WRAP characters), which takes the width that is left."""
    esc = html.escape
    cells = _cells(rows)
    kinds = ["" if numeric else " class='w'" if cells[c].str.len().max() > WRAP else " class='t'"
             for c, numeric in zip(cells.columns, _numeric(rows))]
    head = "".join(f"<th{k}>{esc(str(c))}</th>" for c, k in zip(rows.columns, kinds))
    body = "".join("<tr>" + "".join(f"<td{k}>{esc(v)}</td>" for v, k in zip(row, kinds)) + "</tr>"
                   for row in cells.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _prose(text: str) -> str:
    """A section's text as HTML: escaped, with its `code` spans (markdown's backticks) as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _pointer(warnings: list[str]) -> str:
    """One line at the top about the input warnings listed at the end: a history's hundreds of
    problem files must not push the findings off the first screen."""
    return f"{len(warnings)} input warning{'s' * (len(warnings) > 1)}: see {WARNINGS}"


def _html(sections: list[Section], title: str, warnings: list[str], runs: dict[tuple, str]) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
             "body{font-family:system-ui,sans-serif;margin:1em auto;max-width:1400px;padding:0 1em}"
             "h1{font-size:1.5em;margin:0.3em 0}h2{font-size:1.3em;margin:1em 0 0.3em}"
             "h3{font-size:1em;margin:1em 0 0.3em}"
             "p{margin:0.3em 0}nav{font-size:0.9em}"
             "table{border-collapse:collapse;font-size:12px;margin:0.3em 0 1em}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}th{background:#f3f3f3}"
             ".t,.w{text-align:left}.w{white-space:normal}"
             ".scroll{overflow-x:auto}img{max-width:100%;display:block;margin:1em 0}"
             ".warn{color:#a40}</style></head><body>", f"<h1>{esc(title)}</h1>",
             "<nav>" + " · ".join(f"<a href='#s{i}'>{esc(s.title)}</a>" for i, s in enumerate(sections)) + "</nav>"]
    if warnings:
        parts.append(f"<p class='warn'>{esc(_pointer(warnings))} (<a href='#warnings'>below</a>).</p>")
    for i, s in enumerate(sections):
        parts.append(f"<h2 id='s{i}'>{esc(s.title)}</h2><p>{_prose(s.text)}</p>")
        for name, caption, rows in _blocks(s, runs):
            link = f"<a href='tables/{esc(name)}.csv'>{esc(name)}.csv</a>"
            parts.append(f"<p>{esc(caption)}: {link}</p>" if rows is None else
                         f"<h3>{esc(caption)} <small>({link})</small></h3>"
                         f"<div class='scroll'>{_html_table(rows)}</div>")
        for name, image in s.figures:
            data = base64.b64encode(image).decode()
            parts.append(f"<img alt='{esc(name)}' src='data:image/png;base64,{data}'>")
    if warnings:
        parts.append(f"<h2 id='warnings'>{WARNINGS}</h2><ul class='warn'>"
                     + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _markdown(sections: list[Section], title: str, warnings: list[str], runs: dict[tuple, str]) -> str:
    lines = [f"# {_markdown_cell(title)}", ""]
    if warnings:
        lines += [f"> {_pointer(warnings)} (the last section)."]
    for s in sections:
        lines += ["", f"## {s.title}", "", _markdown_cell(s.text), ""]
        for name, caption, rows in _blocks(s, runs):
            link = f"[{name}.csv](tables/{name}.csv)"
            if rows is None:
                lines += [f"{_markdown_cell(caption)}: {link}", ""]
                continue
            shown = _cells(rows)
            shown.columns = [_markdown_cell(c) for c in shown.columns]
            align = ["right" if numeric else "left" for numeric in _numeric(rows)]
            lines += [f"**{_markdown_cell(caption)}** ({link})", "",
                      shown.map(_markdown_cell).to_markdown(index=False, colalign=align), ""]
        lines += [f"![{name}](images/{name}.png)" for name, _ in s.figures]
    if warnings:
        lines += ["", f"## {WARNINGS}", "", *(f"> warning: {_markdown_cell(w)}" for w in warnings)]
    return "\n".join(lines) + "\n"


def write(sections: list[Section], out: Path, title: str, warnings: list[str], runs: dict[tuple, str]) -> None:
    """Write the folder (after `prepare`): images, tables, index.html, report.md, then the marker
    that lists them, so that the next report replaces exactly these files. `runs`: each run's
    short label (`analysis.run_labels`), by its RUN values."""
    written = []
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("images", "tables"):
        (out / sub).mkdir(exist_ok=True)
    for name, image in (f for s in sections for f in s.figures):
        (out / "images" / f"{name}.png").write_bytes(image)
        written.append(f"images/{name}.png")
    for name, _, table in (t for s in sections for t in s.tables):
        table.to_csv(out / "tables" / f"{name}.csv")
        written.append(f"tables/{name}.csv")
    (out / "index.html").write_text(_html(sections, title, warnings, runs), encoding="utf-8")
    (out / "report.md").write_text(_markdown(sections, title, warnings, runs), encoding="utf-8")
    written += ["index.html", "report.md"]
    (out / MARKER).write_text(json.dumps(written, indent=0))
