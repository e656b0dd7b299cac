"""How much do identical runs disagree, and what does the gate make of it? The noise tables of docs/calibration.md.

Give it two or more runs of the same suite on one machine with nothing changed between them
(`bridge-bench run` again and again, each into its own results folder). It reports:

- **stability across sizes**: in each run, every zero-copy path of the size sweep costs the same at
  every size, so the spread of its published figures over the sizes (max / min) is noise, and
  their median can be held against a tight `timeit` loop of the same call (`--tight-loop`);
- **movement between runs**: per case, the largest ratio between two runs' published figures, by
  class;
- **the gate**: every ordered pair of runs compared with `bridge-bench compare`'s rules: the cases
  flagged (false flags: nothing changed) and those left contended (not judged: the runs had
  different free cores), then the candidate's timed looks scaled by each of `SLOWDOWNS` and the
  share of cases flagged (caught), per class.

Timed cases are grouped by the gate's own classes (bridge_bench.classes: call-bound, in-cache,
memory-bound, judged by the baseline's figure); counts and other cases are listed under their own
kind, for false flags.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd

from bridge_bench import catalogue, classes, suite
from bridge_bench.read import compare, gate, results

SLOWDOWNS = (1.10, 1.15, 1.25, 1.5, 2.0)


def load_run(source: Path) -> pd.DataFrame:
    """One run's measured rows (a results folder or one result file), each case once."""
    frame, _ = compare.Side(Path(source)).load()
    return frame


def _timed(frame: pd.DataFrame) -> pd.Series:
    return frame["benchmark"].map(suite.is_timed) & frame["samples"].map(lambda s: isinstance(s, list))


def stability(frame: pd.DataFrame) -> pd.DataFrame:
    """Per zero-copy host path of the size sweep: the published figure's min, median, max over sizes."""
    t = frame[_timed(frame) & (frame["sweep"] == "sizes")]
    t = t[t["path"].map(lambda p: bool(catalogue.BY_ID.get(p) and catalogue.BY_ID[p].shares))]
    out = t.groupby("label", sort=False)["value"].agg(["min", "median", "max", "count"])
    out["spread"] = out["max"] / out["min"]
    return out.rename(columns={"count": "sizes"})


def scaled(frame: pd.DataFrame, factor: float) -> pd.DataFrame:
    """A copy of a run whose timed cases ran `factor` times slower: every look, hence every figure."""
    out = frame.copy()
    timed = _timed(out)
    for column in ("value", *results.INTERVAL.values(), "q25", "q75"):
        out.loc[timed, column] = out.loc[timed, column] * factor
    out.loc[timed, "samples"] = out.loc[timed, "samples"].map(lambda s: [x * factor for x in s])
    return out


def _flags(base: pd.DataFrame, cand: pd.DataFrame, factors) -> pd.DataFrame:
    judged = compare.compare_frames(base, cand, factors)
    judged = judged[judged["_merge"] == "both"]
    timed = judged["kind"].isin(list(gate.FACTORS))
    return judged.assign(cls=judged["kind"], timed=timed)


