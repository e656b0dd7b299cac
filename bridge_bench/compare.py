"""Compare a baseline with a candidate: which cases got slower, by how much, and is it real?

`asv compare` exits 0 even when it prints regressions, reads a larger GB/s as worse, and cannot
pair two environments at the same commit (torch A against torch B). Here each side is a result
file or a results folder narrowed by machine, environment, torch, numpy or commit; cases pair by
benchmark and parameters; ratios are candidate / baseline, read in the direction of the unit
(time and memory: lower is better; anything per second: higher is better).

The ratio compares the fastest sample of each side when both recorded samples, asv's median
otherwise. On a shared machine noise only ever adds time, and here it adds it in spells that can
cover every sample of one round: between two back-to-back real runs of the suite the medians of
single cases moved by up to 2.04x, the fastest samples by up to 1.88x (README, Figures).

A case changes only when both hold:
- the ratio passes the factor (default `DEFAULT_FACTOR`, chosen from that measured noise), and
- the difference is statistically significant: with samples on both sides, asv's own test
  (Mann-Whitney U, p < 0.002, `asv._stats.is_different`); without, 99% confidence intervals
  that do not overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bridge_bench import inputs, results

#: Calibrated on this shared 2-core machine (README, Figures): between two back-to-back real runs
#: of the whole CPU suite the fastest samples of single cases moved by up to 1.88x, so 2.0 flags
#: none of 1052; THP_MEM_ALLOC_ENABLE unset against 1 (2.1-2.9x on torch's fresh-allocation copies
#: at 32-256 MiB) is still flagged, and no zero-copy path is. A quieter machine can pass --factor.
DEFAULT_FACTOR = 2.0
MIN_FACTOR = 1.1
FILTER_KEYS = ("machine", "env", "torch", "numpy", "commit")
CASE = ["benchmark", "path", "size", "dtype", "layout"]
SIDE_COLUMNS = ["value", "unit", "ci_low", "ci_high", "samples", "kind", "label", "direction", "sweep"]


class CompareError(ValueError):
    """Bad input: printed as one line naming it, exit code 2."""


def parse_filters(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in FILTER_KEYS or not value:
            raise CompareError(f"invalid filter {item!r}: use KEY=VALUE with KEY one of {', '.join(FILTER_KEYS)}")
        out[key] = value
    return out


def _matches(column: pd.Series, key: str, value: str) -> pd.Series:
    text = column.astype(str)
    if key == "commit":
        return text.str.startswith(value)
    if key in ("torch", "numpy"):  # "2.13.0" matches "2.13.0+cpu"
        return (text == value) | text.str.startswith(value + "+")
    return text == value


@dataclass
class Side:
    source: Path
    filters: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        narrowed = ", ".join(f"{k}={v}" for k, v in self.filters.items())
        return f"{self.source}" + (f" [{narrowed}]" if narrowed else "")

    def load(self) -> tuple[pd.DataFrame, list[str]]:
        """Measured rows of this side, one per case; CompareError if empty or ambiguous."""
        if self.source.is_file():
            loaded = results.load([self.source.parent.parent])
            frame = loaded.frame[loaded.frame["result_file"] == str(self.source)]
        elif self.source.is_dir():
            loaded = results.load([self.source])
            frame = loaded.frame
        else:
            raise CompareError(f"{self.source}: no such result file or results folder")
        for key, value in self.filters.items():
            frame = frame[_matches(frame[key], key, value)]
        if frame.empty:
            raise CompareError(f"{self.describe()}: no measured results match")
        counts = frame.groupby(CASE, dropna=False).size()
        if (counts > 1).any():
            varying = [k for k in FILTER_KEYS if frame[k].nunique(dropna=False) > 1]
            choices = "; ".join(f"{k}: {', '.join(map(str, sorted(frame[k].astype(str).unique())[:4]))}"
                                for k in varying)
            raise CompareError(f"{self.describe()}: several results per case ({choices}); "
                               f"narrow this side, e.g. --baseline {varying[0] if varying else 'commit'}=...")
        return frame, loaded.warnings


def _best(frame: pd.DataFrame, side: str) -> pd.Series:
    """Per case, the best sample (fastest; highest for a rate) when both sides recorded samples,
    else asv's value (the median), so that both sides of a case are read the same way."""
    def best(samples, unit):
        if not isinstance(samples, list) or not samples:
            return math.nan
        return min(samples) if lower_is_better(unit) else max(samples)

    def column(name):
        return pd.Series([best(s, u) for s, u in zip(frame[f"samples_{name}"], frame[f"unit_{name}"])],
                         index=frame.index, dtype=float)

    ours, theirs = column(side), column("cand" if side == "base" else "base")
    return ours.where(ours.notna() & theirs.notna(), frame[f"value_{side}"])


