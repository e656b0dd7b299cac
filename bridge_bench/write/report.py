"""`bridge-bench report`: asv results -> the sections of a report, written by `bridge_bench.write.render`.

What it reads: the newest run of each machine x environment (of a nightly history, tonight's), or
with `--all-runs` every run. History across commits is what asv's own dashboard (`asv publish`) is
for; this report answers "what does the bridge cost here, against what this machine can copy".
Cross-environment ratios pair environments that differ in one factor (torch, numpy, threads, THP).

The report is `SECTIONS`, a list of builders: each takes the same `Inputs` and returns a `Section`
(prose, tables from `bridge_bench.read.analysis`, figures from `bridge_bench.write.plots`), or None when it has
nothing to say. A new section is one builder in that list; the renderer lays out whatever it gets.
It answers first: the findings (what each path does and costs, and what to use), then the details,
then the runs it read. A run is named by its short label (`analysis.run_labels`) in headings,
captions and figure titles; the CSVs keep its full machine, env and commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

import pandas as pd

from bridge_bench import catalogue, inputs, messages, outcomes, units
from bridge_bench.read import analysis, batches, ceilings, results, runfiles
from bridge_bench.write import plots, render
from bridge_bench.write.render import Section

TITLE = "bridge-bench report: the NumPy <-> PyTorch bridge"
#: Figures are drawn for this many runs (newest first) and cross-environment comparisons: a figure
#: costs ~0.3-1 s and ~30 KB, and the issue's budget is 20 s for 100k rows. Every run is in the
#: tables and CSVs.
PLOTTED_RUNS = 1
MAX_PLOTTED = 2


@dataclass(frozen=True)
class Inputs:
    """What every section builder reads."""
    loaded: results.Loaded  # the runs read: the newest of each machine x environment, or all
    frame: pd.DataFrame  # the newest run of each machine x environment
    runs: list[tuple]  # the runs that get figures (RUN values), newest first
    probe: outcomes.Probe | None  # the semantics probe's JSON, when given

    @classmethod
    def of(cls, loaded: results.Loaded, probe: outcomes.Probe | None = None) -> Inputs:
        frame = analysis.latest(loaded.frame)
        newest = analysis.runs(frame).iloc[::-1][analysis.RUN].head(PLOTTED_RUNS)
        return cls(loaded, frame, [tuple(r) for r in newest.itertuples(index=False)], probe)

    @cached_property
    def labels(self) -> dict[tuple, str]:
        """Every run's short label, by its RUN values."""
        return analysis.run_labels(self.loaded.frame)


def _file_name(direction: str) -> str:
    return direction.replace("->", "_to_")


def _cost(key: tuple, row: pd.Series, zero: pd.Series, copies: pd.Series) -> list[str]:
    """What a path costs against the others of its run and direction: a zero-copy path against the
    cheapest zero-copy call (`zero`: overhead in us), a copy against the ceiling and the other
    copies (`copies`: GB/s at OUT_OF_CACHE)."""
    direction = key[-2]
    if row["does"] == "shares":
        said = ["zero-copy: use when the array may be shared"]
        times = row["overhead_us"] / zero.min()
        if key == zero.idxmin() and len(zero) > 1:
            said.append(f"lowest overhead of {direction}")
        elif times >= 2:
            said.append(f"{units.number(times)}x the overhead of {zero.idxmin()[-1]}")
        return said
    if key not in copies.index:
        return []
    said = [f"copies: {units.number(row[analysis.GBPS_AT])} GB/s, "
            f"{units.number(row[analysis.PCT_AT])} % of the copy ceiling"]
    if key == copies.idxmax() and len(copies) > 1 and direction != catalogue.REFERENCE:
        said.append(f"fastest copy of {direction}")
    return said


#: `analysis.behaviour` columns a user trips over, and how advice names them.
_PITFALLS = {"converts": "converts", "raises_on": "raises on", "crashes_on": "crashes the interpreter on"}