def flags_between(runs: list[pd.DataFrame], factors=None, slowdowns=SLOWDOWNS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary per class, the false flags): every ordered pair of runs, as is and with slowdowns."""
    rows, false = [], []
    for (i, base), (j, cand) in itertools.permutations(enumerate(runs), 2):
        same = _flags(base, cand, factors)
        flagged = same[same["status"].isin(["regression", "improvement"])]
        false.append(flagged.assign(baseline=i, candidate=j))
        for cls, part in same.groupby("cls"):
            rows.append({"class": cls, "slowdown": 1.0, "cases": len(part), "flagged": int(part["status"].isin(
                ["regression", "improvement"]).sum()), "contended": int((part["status"] == "contended").sum())})
        for s in slowdowns:
            slow = _flags(base, scaled(cand, s), factors)
            slow = slow[slow["timed"]]
            for cls, part in slow.groupby("cls"):
                rows.append({"class": cls, "slowdown": s, "cases": len(part),
                             "flagged": int((part["status"] == "regression").sum())})
    table = pd.DataFrame(rows).fillna({"contended": 0})
    table = table.groupby(["class", "slowdown"], as_index=False)[["cases", "flagged", "contended"]].sum()
    table["share"] = table["flagged"] / table["cases"]
    summary = table.pivot(index="class", columns="slowdown", values="share")
    unchanged = table[table["slowdown"] == 1.0].set_index("class")
    summary.insert(0, "false flags", unchanged["flagged"])
    summary.insert(1, "contended", unchanged["contended"].astype(int))
    summary.insert(2, "pairs x cases", unchanged["cases"])
    summary = summary.drop(columns=1.0)
    summary.columns = [c if isinstance(c, str) else f"{c:g}x caught" for c in summary.columns]
    return summary, pd.concat(false, ignore_index=True) if false else pd.DataFrame()


def movement(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """Per class of timed case: how far the published figure moved between any two runs (max / min)."""
    keyed = [r[_timed(r)].set_index(results.CASE)["value"] for r in runs]
    wide = pd.concat(keyed, axis=1, join="inner")
    ratio = wide.max(axis=1) / wide.min(axis=1)
    kinds = [classes.timed_class(path, classes.moved_bytes(size, batch), low)
             for (_, path, size, _, _, batch), low in wide.min(axis=1).items()]
    frame = pd.DataFrame({"class": kinds, "ratio": ratio.to_numpy()})
    return frame.groupby("class")["ratio"].describe(percentiles=[0.5, 0.9, 0.99])[["count", "50%", "90%", "99%", "max"]]


def looks(runs: list[pd.DataFrame]) -> pd.DataFrame:
    """Per run and class of timed case: how many looks its cases took (an adaptive run stops a case
    once its figure is known, bridge_bench.measure.plan; a rigorous one gives every case the same)."""
    rows = []
    for k, run in enumerate(runs):
        timed = run[_timed(run)]
        kinds = [classes.timed_class(p, classes.moved_bytes(s, b), v)
                 for p, s, b, v in zip(timed["path"], timed["size"], timed["batch"], timed["value"])]
        for kind, n in timed["samples"].map(len).groupby(kinds):
            rows.append({"run": k, "class": kind, "cases": len(n), "looks": int(n.sum()), "mean": n.mean(),
                         "min": n.min(), "median": n.median(), "max": n.max()})
    return pd.DataFrame(rows).set_index(["run", "class"]) if rows else pd.DataFrame()


def render(sources: list[Path], runs: list[pd.DataFrame], tight: dict[str, float] | None = None) -> str:
    lines = [f"{len(runs)} runs: " + ", ".join(map(str, sources)), ""]
    lines += ["Looks per case (one look a round; looks: all of the class's looks in the run)",
              looks(runs).to_string(float_format=lambda v: f"{v:.1f}"), ""]
    lines.append("Zero-copy paths over the sizes of the size sweep (published figure: the median of the quiet looks)")
    for k, run in enumerate(runs):
        table = stability(run)
        if tight:
            table["tight loop"] = table.index.map(tight)
            table["median / loop"] = table["median"] / table["tight loop"]
        shown = table.copy()
        for c in ("min", "median", "max", "tight loop"):
            if c in shown:
                shown[c] = shown[c].map(lambda v: f"{v * 1e9:.0f} ns")
        for c in ("spread", "median / loop"):
            if c in shown:
                shown[c] = shown[c].map(lambda v: f"{v:.3f}")
        lines += [f"run {k}:", shown.to_string() if len(shown) else "(no size sweep in this run)", ""]
    lines += ["Largest move of a case's published figure between runs (max / min over runs)",
              movement(runs).to_string(float_format=lambda v: f"{v:.3f}"), ""]
    summary, false = flags_between(runs)
    lines += ["The gate over every ordered pair of runs (bridge-bench compare's defaults)",
              summary.to_string(float_format=lambda v: f"{v:.0%}"), ""]
    if len(false):
        cols = ["baseline", "candidate", "benchmark", "path", "size", "dtype", "layout", "ratio", "status"]
        lines += ["False flags:", false[cols].to_string(index=False)]
    else:
        lines.append("False flags: none")
    return "\n".join(lines)
