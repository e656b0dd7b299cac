"""A report's sections -> a folder a person can open on an air-gapped box.

A section is prose, tables and figures (`Section`); this module knows nothing of what they say.
It writes `index.html` (self-contained: images inline as data URIs, no CDN, no JavaScript, every
string HTML-escaped, since labels and context come from result files), `report.md` (the same
content, for a pull request or a CI job summary; images by relative path), `tables/<name>.csv`
(every table, full precision) and `images/<name>.png`. Numbers are shown by `bridge_bench.units`.

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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bridge_bench import errors, inputs, plots, units

MARKER = ".bridge-bench-report"


class ReportError(errors.InputError):
    """The report cannot be written as asked; the message names the file or folder."""


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # (file name, caption, table)
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, PNG)

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


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """Strings for HTML and Markdown: sizes readable, numbers by `units.number`, NaN as '—'."""
    shown = table if isinstance(table.index, pd.RangeIndex) else table.reset_index()
    if "size" in shown.columns:
        shown = shown.assign(size=shown["size"].map(lambda s: inputs.format_size(int(s))))
    return shown.map(units.number)


def _markdown_cell(text: str) -> str:
    return html.escape(str(text)).replace("|", "\\|")


def _html(sections: list[Section], title: str, warnings: list[str]) -> str:
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
        for name, image in s.figures:
            data = base64.b64encode(image).decode()
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


def write(sections: list[Section], out: Path, title: str, warnings: list[str]) -> None:
    """Write the folder (after `prepare`): images, tables, index.html, report.md, then the marker
    that lists them, so that the next report replaces exactly these files."""
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
    (out / "index.html").write_text(_html(sections, title, warnings), encoding="utf-8")
    (out / "report.md").write_text(_markdown(sections, title, warnings), encoding="utf-8")
    written += ["index.html", "report.md"]
    (out / MARKER).write_text(json.dumps(written, indent=0))
