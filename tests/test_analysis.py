"""The analysis math on frames with known answers (same columns as `results.load`)."""

import numpy as np
import pandas as pd
import pytest

from bridge_bench import inputs
from bridge_bench.read import analysis


def frame(times, **context) -> pd.DataFrame:
    """Size-sweep rows for {path_id: seconds(size)} in one run, each in its direction's bench_sizes benchmark."""
    from bridge_bench import catalogue, suite

    base = {"machine": "m", "env": "e", "commit": "c", "date": pd.Timestamp("2026-01-01"), "kind": "time",
            "status": "ok", "sweep": "sizes", "dtype": "float32", "batch": None,
            "layout": "C", "torch": "2.13", "numpy": "2.4", "torch_threads": "2", "thp": "madvise",
            "THP_MEM_ALLOC_ENABLE": "unset", "cpu": "x", "num_cpu": "2", "os": "linux", "gpu": None,
            "thp_defrag": "madvise", **context}
    rows = []
    for p, f in times.items():
        direction = catalogue.BY_ID[p].direction
        rows += [{**base, "path": p, "label": catalogue.BY_ID[p].label, "direction": direction, "size": s,
                  "benchmark": suite.host_timing("bench_sizes", direction).name, "value": f(s)} for s in inputs.SIZES]
    return pd.DataFrame(rows)


def test_cost_model_recovers_overhead_and_bandwidth():
    fits = analysis.cost_model(frame({
        "tensor": lambda s: 3e-6 + s / 5e9 * (0.5 if s < inputs.OUT_OF_CACHE else 1),
        "from_numpy": lambda s: 0.5e-6,
    })).droplevel(analysis.RUN)
    tensor = fits.loc[("numpy->torch", "torch.tensor(a)")]
    assert tensor["overhead_us"] == pytest.approx(3, rel=1e-6)
    assert tensor["gbps_dram"] == pytest.approx(5, rel=1e-6)
    assert tensor["rms_error_pct"] < 1e-6
    zero = fits.loc[("numpy->torch", "torch.from_numpy(a)")]
    assert abs(zero["ns_per_MiB_dram"]) < 1e-6 and zero["overhead_us"] == pytest.approx(0.5)
    assert np.isnan(zero["gbps_dram"]), "a zero-copy call moves no bytes: no GB/s"


def test_bandwidth_is_read_against_the_fastest_reference_of_the_run():
    bw = analysis.bandwidth(frame({"tensor": lambda s: s / 4e9, "copy_": lambda s: s / 10e9,
                                   "np_copy": lambda s: s / 8e9, "from_numpy": lambda s: 1e-6}))
    assert "torch.from_numpy(a)" not in set(bw["label"])
    tensor = bw[bw["label"] == "torch.tensor(a)"]
    assert np.allclose(tensor["gbps"], 4) and np.allclose(tensor["pct_of_ceiling"], 40)


def test_speedups_pair_zero_copy_with_copy_by_the_catalogue():
    sp = analysis.speedups(frame({"tensor": lambda s: 1e-3, "from_numpy": lambda s: 1e-6}))
    assert set(zip(sp["zero_copy"], sp["copy"])) == {("torch.from_numpy(a)", "torch.tensor(a)")}
    assert np.allclose(sp["speedup"], 1000)


def test_cross_env_pairs_runs_differing_in_one_factor():
    off = frame({"tensor": lambda s: 2e-3, "from_numpy": lambda s: 1e-6}, env="a", THP_MEM_ALLOC_ENABLE="unset")
    on = frame({"tensor": lambda s: 1e-3, "from_numpy": lambda s: 1e-6}, env="b", THP_MEM_ALLOC_ENABLE="1")
    other_torch = frame({"tensor": lambda s: 9e-3, "from_numpy": lambda s: 1e-6}, env="c", torch="2.12",
                        THP_MEM_ALLOC_ENABLE="1")
    summary = analysis.cross_env_summary(analysis.cross_env(pd.concat([off, on, other_torch])))
    thp = summary.loc[("THP_MEM_ALLOC_ENABLE", "1", "unset")].droplevel("context")
    assert thp.loc[("numpy->torch", "torch.tensor(a)"), "median"] == pytest.approx(2)
    assert thp.loc[("numpy->torch", "torch.from_numpy(a)"), "median"] == pytest.approx(1)
    torch = summary.loc[("torch", "2.12", "2.13")].droplevel("context")
    assert torch.loc[("numpy->torch", "torch.tensor(a)"), "median"] == pytest.approx(1 / 9)
    assert set(summary.index.get_level_values("factor")) == {"THP_MEM_ALLOC_ENABLE", "torch"}


