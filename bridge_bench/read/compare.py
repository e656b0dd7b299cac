"""Compare a baseline with a candidate: which cases got slower, by how much, and is it real?

`asv compare` exits 0 even when it prints regressions, reads a larger GB/s as worse, and cannot
pair two environments at the same commit (torch A against torch B). Here each side is a result
file or a results folder narrowed by machine, environment, torch, numpy or commit; cases pair by
benchmark and parameters; ratios are candidate / baseline, read in the direction of the unit
(time and memory: lower is better; anything per second: higher is better).

The rules that judge a pair are `bridge_bench.read.gate`; the tables and renderings of a
comparison are `bridge_bench.write.comparison`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bridge_bench import options, suite
from bridge_bench.read import gate, problems, results, runfiles
FILTER_KEYS = ("machine", "env", "torch", "numpy", "commit")
SIDE_COLUMNS = ["value", "unit", *results.INTERVAL.values(), "samples", "kind", "label", "direction", "sweep"]


def parse_filters(items: list[str]) -> dict[str, str]:
    """KEY=VALUE filters (`FILTER_KEYS`) as a dict; InputError naming a bad one."""
    return dict(options.key_value(item, FILTER_KEYS, what="filter") for item in items)


def _matches(column: pd.Series, key: str, value: str) -> pd.Series:
    text = column.astype(str)
    if key == "commit":
        return text.str.startswith(value)
    if key in ("torch", "numpy"):  # "2.13.0" matches "2.13.0+cpu"
        return (text == value) | text.str.startswith(value + "+")
    return text == value


@dataclass
class Side:
    """Where one side's results are, narrowed by filters. With `history`, the side is the newest
    `history` runs of one machine and environment (the nightly gate's baseline), read per case as
    the second best of them (`window`); of a results folder, only those runs' files are read
    (bridge_bench.read.runfiles), so the gate costs the same whatever the nights kept."""

    source: Path
    filters: dict[str, str] = field(default_factory=dict)
    history: int | None = None

    def describe(self) -> str:
        narrowed = ", ".join(f"{k}={v}" for k, v in self.filters.items())
        window = f", each case's second best of the newest {self.history} runs" if self.history else ""
        return f"{self.source}" + (f" [{narrowed}{window}]" if narrowed or window else "")

    def load(self, exclude: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, list[str]]:
        """Measured rows of this side, one per case; CompareError if empty or ambiguous. Rows of the
        result files in `exclude` (the other side's) are left out."""
        if self.history and self.source.is_dir():
            frame, warnings = self.newest(exclude)
        else:
            frame, warnings = self.every_row(exclude)
        if self.history:
            frame = self.window(frame)
        counts = frame.groupby(results.CASE, dropna=False).size()
        if (counts > 1).any():
            varying = [k for k in FILTER_KEYS if frame[k].nunique(dropna=False) > 1]
            choices = "; ".join(f"{k}: {', '.join(map(str, sorted(frame[k].astype(str).unique())[:4]))}"
                                for k in varying)
            raise gate.CompareError(f"{self.describe()}: several results per case ({choices}); "
                               f"narrow this side, e.g. --baseline {varying[0] if varying else 'commit'}=...")
        return frame, warnings

    def narrow(self, frame: pd.DataFrame, exclude: frozenset[str]) -> pd.DataFrame:
        """The rows (loaded, or one per file from its header) that the filters select, less `exclude`;
        CompareError if none."""
        for key, value in self.filters.items():
            frame = frame[_matches(frame[key], key, value)]
        frame = frame[~frame["result_file"].isin(exclude)]
        if frame.empty:
            raise gate.CompareError(f"{self.describe()}: no measured results match")
        return frame

    def every_row(self, exclude: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, list[str]]:
        """Every measured row of this side's file or folder, narrowed: reads every file."""
        if self.source.is_file():
            loaded = results.load([self.source.parent.parent])
            frame = loaded.frame[loaded.frame["result_file"] == str(self.source)]
        elif self.source.is_dir():
            loaded = results.load([self.source])
            frame = loaded.frame
        else:
            raise gate.CompareError(f"{self.source}: no such result file or results folder")
        return self.narrow(frame, exclude), loaded.warnings

    def newest(self, exclude: frozenset[str] = frozenset()) -> tuple[pd.DataFrame, list[str]]:
        """The measured rows of the newest `history` runs of this side's folder, reading the headers
        of its files and then only those runs' files."""
        runs, unreadable = runfiles.scan([self.source])
        runs = self.narrow(runs, exclude)
        self.one_machine(runs)
        loaded = runfiles.load([self.source], runs, self.history, unreadable)
        return loaded.frame, loaded.warnings

    def one_machine(self, frame: pd.DataFrame) -> None:
        """CompareError unless `frame` holds the runs of one machine and environment."""
        if frame[runfiles.GROUP].drop_duplicates().shape[0] > 1:
            raise gate.CompareError(f"{self.describe()}: a history is the runs of one machine and environment; "
                               "narrow this side, e.g. --baseline-filter machine=... env=...")

    def window(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per case, the second best of the newest `history` runs (the best where fewer than three
        ran it): one lucky night does not set the bar, one slow night does not lower it, and a
        slow drift of a few percent a night adds up against it (docs/gpu.md, "The nightly gate").
        Newest as `runfiles.order` reads it: by the night in the file name, else the commit date."""
        self.one_machine(frame)
        frame = runfiles.order(runfiles.newest(frame, self.history))  # ties: the older night first
        better_first = frame["value"].where(frame["unit"].map(gate.lower_is_better), -frame["value"])
        frame = frame.assign(_order=better_first).sort_values([*results.CASE, "_order"], kind="stable")
        cases = frame.groupby(results.CASE, dropna=False)
        nights = cases["_order"].transform("size")
        wanted = (nights >= 3).astype(int)
        return frame.assign(nights=nights)[cases.cumcount() == wanted].drop(columns="_order")


@dataclass
class Comparison:
    factors: dict[str, float]
    baseline: Side
    candidate: Side
    cases: pd.DataFrame  # one row per paired case, sorted worst first
    only_baseline: pd.DataFrame
    only_candidate: pd.DataFrame
    warnings: list[str]
    machine: gate.Machine = gate.Machine()

    @property
    def regressions(self) -> pd.DataFrame:
        return self.cases[self.cases["status"] == "regression"]

    def summary(self) -> dict[str, int]:
        counts = self.cases["status"].value_counts()
        out = {k: int(counts.get(k, 0)) for k in gate.STATUSES}
        out.update(only_baseline=len(self.only_baseline), only_candidate=len(self.only_candidate))
        return out


def compare_frames(base: pd.DataFrame, cand: pd.DataFrame, factors: dict[str, float] | None = None) -> pd.DataFrame:
    """Pair two sides' measured rows by case and judge each pair; an outer merge with `_merge`."""
    factors = factors or gate.factors_for()
    merged = base[results.CASE + SIDE_COLUMNS].merge(cand[results.CASE + SIDE_COLUMNS], on=results.CASE, how="outer",
                                             suffixes=("_base", "_cand"), indicator=True)
    both = merged[(merged["_merge"] == "both") & (merged["sweep_base"] != suite.CONTEXT)].copy()
    machine = gate.Machine.of(base, cand)
    verdicts = pd.DataFrame([gate.judge(row, factors, machine) for _, row in both.iterrows()], index=both.index,
                            columns=["kind", "ratio", "expected", "worse_by", "factor", "status"])
    both = pd.concat([both, verdicts], axis=1).sort_values("worse_by", ascending=False, kind="stable")
    return pd.concat([both, merged[merged["_merge"] != "both"]])


def too_new(merged: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """CUDA cases whose history holds fewer than `gate.CUDA_NIGHTS` nights: a change is 'new', not gated."""
    nights = merged[results.CASE].merge(base[[*results.CASE, "nights"]], on=results.CASE, how="left")["nights"]
    young = ((merged["sweep_base"] == "cuda") & (nights.to_numpy() < gate.CUDA_NIGHTS)
             & merged["status"].isin(["regression", "improvement"]))
    return merged.assign(status=merged["status"].mask(young, "new"))


def compare(baseline: Side, candidate: Side, factors: dict[str, float] | None = None) -> Comparison:
    cand, warn_b = candidate.load()
    base, warn_a = baseline.load(exclude=frozenset(cand["result_file"]) if baseline.history else frozenset())
    merged = compare_frames(base, cand, factors)
    if "nights" in base:
        merged = too_new(merged, base)
    both = merged[merged["_merge"] == "both"].reset_index(drop=True)
    only = {side: merged[merged["_merge"] == side][results.CASE].reset_index(drop=True)
            for side in ("left_only", "right_only")}
    return Comparison(factors or gate.factors_for(), baseline, candidate, both, only["left_only"], only["right_only"],
                      problems.unique(warn_a + warn_b), gate.Machine.of(base, cand))
