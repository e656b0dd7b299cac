"""The analysis math on frames with known answers (same columns as `results.load`)."""

import numpy as np
import pandas as pd
import pytest

from bridge_bench import analysis, inputs


def frame(times, **context) -> pd.DataFrame:
    """Size-sweep rows for {path_id: seconds(size)} in one run."""
    from bridge_bench import catalogue

    base = {"machine": "m", "env": "e", "commit": "c", "date": pd.Timestamp("2026-01-01"), "kind": "time",
            "status": "ok", "benchmark": "bench_sizes.X.time_convert", "sweep": "sizes", "dtype": "float32",
            "layout": "C", "torch": "2.13", "numpy": "2.4", "torch_threads": "2", "thp": "madvise",
            "THP_MEM_ALLOC_ENABLE": "unset", "cpu": "x", "num_cpu": "2", "os": "linux", "gpu": None,
            "thp_defrag": "madvise", **context}
    return pd.DataFrame([{**base, "path": p, "label": catalogue.BY_ID[p].label, "direction": catalogue.BY_ID[p].direction,
                          "size": s, "value": f(s)} for p, f in times.items() for s in inputs.SIZES])


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
