"""What the semantics probe's results mean and how they are stored: the outcomes, one symbol a case
(`symbol`), the counts (`summary`), the text grid (`render`) and the `--json` document (`read`;
`bridge_bench.measure.semantics` runs the probe and writes it). A record of the probe, shared by the
layer that runs it and the layers that read it where torch is not installed."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bridge_bench import catalogue, errors

OUTCOMES = ("shares", "copies", "raises", "crash", "n/a")
_SHORT = {"bool": "b", "float16": "f16", "float32": "f32", "float64": "f64", "bfloat16": "bf16",
          "complex64": "c64", "complex128": "c128",
          **{f"{k}{n}": f"{k[0]}{n}" for k in ("int", "uint") for n in (8, 16, 32, 64)}}
SYMBOLS = {"shares": "S", "copies": "C", "raises": "E", "crash": "X", "n/a": "."}


def summary(records: list[dict]) -> dict[str, int]:
    counts = Counter(r["outcome"] for r in records)
    return {outcome: counts.get(outcome, 0) for outcome in OUTCOMES}


def symbol(record: dict) -> str:
    """A case as one character (`SYMBOLS`), and 'c' for a copy whose dtype is not the source's:
    `torch.Tensor(a)` on float64 copies *and* converts, which a user must not mistake for a copy.
    '?' for an outcome this version does not know (a newer probe's JSON)."""
    if record.get("outcome") == "copies" and record.get("dtype_out") != record.get("dtype_in"):
        return "c"
    return SYMBOLS.get(record.get("outcome"), "?")


class ProbeFileError(errors.InputError):
    """A file that is not the JSON of `bridge-bench semantics --json`; the message names it."""


@dataclass
class Probe:
    """One `bridge-bench semantics --json` document: the records of `run` and what produced them."""
    cases: list[dict]
    versions: dict[str, str]
    size: int | None
    summary: dict[str, int]


def read(file: Path) -> Probe:
    """A document `write` wrote (the report reads it where torch may be missing); ProbeFileError if not."""
    try:
        data = json.loads(Path(file).read_text())
        cases = data["cases"]
        if not cases or not all(isinstance(c, dict) and "outcome" in c for c in cases):
            raise ValueError("'cases' is not a list of probed cases")
        return Probe(cases, data.get("versions", {}), data.get("size"), data.get("summary", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ProbeFileError(f"{file}: not the JSON of `bridge-bench semantics --json` ({exc})") from None


def render(records: list[dict]) -> str:
    """A grid per path (layouts x dtypes), then the distinct errors and crashes, then the counts."""
    dtypes = list(dict.fromkeys(r["dtype"] for r in records))
    layouts = list(dict.fromkeys(r["layout"] for r in records))
    by_key = {(r["path"], r["dtype"], r["layout"]): r for r in records}
    width = 4
    lines = ["S shares memory   C copies   c copies and changes dtype   E raises   X crashes   . n/a   "
             "! and warns", ""]
    for pid in dict.fromkeys(r["path"] for r in records):
        batch = next((r["batch"] for r in records if r["path"] == pid and r.get("batch")), None)
        lines.append(f"{catalogue.get(pid).label}  [{pid}]" + (f"  a batch of {batch}" if batch else ""))
        lines.append(" " * 13 + " ".join(f"{_SHORT.get(d, d)[:width]:>{width}}" for d in dtypes))
        for layout in (layout for layout in layouts if any((pid, d, layout) in by_key for d in dtypes)):
            cells = []
            for d in dtypes:
                rec = by_key.get((pid, d, layout))
                cells.append(f"{symbol(rec) + ('!' if rec.get('warning') else '') if rec else ' ':>{width}}")
            lines.append(f"  {layout:<11}" + " ".join(cells))
        lines.append("")
    problems = Counter()
    for r in records:
        if r["outcome"] == "raises":
            problems[f"raises {r['error_type']}: {r['error'][:110]}"] += 1
        elif r["outcome"] == "crash":
            problems[f"crash {r.get('signal', r.get('exit_code'))}: {r['path']}"] += 1
    if problems:
        lines.append("Errors and crashes (cases):")
        lines += [f"  {n:4d}  {text}" for text, n in problems.most_common()]
        lines.append("")
    warned = Counter(f"{catalogue.get(r['path']).label}: {r['warning'][:110]}" for r in records if r.get("warning"))
    if warned:
        lines.append("Warnings (cases):")
        lines += [f"  {n:4d}  {text}" for text, n in warned.most_common()]
        lines.append("")
    counts = summary(records)
    lines.append(f"{len(records)} cases: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return "\n".join(lines)