def lower_is_better(unit: str | None) -> bool:
    return not (unit and "/s" in unit)


def _stats(row, side: str):
    low, high = row[f"ci_low_{side}"], row[f"ci_high_{side}"]
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return None
    return {"ci_99_a": low, "ci_99_b": high}


def significant(row) -> bool | None:
    """asv's test on the two sides; None when neither samples nor intervals are recorded."""
    from asv._stats import is_different

    sa, sb = row["samples_base"], row["samples_cand"]
    samples_a = sa if isinstance(sa, list) else None
    samples_b = sb if isinstance(sb, list) else None
    stats_a, stats_b = _stats(row, "base"), _stats(row, "cand")
    if (samples_a is None or samples_b is None) and (stats_a is None or stats_b is None):
        return None
    if stats_a is None or stats_b is None:  # samples only: is_different needs intervals as fallback
        stats_a = stats_b = {"ci_99_a": -math.inf, "ci_99_b": math.inf}
    return bool(is_different(samples_a, samples_b, stats_a, stats_b))


@dataclass
class Comparison:
    factor: float
    baseline: Side
    candidate: Side
    cases: pd.DataFrame  # one row per paired case, sorted worst first
    only_baseline: pd.DataFrame
    only_candidate: pd.DataFrame
    warnings: list[str]

    @property
    def regressions(self) -> pd.DataFrame:
        return self.cases[self.cases["status"] == "regression"]

    def summary(self) -> dict[str, int]:
        counts = self.cases["status"].value_counts()
        out = {k: int(counts.get(k, 0)) for k in ("regression", "improvement", "same")}
        out.update(only_baseline=len(self.only_baseline), only_candidate=len(self.only_candidate))
        return out


def compare(baseline: Side, candidate: Side, factor: float = DEFAULT_FACTOR) -> Comparison:
    if not factor >= MIN_FACTOR:
        raise CompareError(f"factor {factor} is below {MIN_FACTOR}: this machine's noise alone passes it")
    base, warn_a = baseline.load()
    cand, warn_b = candidate.load()
    merged = base[CASE + SIDE_COLUMNS].merge(cand[CASE + SIDE_COLUMNS], on=CASE, how="outer",
                                             suffixes=("_base", "_cand"), indicator=True)
    only_base = merged[merged["_merge"] == "left_only"][CASE]
    only_cand = merged[merged["_merge"] == "right_only"][CASE]
    both = merged[merged["_merge"] == "both"].copy()
    both = both[both["sweep_base"] != "context"]  # thread counts and THP flags are context, not speed
    both["best_base"], both["best_cand"] = _best(both, "base"), _best(both, "cand")
    both["ratio"] = both["best_cand"] / both["best_base"]
    lower = both["unit_base"].map(lower_is_better)
    both["worse_by"] = both["ratio"].where(lower, 1 / both["ratio"])
    both["significant"] = [significant(row) for _, row in both.iterrows()]
    passed = both["significant"].map(lambda s: s is None or s)
    both["status"] = "same"
    both.loc[(both["worse_by"] > factor) & passed, "status"] = "regression"
    both.loc[(both["worse_by"] < 1 / factor) & passed, "status"] = "improvement"
    both = both.sort_values("worse_by", ascending=False, kind="stable").reset_index(drop=True)
    return Comparison(factor, baseline, candidate, both, only_base.reset_index(drop=True),
                      only_cand.reset_index(drop=True), warn_a + warn_b)


