import pytest


def pytest_collection_modifyitems(config, items):
    """CUDA tests skip, with the reason, where torch has no CUDA device."""
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device: torch.cuda.is_available() is False")
    for item in items:
        if item.get_closest_marker("cuda"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def small_asv_run(tmp_path_factory):
    """A small real `asv run -E existing` (copy and zero-copy paths at three sizes, their ceilings,
    peak memory; four looks a case) and its `asv publish` output: what the report, estimate and
    browser tests read. Returns (results_dir, html_dir)."""
    from pathlib import Path

    from bridge_bench import asvrun

    root = Path(__file__).resolve().parents[1]
    work = tmp_path_factory.mktemp("small-asv")
    conf = asvrun.private_config(root / "asv.conf.json", work)
    env = asvrun.private_env(work / "home", "bridge-bench-report-test")
    cases = [("NumpyToTorch", p) for p in ("from_numpy", "tensor")] + [("Reference", p) for p in ("np_copyto", "copy_")]
    benches = [asvrun.bench_regex(f"bench_sizes.{cls}.time_convert", (path, size, "float32", "C"))
               for cls, path in cases for size in (8, 65536, 4 * 1024 * 1024)]
    benches.append(r"bench_memory\.PeakMemory\.peakmem_(convert|prepared)\('(from_numpy|tensor)'")
    asvrun.run_existing(conf, "bridge-bench-report-test", benches, env=env, rounds=4)
    asvrun.run_asv(["publish", "--config", str(conf)], env=env, cwd=root)
    return work / "results", work / "html"
