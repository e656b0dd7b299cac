"""A comparison (`bridge_bench.read.compare`) as a person or a CI job reads it: the table of
changes worst first, the headline and notes, and the text, markdown and JSON renderings."""

from __future__ import annotations


import pandas as pd

from bridge_bench import inputs, suite, units
from bridge_bench.read import batches, compare, gate


def table(comparison: compare.Comparison, everything: bool = False) -> pd.DataFrame:
    """The rows worth reading: changes (and, with `everything`, unchanged cases), worst first."""
    cases = comparison.cases if everything else comparison.cases[comparison.cases["status"] != "same"]
    against = cases["expected"].fillna(1.0)
    return pd.DataFrame({
        "status": cases["status"],
        "ratio": cases["ratio"].map(lambda r: f"{r:.2f}x"),
        **({"vs machine": [f"{r / m:.2f}x" if m != 1.0 else "" for r, m in zip(cases["ratio"], against)]}
           if (against != 1.0).any() else {}),
        "benchmark": cases["benchmark"].map(suite.short),
        "code": cases["label_base"],
        "size": [batches.shape(b, s) if pd.notna(b) else inputs.format_size(int(s)) if pd.notna(s) else "-"
                 for b, s in zip(cases["batch"], cases["size"])],
        "dtype": cases["dtype"].fillna("-"),
        "layout": cases["layout"].fillna("-"),
        "baseline": [units.measured(v, u) for v, u in zip(cases["value_base"], cases["unit_base"])],
        "candidate": [units.measured(v, u) for v, u in zip(cases["value_cand"], cases["unit_cand"])],
        "class": cases["kind"],
    })


def contended_note(comparison: compare.Comparison) -> str | None:
    """What the contended cases are and what to do, when there are any."""
    count = comparison.summary()["contended"]
    if not count:
        return None
    base, cand = comparison.machine.cores
    return (f"{count} contended: torch's threaded copies, not judged because the runs had different "
            f"free cores (parallel speedup {cand:.2f} in the candidate's run, {base:.2f} in the baseline's, "
            f"bench_context.track_parallel_speedup); run the side that had fewer again on a quiet machine, "
            f"or compare with bridge-bench paired")


def machine_note(comparison: compare.Comparison) -> str | None:
    """How the runs' CPU speed entered the judgement, when it did."""
    count = int((comparison.cases["expected"].fillna(1.0) != 1.0).sum())
    if not count:
        return None
    base, cand = comparison.machine.call_time
    return (f"{count} call-bound and in-cache cases judged against the runs' CPU speed (a fixed call took "
            f"{cand:.1f} ns in the candidate's run, {base:.1f} in the baseline's, bench_context.track_call_time): "
            f"their ratios divided by {comparison.machine.cpu_slowdown:.3f} before the factor (column 'vs machine')")


def notes(comparison: compare.Comparison) -> list[str]:
    return [note for note in (machine_note(comparison), contended_note(comparison)) if note]


def headline(comparison: compare.Comparison) -> str:
    s = comparison.summary()
    f = comparison.factors
    contended = f"{s['contended']} contended, " if s["contended"] else ""
    new = f"{s['new']} new (CUDA, under {gate.CUDA_NIGHTS} nights: not gated), " if s["new"] else ""
    return (f"{s['regression']} regressions, {s['improvement']} improvements, {contended}{new}{s['same']} unchanged "
            f"(factors: call-bound {f['call-bound']:g}, in-cache {f['in-cache']:g}, memory-bound {f['memory-bound']:g} "
            f"on the published figures; "
            f"counts {gate.COUNT_FACTOR:g}; other {f['other']:g} with asv's test) "
            f"of {len(comparison.cases)} paired cases; "
            f"{s['only_baseline']} only in the baseline, {s['only_candidate']} only in the candidate")


def render_text(comparison: compare.Comparison, everything: bool = False) -> str:
    lines = [f"baseline:  {comparison.baseline.describe()}", f"candidate: {comparison.candidate.describe()}",
             headline(comparison), *notes(comparison), ""]
    shown = table(comparison, everything)
    lines.append(shown.to_string(index=False) if len(shown) else "no changes beyond the factor")
    for name, frame in (("only in the baseline", comparison.only_baseline),
                        ("only in the candidate", comparison.only_candidate)):
        if len(frame):
            lines += ["", f"{len(frame)} cases {name}:", frame.to_string(index=False, max_rows=40)]
    return "\n".join(lines)


def render_markdown(comparison: compare.Comparison, everything: bool = False) -> str:
    verdict = "regressions found" if len(comparison.regressions) else "no regressions"
    lines = [f"## bridge-bench compare: {verdict}", "",
             f"- baseline: `{comparison.baseline.describe()}`", f"- candidate: `{comparison.candidate.describe()}`",
             f"- {headline(comparison)}", *(f"- {note}" for note in notes(comparison)), ""]
    shown = table(comparison, everything)
    lines.append(shown.to_markdown(index=False) if len(shown) else "_No changes beyond the factor._")
    for name, frame in (("Only in the baseline", comparison.only_baseline),
                        ("Only in the candidate", comparison.only_candidate)):
        if len(frame):
            lines += ["", f"<details><summary>{name}: {len(frame)} cases</summary>", "",
                      frame.to_markdown(index=False), "", "</details>"]
    return "\n".join(lines) + "\n"


def to_json(comparison: compare.Comparison) -> dict:
    cases = comparison.cases.drop(columns=["samples_base", "samples_cand", "_merge"])
    return {
        "factors": comparison.factors,
        "baseline": comparison.baseline.describe(),
        "candidate": comparison.candidate.describe(),
        "summary": comparison.summary(),
        "parallel_speedup": dict(zip(("baseline", "candidate"), comparison.machine.cores)),
        "call_time": dict(zip(("baseline", "candidate"), comparison.machine.call_time)),
        "memory_bandwidth": dict(zip(("baseline", "candidate"), comparison.machine.bandwidth)),
        "cases": cases.astype(object).where(cases.notna(), None).to_dict("records"),
        "only_baseline": comparison.only_baseline.astype(object).to_dict("records"),
        "only_candidate": comparison.only_candidate.astype(object).to_dict("records"),
        "warnings": comparison.warnings,
    }