def _advice(findings: pd.DataFrame, facts: pd.DataFrame) -> pd.Series:
    """One line per path of what its numbers or the probe (`facts`, `analysis.behaviour`) say a user
    should act on: its cost (`_cost`), the dtypes it converts, the layouts that raise or crash, an
    allocation above one array. Derived from the data, so a new path needs no edit here."""
    lines = pd.Series("", index=findings.index, dtype=object)
    for _, group in findings.groupby(level=[*analysis.RUN, "direction"], sort=False):
        zero = group.loc[group["does"] == "shares", "overhead_us"].dropna()
        copies = group[analysis.GBPS_AT].dropna()
        for key, row in group.iterrows():
            fact = facts.reindex([key[-1]]).iloc[0]
            said = _cost(key, row, zero, copies)
            said += [f"{words} {fact[c]}" for c, words in _PITFALLS.items() if pd.notna(fact.get(c))]
            if row["allocated_x_array"] >= 1.5:
                said.append(f"allocates {units.number(row['allocated_x_array'])}x the array")
            lines[key] = "; ".join(said)
    return lines


def _findings(d: Inputs) -> Section:
    if d.probe is None:
        facts, source = analysis.catalogue_behaviour(), ("the catalogue's `shares` flag (not probed here: pass "
                                                         "--semantics FILE from `bridge-bench semantics --json`)")
    else:
        facts = analysis.behaviour(d.probe.cases)
        source = "the semantics probe (" + ", ".join(f"{k} {v}" for k, v in d.probe.versions.items()) + ")"
    table = analysis.findings(d.frame, facts["does"])
    table["advice"] = _advice(table, facts)
    text = (f"Which conversion to use, and what it costs: one row per host path, float32 C-contiguous. `does`: "
            f"what it did, from {source}. `overhead_us`: one call at {inputs.format_size(min(inputs.SIZES))}, "
            "where nothing is copied. "
            f"`{analysis.GBPS_AT}`: bandwidth at {inputs.format_size(inputs.OUT_OF_CACHE)} (— for zero-copy: no "
            f"bytes move), and `{analysis.PCT_AT}` of the run's copy ceiling (its fastest reference copy). "
            f"`allocated_x_array`: what one call allocates at {inputs.format_size(inputs.PEAKMEM_SIZE)}, "
            "in arrays. The sections below have every size, dtype and layout.")
    return Section("Findings", text, [("findings", "What each path does and costs", table)])


def _runs(d: Inputs) -> Section:
    text = (f"{d.loaded.files} result file(s), {len(d.loaded.frame)} measured values. Each run is one machine x "
            "environment x commit, named by the label the sections above use; they read the newest run of each "
            "machine and environment. runs.csv has the full machine, asv environment and commit.")
    return Section("Runs", text, [("runs", "Runs found", analysis.runs(d.loaded.frame))])


def _transfers(d: Inputs) -> Section:
    """Host <-> CUDA: GB/s per path against the same run's pinned-copy ceiling, and the self-check
    (`bridge_bench.read.ceilings`): a transfer faster than its ceiling is a measurement error."""
    checked = ceilings.transfers(d.frame)
    title = "Host <-> CUDA transfers"
    if checked.empty:
        return Section(title, "No timed transfer with a ceiling in these results (no CUDA paths): nothing to check.")
    bad = checked[checked["violation"]]
    text = (f"{len(bad)} of {len(checked)} transfer bandwidths are more than {ceilings.TOLERANCE:.0%} above the "
            "same run's ceiling: those are measurement errors (a missing synchronise), not results."
            if len(bad) else f"All {len(checked)} transfer bandwidths are within their run's ceiling.")
    text += (" GB/s = array bytes / the published time, the median of the quiet looks (10^9 bytes/s); "
             f"the ceiling of each direction is a {inputs.format_size(inputs.CEILING_SIZE)} pinned copy "
             "timed with CUDA events in the same run.")
    sizes = analysis.transfer_bandwidth(checked)
    wide = analysis.by_size(sizes, analysis.PATH_ROWS, "gbps")
    cols = [*analysis.PATH_ROWS, "size", "dtype", "gbps", "ceiling", "ceiling_gbps", "ratio", "violation"]
    s = Section(title, text, [("transfers", "GB/s by path and size, float32", wide),
                              ("ceiling_checks", "Every transfer against its ceiling (GB/s)", checked[cols])],
                linked={"ceiling_checks"})
    for i, run in enumerate(d.runs):
        for direction, rows in analysis.of_run(sizes, run).groupby("direction", sort=False):
            s.add_figure(f"transfer_{_file_name(direction)}_run{i}", plots.bandwidth_vs_size(
                rows, f"{direction}: bandwidth\n{d.labels[run]}", "ceiling: pinned copy, CUDA events, same run"))
    return s