def test_wide_tables_have_a_column_per_size_in_size_order():
    latency = analysis.latency(frame({"tensor": lambda s: 1e-6 + s / 4e9, "from_numpy": lambda s: 1e-6}))
    assert list(latency.columns) == [inputs.format_size(s) for s in inputs.SIZES]
    assert list(latency.index.names) == analysis.PATH_ROWS
    assert latency.loc[("m", "e", "c", "numpy->torch", "torch.from_numpy(a)")].tolist() == \
        pytest.approx([1.0] * len(inputs.SIZES)), "microseconds"


def test_ceiling_and_percentage_by_size_come_from_the_bandwidth_table():
    bw = analysis.bandwidth(frame({"tensor": lambda s: s / 4e9, "copy_": lambda s: s / 10e9,
                                   "np_copy": lambda s: s / 8e9}))
    ceiling = analysis.ceiling_by_size(bw)
    assert ceiling.shape == (1, len(inputs.SIZES)) and np.allclose(ceiling, 10)
    pct = analysis.by_size(bw, analysis.PATH_ROWS, "pct_of_ceiling").droplevel(analysis.RUN)
    assert np.allclose(pct.loc[("numpy->torch", "torch.tensor(a)")], 40)
    assert np.allclose(pct.loc[("reference", "a.copy()")], 80)


def test_speedups_by_size_have_every_size():
    sp = analysis.speedups(frame({"tensor": lambda s: 1e-3, "from_numpy": lambda s: 1e-6}))
    wide = analysis.speedups_by_size(sp)
    assert list(wide.columns) == [inputs.format_size(s) for s in inputs.SIZES]
    assert np.allclose(wide, 1000)


def test_a_run_label_is_short_and_tells_runs_apart():
    times = {"tensor": lambda s: 1e-3}
    off = frame(times, env="long-asv-env-name", commit="c" * 40)
    assert analysis.run_labels(off) == {("m", "long-asv-env-name", "c" * 40): "m / torch 2.13 / numpy 2.4 / cccccccc"}
    on = frame(times, env="thp", commit="c" * 40, THP_MEM_ALLOC_ENABLE="1")
    twin = frame(times, env="thp-again", commit="c" * 40, THP_MEM_ALLOC_ENABLE="1")
    labels = analysis.run_labels(pd.concat([off, on, twin]))
    assert labels[("m", "long-asv-env-name", "c" * 40)] == \
        "m / torch 2.13 / numpy 2.4 / THP_MEM_ALLOC_ENABLE unset / cccccccc", "the factor they differ in"
    assert labels[("m", "thp-again", "c" * 40)].endswith("THP_MEM_ALLOC_ENABLE 1 / cccccccc / thp-again"), \
        "the env name where nothing else tells them apart"
    assert len(set(labels.values())) == 3


def test_findings_read_overhead_at_8_bytes_and_bandwidth_at_64_mib():
    table = analysis.findings(frame({"tensor": lambda s: 2e-6 + s / 4e9, "copy_": lambda s: s / 10e9,
                                     "from_numpy": lambda s: 0.5e-6}), analysis.catalogue_behaviour()["does"])
    table = table.droplevel(analysis.RUN)
    tensor = table.loc[("numpy->torch", "torch.tensor(a)")]
    assert tensor["does"] == "copies" and tensor["overhead_us"] == pytest.approx(2 + 8 / 4e3)
    assert tensor[analysis.GBPS_AT] == pytest.approx(inputs.OUT_OF_CACHE / (2e-6 + inputs.OUT_OF_CACHE / 4e9) / 1e9)
    assert tensor[analysis.PCT_AT] == pytest.approx(10 * tensor[analysis.GBPS_AT])
    zero = table.loc[("numpy->torch", "torch.from_numpy(a)")]
    assert zero["does"] == "shares" and zero["overhead_us"] == pytest.approx(0.5) and np.isnan(zero[analysis.GBPS_AT])
    assert table["allocated_x_array"].isna().all(), "no peakmem rows: unknown, not 0"