def _format(value, unit) -> str:
    if value is None or pd.isna(value):
        return "-"
    if unit == "seconds":
        for scale, name in ((1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{value / 1e-9:.3g} ns"
    if unit == "bytes":
        return f"{value / inputs.MiB:.1f} MiB"
    return f"{value:.4g} {unit or ''}".strip()


def table(comparison: Comparison, everything: bool = False) -> pd.DataFrame:
    """The rows worth reading: changes (and, with `everything`, unchanged cases), worst first."""
    cases = comparison.cases if everything else comparison.cases[comparison.cases["status"] != "same"]
    return pd.DataFrame({
        "status": cases["status"],
        "ratio": cases["ratio"].map(lambda r: f"{r:.2f}x"),
        "benchmark": cases["benchmark"].str.replace(".time_convert", "", regex=False),
        "code": cases["label_base"],
        "size": cases["size"].map(lambda s: inputs.format_size(int(s)) if pd.notna(s) else "-"),
        "dtype": cases["dtype"].fillna("-"),
        "layout": cases["layout"].fillna("-"),
        "baseline": [_format(v, u) for v, u in zip(cases["best_base"], cases["unit_base"])],
        "candidate": [_format(v, u) for v, u in zip(cases["best_cand"], cases["unit_cand"])],
        "significant": cases["significant"].map({True: "yes", False: "no", None: "n/a"}),
    })


def headline(comparison: Comparison) -> str:
    s = comparison.summary()
    return (f"{s['regression']} regressions, {s['improvement']} improvements, {s['same']} unchanged "
            f"(factor {comparison.factor:g} on the fastest samples, significance as asv) "
            f"of {len(comparison.cases)} paired cases; "
            f"{s['only_baseline']} only in the baseline, {s['only_candidate']} only in the candidate")


def render_text(comparison: Comparison, everything: bool = False) -> str:
    lines = [f"baseline:  {comparison.baseline.describe()}", f"candidate: {comparison.candidate.describe()}",
             headline(comparison), ""]
    shown = table(comparison, everything)
    lines.append(shown.to_string(index=False) if len(shown) else "no changes beyond the factor")
    for name, frame in (("only in the baseline", comparison.only_baseline),
                        ("only in the candidate", comparison.only_candidate)):
        if len(frame):
            lines += ["", f"{len(frame)} cases {name}:", frame.to_string(index=False, max_rows=40)]
    return "\n".join(lines)


def render_markdown(comparison: Comparison, everything: bool = False) -> str:
    verdict = "regressions found" if len(comparison.regressions) else "no regressions"
    lines = [f"## bridge-bench compare: {verdict}", "",
             f"- baseline: `{comparison.baseline.describe()}`", f"- candidate: `{comparison.candidate.describe()}`",
             f"- {headline(comparison)}", ""]
    shown = table(comparison, everything)
    lines.append(shown.to_markdown(index=False) if len(shown) else "_No changes beyond the factor._")
    for name, frame in (("Only in the baseline", comparison.only_baseline),
                        ("Only in the candidate", comparison.only_candidate)):
        if len(frame):
            lines += ["", f"<details><summary>{name}: {len(frame)} cases</summary>", "",
                      frame.to_markdown(index=False), "", "</details>"]
    return "\n".join(lines) + "\n"


def to_json(comparison: Comparison) -> dict:
    cases = comparison.cases.drop(columns=["samples_base", "samples_cand", "_merge"])
    return {
        "factor": comparison.factor,
        "baseline": comparison.baseline.describe(),
        "candidate": comparison.candidate.describe(),
        "summary": comparison.summary(),
        "cases": cases.astype(object).where(cases.notna(), None).to_dict("records"),
        "only_baseline": comparison.only_baseline.astype(object).to_dict("records"),
        "only_candidate": comparison.only_candidate.astype(object).to_dict("records"),
        "warnings": comparison.warnings,
    }