def _latency(d: Inputs) -> Section:
    s = Section("Latency", "Time per call in µs, float32, C-contiguous (sizes sweep). Log-log figures per "
                "direction; solid lines share memory, dashed lines copy.",
                [("latency", "Time per call (µs) by array size", analysis.latency(d.frame))])
    t = analysis.size_sweep(d.frame)
    for i, run in enumerate(d.runs):
        for direction, rows in analysis.of_run(t, run).groupby("direction", sort=False):
            s.add_figure(f"time_{_file_name(direction)}_run{i}",
                         plots.time_vs_size(rows, f"{direction}: time per call\n{d.labels[run]}"))
    return s


def _bandwidth(d: Inputs) -> Section:
    bw = analysis.bandwidth(d.frame)
    s = Section("Bandwidth against the ceiling",
                "Bandwidth = logical array bytes / time (a copy reads and writes those bytes, so the memory "
                "traffic is twice that). Only copying paths have one: a zero-copy call moves no bytes. "
                "The ceiling is the fastest reference copy (direction `reference`) of the same run at the "
                "same size; a path's percentage says how close it comes to a plain copy on this machine.",
                [("bandwidth", "Every copying case: GB/s and % of the same run's ceiling", bw),
                 ("ceiling", "The ceiling (GB/s) per run and size", analysis.ceiling_by_size(bw)),
                 ("pct_of_ceiling", "% of the same run's ceiling by size",
                  analysis.by_size(bw, analysis.PATH_ROWS, "pct_of_ceiling"))], linked={"bandwidth"})
    for i, run in enumerate(d.runs):
        s.add_figure(f"bandwidth_run{i}", plots.bandwidth_vs_size(
            analysis.of_run(bw, run), f"Bandwidth of copying paths\n{d.labels[run]}"))
    return s


def _speedups(d: Inputs) -> Section:
    sp = analysis.speedups(d.frame)
    s = Section("Zero-copy versus copy", "Copy time / zero-copy time, same run and size (catalogue `shares`).",
                [("speedups", "Speedup of each zero-copy path over each copy of its direction",
                  analysis.speedups_by_size(sp))])
    for i, run in enumerate(d.runs):
        s.add_figure(f"speedups_run{i}",
                     plots.speedups(analysis.of_run(sp, run), f"Zero-copy over copy\n{d.labels[run]}"))
    return s


def _cost_model(d: Inputs) -> Section:
    return Section("Cost model",
                   "time = overhead + bytes x cost per byte, fitted per path in two regimes (below 64 MiB: "
                   "caches help; from 64 MiB: DRAM) by least squares on relative residuals. `gbps_dram` is "
                   "what to expect for large arrays; zero-copy paths show ~0 ns per MiB and no GB/s. "
                   "`rms_error_pct` is the fit's RMS relative error over all sizes.",
                   [("cost_model", "Cost model per path", analysis.cost_model(d.frame))])