def test_behaviour_says_what_a_path_does_and_where_it_fails():
    def case(path, dtype, layout, outcome, **more):
        return {"path": path, "dtype": dtype, "layout": layout, "outcome": outcome, "dtype_in": dtype, **more}

    cases = [case("Tensor_legacy", "float32", "C", "shares", dtype_out="float32"),
             case("Tensor_legacy", "float64", "C", "copies", dtype_out="float32"),
             case("Tensor_legacy", "int8", "F", "copies", dtype_out="float32"),
             case("Tensor_legacy", "float32", "negative", "raises", error_type="ValueError", error="no"),
             case("dlpack_to_torch", "float32", "C", "raises", error_type="BufferError", error="no"),
             case("dlpack_to_torch", "float32", "negative", "crash")]
    table = analysis.behaviour(cases)
    legacy, dlpack = table.loc["torch.Tensor(a)"], table.loc["torch.from_dlpack(a)"]
    assert legacy["does"] == "shares" and legacy["converts"] == "2 dtypes to float32"
    assert legacy["raises_on"] == "negative" and pd.isna(legacy["crashes_on"])
    assert dlpack["does"] == "raises BufferError" and dlpack["raises_on"] == "C" and dlpack["crashes_on"] == "negative"
    counts = analysis.semantics_counts(cases)
    assert list(counts.columns) == ["S", "c", "E", "X"], "the legend's order"
    assert counts.loc["torch.Tensor(a)"].tolist() == [1, 2, 1, 0]


def test_of_run_keeps_one_run_only():
    both = pd.concat([frame({"tensor": lambda s: 1e-3}, env="a"), frame({"tensor": lambda s: 2e-3}, env="b")])
    rows = analysis.of_run(both, ("m", "b", "c"))
    assert set(rows["env"]) == {"b"} and len(rows) == len(inputs.SIZES)
    assert analysis.of_run(both, ("m", "z", "c")).empty


def test_semantics_grid_marks_a_dtype_changing_copy_as_the_probe_text_does():
    from bridge_bench import outcomes

    def case(path, dtype, outcome, **more):
        return {"path": path, "dtype": dtype, "layout": "C", "outcome": outcome, "dtype_in": dtype, **more}

    cases = [case("Tensor_legacy", "float64", "copies", dtype_out="float32"),
             case("Tensor_legacy", "float32", "copies", dtype_out="float32"),
             case("from_numpy", "float64", "shares", dtype_out="float64"),
             case("from_numpy", "float32", "raises", error_type="TypeError", error="no"),
             case("tensor", "float64", "raises", error_type="TypeError", error="no"),
             case("tensor", "float32", "raises", error_type="ValueError", error="bad"),
             case("gone_path", "float64", "exploded")]
    grid = analysis.semantics_grid(cases)
    assert grid.loc[("torch.Tensor(a)", "C"), "float64"] == "c"
    assert grid.loc[("torch.Tensor(a)", "C"), "float32"] == "C"
    assert grid.loc[("torch.from_numpy(a)", "C"), "float64"] == "S"
    assert grid.loc[("gone_path", "C"), "float64"] == "?", "an unknown path by its id, an unknown outcome as ?"
    legacy = next(line for line in outcomes.render(cases[:2]).splitlines() if line.startswith("  C "))
    assert legacy.split() == ["C", "c", "C"], "the text grid decides it the same way (float64 first)"

    errors = analysis.semantics_errors(cases)
    assert errors["cases"].tolist() == [2, 1] and errors.index[0] == ("TypeError", "no")
    assert analysis.semantics_errors(cases[:3]).empty
