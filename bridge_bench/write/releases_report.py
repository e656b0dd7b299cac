"""The report of a releases sweep (`bridge_bench.drive.releases`): cost and behaviour across torch releases.

asv draws commits of this repository on its x-axis, so every torch release of a sweep is a point
at one commit; this report puts the releases on the x-axis instead. It reads the sweep's results
folder (asv's files, with the published figures of `bridge_bench.estimate`), the semantics probe
of every pair and the sweep's record (wall times, disk), and writes the same kind of folder as
`bridge-bench report` (`bridge_bench.write.render`):

- the cost of each path against the torch release, at 8 B (the call's own overhead) and at
  64 MiB (memory-bound), numpy 1.26.4 on every release;
- consecutive releases judged by `bridge_bench.read.compare` with its rules and factors, so a change
  reported here is one the gate would report;
- numpy 2.x against 1.x on every release that ran both;
- the probe's outcomes that changed from one release to the next, with the first release that
  shows each change.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from packaging.version import Version

from bridge_bench import catalogue, errors, inputs, messages, outcomes, suite
from bridge_bench.read import analysis, batches, compare, gate, results, sweep_folder
from bridge_bench.write import plots, render
from bridge_bench.write.render import Section

TITLE = "bridge-bench: the NumPy <-> PyTorch bridge across torch releases"
#: The sizes a release's cost is read at: the call's own overhead, and a memory-bound copy.
CALL_SIZE, MEMORY_SIZE = 8, inputs.OUT_OF_CACHE


class ReleasesError(errors.InputError):
    """The sweep's folders cannot make a releases report; the message names what is missing."""


def _ordered(versions) -> list[str]:
    """Distinct versions (of torch or numpy), oldest first."""
    return sorted(set(versions), key=Version)


def load(results_dir: Path) -> pd.DataFrame:
    """The measured rows of the sweep, with `release` (torch without its build) as a column."""
    frame = results.load([results_dir]).frame
    frame = frame[frame["status"] == "ok"].copy()
    if frame["torch"].isna().any():
        raise ReleasesError(f"{results_dir}: some results name no torch version; a releases report reads the "
                            "results of `bridge-bench releases` (managed environments, one per torch x numpy)")
    frame["release"] = frame["torch"].map(catalogue.public_version)
    return frame


def timed(frame: pd.DataFrame, sweep: str) -> pd.DataFrame:
    return frame[(frame["sweep"] == sweep) & frame["benchmark"].map(suite.is_timed)]


def cost(frame: pd.DataFrame, size: int, numpy: str) -> pd.DataFrame:
    """Published time of every path of the size sweep at `size`, one column per release (seconds)."""
    rows = timed(frame, "sizes")
    rows = rows[(rows["size"] == size) & (rows["numpy"] == numpy)]
    table = rows.pivot_table(index=["direction", "path", "label"], columns="release", values="value", aggfunc="first")
    table = table[_ordered(table.columns)]
    order = {pid: i for i, pid in enumerate(catalogue.PATH_IDS)}
    return table.sort_index(level="path", key=lambda s: s.map(order))


def _in(table: pd.DataFrame, scale: float) -> pd.DataFrame:
    """A cost table as the page shows it: one row per path by its code, times in the given unit."""
    shown = (table * scale).reset_index(["direction", "path"], drop=True).rename_axis(None, axis=1)
    return shown.rename_axis("code").reset_index()


def families(frame: pd.DataFrame) -> dict[str, list[str]]:
    """numpy version -> the releases that ran with it, oldest first."""
    return {n: _ordered(g["release"]) for n, g in frame.groupby("numpy")}