def _sweep(sweep: str, column: str, d: Inputs) -> Section:
    """Time per call by dtype or layout (`column`) at each of `inputs.SWEEP_SIZES`, a heatmap per run."""
    s = Section(f"{column.capitalize()}s",
                f"Time per call (µs) by {column} at {inputs.format_size(inputs.IN_CACHE)} (in cache) and "
                f"{inputs.format_size(inputs.OUT_OF_CACHE)} (DRAM). '—': skipped, the path refuses it or this "
                "torch/numpy lacks it (see Semantics).")
    for size in inputs.SWEEP_SIZES:
        table = analysis.at_size(d.frame, sweep, column, size)
        name = analysis.named_at(sweep, size)
        s.tables.append((name, f"Time per call (µs) by {column} at {inputs.format_size(size)}", table))
        for i, run in enumerate(d.runs):
            rows = analysis.of_run(table.reset_index(), run)
            if rows.empty:
                continue
            s.add_figure(f"{name}_run{i}", plots.heatmap(
                rows.set_index("label")[table.columns],
                f"Time per call (µs) by {column}, {inputs.format_size(size)}\n{d.labels[run]}",
                "µs per call (log scale)"))
    return s


def _batches(d: Inputs) -> Section:
    """Building a batch from many arrays, against one copy of the whole batch (`bridge_bench.read.batches`)."""
    title = "Building a batch"
    pairs = batches.against_copy(d.frame)
    if pairs.empty:
        return Section(title, "No batch timings in these results (`bench_batch`, which `bridge-bench run` runs): "
                              "nothing to show here.")
    reference = catalogue.get(catalogue.BATCH_REFERENCE).label
    text = (f"A batch of N items of S bytes each (a list of N arrays, as a dataset's samples) made into one tensor, "
            f"each way's time over the same run's `{reference}` at the same N, S and dtype: one copy of the whole "
            "batch into memory made beforehand, so 2x means the cost of two copies of the batch. Batches up to "
            f"{inputs.format_size(inputs.BATCH_MAX_BYTES)}; the tables after it give µs per call, for taking a "
            "batch apart and for DataFrames too. ")
    text += " ".join(batches.advice(analysis.of_run(pairs, run)) for run in d.runs[:1])
    s = Section(title, text, [
        ("batch_ways", "Each way to build a float32 batch, cheapest first: time over one copy of the batch",
         batches.spread(pairs)),
        ("batch_x_copy", "Time over one copy of the batch (float32), by N x S", batches.ratio_grid(pairs)),
        ("batch_x_copy_uint8", "Time over one copy of the batch (uint8)", batches.ratio_grid(pairs, "uint8")),
        ("batch_build_us", "Building a batch: µs per call", batches.time_grid(d.frame, catalogue.BATCH_TO_TORCH)),
        ("batch_split_us", "Taking a batch apart (one N x item tensor into N arrays): µs per call",
         batches.time_grid(d.frame, catalogue.TORCH_TO_BATCH)),
        ("frame_us", "A DataFrame of N rows of S bytes into one tensor: µs per call",
         batches.time_grid(d.frame, catalogue.FRAME_TO_TORCH))])
    for i, run in enumerate(d.runs):
        rows = analysis.of_run(pairs, run)
        rows = rows[rows["dtype"] == "float32"]
        if len(rows):
            s.add_figure(f"batch_x_copy_run{i}", plots.batch_ratios(
                rows, f"Building a float32 batch: time over one copy of it\n{d.labels[run]}"))
    return s


def _memory(d: Inputs) -> Section:
    return Section("Peak memory",
                   "What one call allocates: asv's peak RSS with the call minus the same process without it "
                   "(`peakmem_convert` - `peakmem_prepared`). ~0 for zero-copy, ~1x the array for a copy.",
                   [("peak_memory", "Allocated by one call", analysis.peak_memory(d.frame))])


def _cross_env(d: Inputs) -> Section:
    ratios = analysis.cross_env(d.loaded.frame)
    if ratios.empty:
        return Section("Across environments",
                       "Only one environment per machine: nothing to compare. Run the suite again with another "
                       "torch or numpy (asv matrix), torch thread count, or THP_MEM_ALLOC_ENABLE=1, and pass "
                       "both results directories.")
    s = Section("Across environments",
                "Time ratio B / A for runs that differ in exactly one factor (same hardware): above 1, B is slower.",
                [("cross_env", "Per comparison and path, over the size sweep", analysis.cross_env_summary(ratios)),
                 ("cross_env_cases", "Every compared case", ratios)], linked={"cross_env_cases"})
    sizes = analysis.size_ratios(ratios)
    for i, ((factor, a, b, ctx), g) in enumerate(sizes.groupby(["factor", "a", "b", "context"], sort=False)):
        if i == MAX_PLOTTED:
            break
        s.add_figure(f"ratio_{i}", plots.heatmap(analysis.by_size(g, "label", "ratio"),
                                                 f"{factor}: {b} / {a} (time ratio)\n{ctx}",
                                                 "time ratio B / A", ratio=True, fmt="{:.2f}".format))
    return s


def _semantics(d: Inputs) -> Section | None:
    if d.probe is None:
        return None
    probe = d.probe
    versions = ", ".join(f"{k} {v}" for k, v in probe.versions.items())
    s = Section("Semantics", f"What each path really did on each dtype and layout ({versions}; "
                f"{probe.size} B sources). S shares memory, C copies, c copies and changes dtype, "
                "E raises, X crashes the interpreter, . n/a. Counts: "
                + ", ".join(f"{n} {k}" for k, n in probe.summary.items()) + ".",
                [("semantics_counts", "Cases per path and outcome", analysis.semantics_counts(probe.cases)),
                 ("semantics", "Outcome per path, layout and dtype", analysis.semantics_grid(probe.cases))],
                linked={"semantics"})
    errors = analysis.semantics_errors(probe.cases)
    if len(errors):
        s.tables.append(("semantics_errors", "Errors raised (cases)", errors))
    return s


def _of_size_sweep(title: str, builder):
    """A section read from the size sweep (`bench_sizes`); where the results hold none of it (a run
    of other benchmarks only), the section says so instead."""

    def build(d: Inputs) -> Section:
        if analysis.size_sweep(d.frame).empty:
            return Section(title, "No size-sweep timings in these results (`bench_sizes`, which `bridge-bench run` "
                                  "runs): nothing to show here.")
        return builder(d)

    return build


#: The report, in reading order.
SECTIONS = [*(_of_size_sweep(title, builder) for title, builder in (
                ("Findings", _findings), ("Latency", _latency), ("Bandwidth against the ceiling", _bandwidth),
                ("Zero-copy versus copy", _speedups), ("Cost model", _cost_model))),
            partial(_sweep, "dtypes", "dtype"),
            partial(_sweep, "layouts", "layout"), _batches, _memory, _transfers, _cross_env, _semantics, _runs]


def build(dirs: list[Path], out: Path, semantics_file: Path | None = None, progress=None,
          all_runs: bool = False) -> results.Loaded:
    """Write the report for the results directories `dirs` into `out`; returns what was loaded.

    It reads the newest run of each machine x environment, and only those runs' files (found from
    the headers, bridge_bench.read.runfiles: a year of nightly history costs what one night does), or
    with `all_runs` every file (the runs table and the comparisons across environments then see
    every run). The semantics file is read first and the output folder checked next, so that bad
    input costs no time and leaves a previous report where it was."""
    step = messages.stopwatch("report", progress)

    dirs = [Path(d) for d in dirs]
    probe = outcomes.read(semantics_file) if semantics_file else None
    render.prepare(out, dirs)
    where = ", ".join(map(str, dirs))
    if all_runs:
        step(f"loading every run in {where}")
        loaded = results.load(dirs)
    else:
        step(f"reading the headers of the result files in {where}")
        runs, unreadable = runfiles.scan(dirs)
        step(f"loading the newest run of each machine x environment: "
             f"{runs[runfiles.GROUP].drop_duplicates().shape[0]} of {len(runs)} result files")
        loaded = runfiles.load(dirs, runs, 1, unreadable)
    step(f"{len(loaded.frame)} values loaded")
    data = Inputs.of(loaded, probe)
    sections = []
    for builder in SECTIONS:
        section = builder(data)
        if section is not None:
            sections.append(section)
            step(section.title)
    step(f"writing {sum(len(s.figures) for s in sections)} images, tables, index.html and report.md")
    render.write(sections, out, TITLE, loaded.warnings, data.labels)
    step(f"done: {out / 'index.html'}")
    return loaded