def steps(frame: pd.DataFrame) -> pd.DataFrame:
    """Every case of consecutive releases (same numpy) judged by `compare` with its default rules."""
    parts = []
    for numpy, versions in families(frame).items():
        for a, b in zip(versions, versions[1:]):
            base = frame[(frame["numpy"] == numpy) & (frame["release"] == a)]
            cand = frame[(frame["numpy"] == numpy) & (frame["release"] == b)]
            judged = compare.compare_frames(base, cand)
            judged = judged[judged["_merge"] == "both"]
            parts.append(judged.assign(numpy=numpy, step=f"{a} -> {b}"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def step_summary(judged: pd.DataFrame) -> pd.DataFrame:
    counts = judged.groupby(["numpy", "step", "status"], sort=False).size().unstack("status", fill_value=0)
    for status in gate.JUDGED:
        if status not in counts:
            counts[status] = 0
    return counts[list(gate.JUDGED)].reset_index()


def step_changes(judged: pd.DataFrame) -> pd.DataFrame:
    """The changed cases, one row each, worst first within a step."""
    changed = judged[judged["status"] != "same"]
    return pd.DataFrame({
        "numpy": changed["numpy"], "step": changed["step"], "status": changed["status"],
        "ratio": changed["ratio"].round(3), "benchmark": changed["benchmark"].map(suite.short),
        "code": changed["label_base"], "size": changed["size"], "dtype": changed["dtype"], "layout": changed["layout"],
        "before": changed["value_base"], "after": changed["value_cand"], "unit": changed["unit_base"],
        "class": changed["kind"]}).reset_index(drop=True)


def step_by_path(changes: pd.DataFrame) -> pd.DataFrame:
    """Per step, path and class (call-bound, memory-bound, count...): how many cases got worse or
    better, and the median ratio of each."""
    if changes.empty:
        return pd.DataFrame(columns=["numpy", "step", "code", "class", "worse", "median worse", "better",
                                     "median better"])
    grouped = changes.groupby(["numpy", "step", "code", "class"], sort=False)
    out = pd.DataFrame({
        "worse": grouped["status"].apply(lambda s: int((s == "regression").sum())),
        "median worse": grouped.apply(lambda g: g.loc[g["status"] == "regression", "ratio"].median(),
                                      include_groups=False),
        "better": grouped["status"].apply(lambda s: int((s == "improvement").sum())),
        "median better": grouped.apply(lambda g: g.loc[g["status"] == "improvement", "ratio"].median(),
                                       include_groups=False),
    })
    return out.reset_index()


def numpy_ratios(frame: pd.DataFrame, size: int) -> pd.DataFrame:
    """Per path and release that ran both numpys: published time with the newer numpy / with the older."""
    rows = timed(frame, "sizes")
    rows = rows[rows["size"] == size]
    old, new = (_ordered(rows["numpy"]) + [None, None])[:2]
    if new is None:
        return pd.DataFrame()
    wide = rows.pivot_table(index=["label", "release"], columns="numpy", values="value", aggfunc="first")
    ratio = (wide[new] / wide[old]).dropna().unstack("release")
    ratio = ratio[_ordered(ratio.columns)]
    order = {catalogue.get(pid).label: i for i, pid in enumerate(catalogue.PATH_IDS)}
    ratio = ratio.sort_index(key=lambda s: s.map(order)).round(3).rename_axis(None, axis=1)
    return ratio.rename_axis("code").reset_index()


def probes(folder: Path) -> dict[tuple[str, str], outcomes.Probe]:
    """(release, numpy) -> the probe of that pair, from the sweep's semantics folder."""
    found = {}
    for file in sorted(Path(folder).glob("*.json")):
        probe = outcomes.read(file)
        found[(catalogue.public_version(probe.versions.get("torch", "?")), probe.versions.get("numpy", "?"))] = probe
    return found


def _outcomes(probe: outcomes.Probe) -> dict[tuple, dict]:
    return {(c["path"], c["dtype"], c["layout"]): c for c in probe.cases}


def _what(case: dict | None) -> str:
    if case is None:
        return "not probed"
    return outcomes.symbol(case) + " " + case["outcome"]


def behaviour_changes(found: dict[tuple[str, str], outcomes.Probe]) -> pd.DataFrame:
    """Every probed case whose outcome differs between consecutive releases of one numpy, and
    between the two numpys of one release: one row per case."""
    rows = []
    by_numpy: dict[str, list[str]] = {}
    for rel, numpy in found:
        by_numpy.setdefault(numpy, []).append(rel)
    pairs = [(f"numpy {n}", (a, n), (b, n)) for n, rels in by_numpy.items()
             for a, b in zip(_ordered(rels), _ordered(rels)[1:])]
    numpys = _ordered(by_numpy)
    pairs += [(f"torch {rel}", (rel, numpys[0]), (rel, n)) for rel in _ordered(r for r, _ in found)
              for n in numpys[1:] if (rel, numpys[0]) in found and (rel, n) in found]
    for scope, a, b in pairs:
        before, after = _outcomes(found[a]), _outcomes(found[b])
        for key in sorted(before.keys() | after.keys()):
            was, now = before.get(key), after.get(key)
            if was and now and was["outcome"] == now["outcome"] and outcomes.symbol(was) == outcomes.symbol(now):
                continue
            detail = now or {}
            rows.append({"scope": scope, "from": f"torch {a[0]}, numpy {a[1]}", "to": f"torch {b[0]}, numpy {b[1]}",
                         "path": key[0], "dtype": key[1], "layout": key[2], "before": _what(was), "after": _what(now),
                         "error after": detail.get("error", "") or ""})
    return pd.DataFrame(rows)


def behaviour_summary(changes: pd.DataFrame) -> pd.DataFrame:
    """The changes grouped: per step, path and change of outcome, the dtypes and layouts it hit."""
    if changes.empty:
        return pd.DataFrame(columns=["from", "to", "code", "before", "after", "cases", "dtypes", "layouts"])
    grouped = changes.groupby(["scope", "from", "to", "path", "before", "after"], sort=False)
    out = grouped.agg(cases=("dtype", "size"), dtypes=("dtype", lambda s: _listing(s, inputs.DTYPES)),
                      layouts=("layout", lambda s: _listing(s, inputs.LAYOUTS))).reset_index()
    out.insert(3, "code", out["path"].map(analysis.path_label))
    return out.drop(columns=["scope", "path"])


def _listing(values: pd.Series, known) -> str:
    """The values a change hit, in their usual order; "all" or "all but ..." when that is shorter."""
    seen = set(values)
    missing = [v for v in known if v not in seen]
    if not missing:
        return "all"
    if len(missing) <= 2 and len(seen) > len(missing):
        return "all but " + ", ".join(missing)
    return ", ".join(v for v in known if v in seen) or ", ".join(sorted(seen))


#: PyTorch issue 13918 across releases: `torch.tensor(batch)` against `torch.from_numpy(np.stack(batch))`
#: at these (items, bytes per item) shapes.
ISSUE_13918 = ("batch_tensor", "batch_stack_from_numpy")
BATCH_SHAPES = ((8, 64), (512, 64), (8, 4 * inputs.KiB), (64, 4 * inputs.KiB), (1, 256 * inputs.KiB))


def batch_ratios(frame: pd.DataFrame, numpy: str) -> pd.DataFrame:
    """Per shape of `BATCH_SHAPES` and release: the time of `torch.tensor(batch)` over that of
    `torch.from_numpy(np.stack(batch))`, both float32, same run; empty without batch timings."""
    rows = timed(frame, suite.BATCH)
    rows = rows[(rows["numpy"] == numpy) & (rows["dtype"] == "float32") & rows["path"].isin(ISSUE_13918)]
    if rows.empty:
        return pd.DataFrame()
    wide = rows.pivot_table(index=["batch", "size"], columns=["path", "release"], values="value", aggfunc="first")
    ratio = (wide[ISSUE_13918[0]] / wide[ISSUE_13918[1]]).reindex(list(BATCH_SHAPES)).dropna(how="all")
    ratio = ratio[_ordered(ratio.columns)].rename_axis(None, axis=1)
    ratio.index = [batches.shape(b, s) for b, s in ratio.index]
    return ratio.rename_axis("items x bytes").reset_index()


def _sweep_table(record: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{"torch": r["torch"], "numpy": r["numpy"], "status": r["status"],
                          "build (s)": round(r["setup_s"]), "measure (s)": round(r["run_s"]),
                          "probe (s)": round(r["probe_s"]), "environment (GB)": round(r["env_bytes"] / 1e9, 2),
                          "error": r["error"]} for r in record])


def _findings(frame: pd.DataFrame, numpy: str) -> pd.DataFrame:
    """Per path: its published time on the oldest and the newest release, at both sizes."""
    out = []
    for size in (CALL_SIZE, MEMORY_SIZE):
        table = cost(frame, size, numpy)
        for (direction, pid, label), values in table.iterrows():
            values = values.dropna()
            if len(values) < 2:
                continue
            out.append({"code": label, "size": size, "first release": values.index[0],
                        "then (us)": values.iloc[0] * 1e6, "last release": values.index[-1],
                        "now (us)": values.iloc[-1] * 1e6,
                        "now / then": round(values.iloc[-1] / values.iloc[0], 3),
                        "slowest release": values.idxmax(), "fastest release": values.idxmin()})
    return pd.DataFrame(out)


def sections(frame: pd.DataFrame, found: dict, record: list[dict]) -> list[Section]:
    """The report in reading order; costs are read with the numpy that ran with the most releases."""
    fams = families(frame)
    base_numpy = max(fams, key=lambda n: (len(fams[n]), Version(n)))
    sized = not timed(frame, "sizes").empty  # a sweep of another selection (`releases --bench`) has none
    out = [] if not sized else [Section(
        "What changed",
        f"{len(frame['env'].unique())} environments: torch {', '.join(_ordered(frame['release']))}; numpy "
        f"{', '.join(_ordered(frame['numpy']))}. Each figure is the published one (the median of the quiet "
        f"looks, one a round). Times below are with numpy {base_numpy}, the numpy most releases ran with; "
        "`now / then` above 1 means the newest release is slower.",
        [("releases_findings", "Oldest against newest release, per path", _findings(frame, base_numpy))])]
    costs = ((CALL_SIZE, "call", 1e9, "ns"), (MEMORY_SIZE, "memory", 1e6, "us")) if sized else ()
    for size, name, scale, unit in costs:
        table = cost(frame, size, base_numpy)
        s = Section(f"Cost at {inputs.format_size(size)} across releases",
                    f"Published time per call ({unit}) of every path at {inputs.format_size(size)}, numpy "
                    f"{base_numpy}. " + ("At 8 B every path costs its own overhead: the Python call, argument "
                                         "parsing, the tensor or array object." if size == CALL_SIZE else
                                         "At 64 MiB a copy streams memory; a zero-copy path still costs its overhead."),
                    [(f"cost_{name}", f"Time per call ({unit}) at {inputs.format_size(size)}", _in(table, scale))])
        for direction in (catalogue.NUMPY_TO_TORCH, catalogue.TORCH_TO_NUMPY, catalogue.REFERENCE):
            if direction in table.index.get_level_values("direction"):
                s.add_figure(f"{name}_{direction.replace('->', '_to_')}",
                             plots.time_vs_release(table.xs(direction, level="direction"),
                                                   f"{direction} at {inputs.format_size(size)}, numpy {base_numpy}"))
        out.append(s)
    judged = steps(frame)
    if not judged.empty:
        changes = step_changes(judged)
        factors = gate.factors_for()
        out.append(Section(
            "Consecutive releases, judged by compare",
            "Every case of each release against the release before it, with the same numpy, judged by "
            f"`bridge-bench compare`'s rules (call-bound factor {factors['call-bound']:g}, in-cache copies "
            f"{factors['in-cache']:g}, memory-bound {factors['memory-bound']:g}, counts {gate.COUNT_FACTOR:g}, "
            "the other estimates agreeing): a "
            "change here is one the gate would report. A ratio is the newer release's figure over the older one's.",
            [("steps", "Cases per step", step_summary(judged)),
             ("steps_by_path", "Changed cases per step, path and class (median ratio of each kind)",
              step_by_path(changes)),
             ("steps_changes", "Every changed case", changes)], linked={"steps_changes"}))
    batch = batch_ratios(frame, base_numpy)
    if not batch.empty:
        tensor, stack = (catalogue.get(pid).label for pid in ISSUE_13918)
        out.append(Section(
            "Building a batch across releases (PyTorch issue 13918)",
            f"`{tensor}` over `{stack}` for a list of float32 arrays, same release and run, numpy {base_numpy}: "
            "above 1, handing torch the list costs that many times stacking it with numpy first. The issue "
            "(\"very slow to convert list of numpy arrays into tensors\", open since 2018) and a proposed fast "
            "path for contiguous arrays (PR 72249) are what this answers per release.",
            [("batch_13918", "torch.tensor(batch) / torch.from_numpy(np.stack(batch)), by items x bytes per item",
              batch)]))
    ratios = [(size, numpy_ratios(frame, size)) for size in (CALL_SIZE, MEMORY_SIZE)]
    if not ratios[0][1].empty:
        old, new = _ordered(frame["numpy"])[:2]
        out.append(Section(
            f"numpy {new} against numpy {old}",
            f"Published time with numpy {new} over the time with numpy {old}, same torch release, same "
            "machine: above 1, numpy 2 is slower. torch releases before 2.3 were built against numpy 1.x and "
            "did not run with numpy 2.",
            [(f"numpy_ratio_{'call' if size == CALL_SIZE else 'memory'}",
              f"Time ratio at {inputs.format_size(size)}", table) for size, table in ratios]))
    if found:
        changes = behaviour_changes(found)
        out.append(Section(
            "Behaviour across releases",
            "The semantics probe (`bridge-bench semantics`) on every pair: whether each path shares memory (S), "
            "copies (C; c when the dtype changes), raises (E), crashes the interpreter (X) or does not apply (.), "
            "for every dtype and layout. A row is a change from one release to the next with the same numpy "
            "(its `to` is the first release showing it), or between the two numpys of one release.",
            [("behaviour_changes", "Changes of outcome", behaviour_summary(changes)),
             ("behaviour_cases", "Every changed case", changes)], linked={"behaviour_cases"}))
    if record:
        out.append(Section("The sweep", "Wall time and disk of each pair (`bridge-bench releases`, "
                           "`.asv/releases/sweep.json`). An environment is removed once measured.",
                           [("sweep", "Pairs", _sweep_table(record))]))
    return out


def build(results_dir: Path, semantics_dir: Path | None, out: Path, progress=None) -> None:
    """Write the releases report of `results_dir` (and the probes in `semantics_dir`) into `out`."""
    step = messages.stopwatch("releases report", progress)

    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise ReleasesError(f"{results_dir}: no such results folder; `bridge-bench releases` makes one")
    semantics_dir = Path(semantics_dir) if semantics_dir else results_dir.parent / sweep_folder.SEMANTICS
    render.prepare(out, [results_dir, semantics_dir])
    step(f"loading {results_dir}")
    frame = load(results_dir)
    found = probes(semantics_dir) if semantics_dir.is_dir() else {}
    step(f"{len(frame)} values of {frame['env'].nunique()} environments, {len(found)} probes")
    built = sections(frame, found, sweep_folder.read_record(results_dir.parent))
    render.write(built, out, TITLE, [], {})
    step(f"done: {out / 'index.html'}")
