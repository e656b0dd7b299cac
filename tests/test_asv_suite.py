"""The suite under asv for real: `asv check`, and a filtered `asv run -E existing` whose results we read.

Both run against a private copy of asv.conf.json and a private HOME, so a developer's results and
machine file are never touched.
"""

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from bridge_bench import asvrun, fidelity, inputs

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "bridge-bench-test"


@pytest.fixture(scope="module")
def asv_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("asv")
    conf = asvrun.private_config(ROOT / "asv.conf.json", work)
    env = asvrun.private_env(work / "home", MACHINE)
    benches = [
        asvrun.bench_regex("bench_sizes.Sizes.time_convert", ("from_numpy", 8, "float32", "C")),
        asvrun.bench_regex("bench_sizes.Sizes.time_convert", ("tensor", 65536, "float32", "C")),
        asvrun.bench_regex("bench_layouts.Layouts.time_convert", ("from_numpy", 32768, "float32", "negative")),
        asvrun.bench_regex("bench_layouts.Layouts.time_convert", ("clone", 32768, "float32", "readonly")),
        asvrun.bench_regex("bench_layouts.Layouts.time_convert", ("dlpack_to_torch", 32768, "float32", "negative")),
        r"bench_memory\.PeakMemory\.peakmem_(convert|prepared)\('(from_numpy|tensor)'",
        r"bench_context\.",
    ]
    commit = asvrun.run_existing(conf, MACHINE, benches, env=env)
    return work / "results", commit


def _values(results_dir, name):
    from asv.results import Results

    params = json.loads((results_dir / "benchmarks.json").read_text())[name]["params"]
    (file,) = asvrun.result_files(results_dir, MACHINE)
    result = Results.load(str(file))
    values = result.get_result_value(name, params)
    return dict(zip(itertools.product(*params), values)), result


def test_asv_check_passes(tmp_path):
    conf = asvrun.private_config(ROOT / "asv.conf.json", tmp_path)
    proc = subprocess.run(asvrun.asv_command("check", "-E", "existing", "--config", str(conf)),
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


def test_result_file_has_timings_skips_and_context(asv_run):
    results_dir, commit = asv_run
    values, result = _values(results_dir, "bench_sizes.Sizes.time_convert")
    assert result.commit_hash == commit
    from_numpy = values[("'from_numpy'", "8", "'float32'", "'C'")]
    tensor = values[("'tensor'", "65536", "'float32'", "'C'")]
    assert 0 < from_numpy < 1e-4, "a zero-copy conversion takes about a microsecond, not more"
    assert tensor > from_numpy, "copying 64 KiB costs more than sharing"
    unrun = values[("'numpy'", "8", "'float32'", "'C'")]
    assert unrun is None or math.isnan(unrun)

    layouts, _ = _values(results_dir, "bench_layouts.Layouts.time_convert")
    for case in (("'from_numpy'", "32768", "'float32'", "'negative'"),     # refused: ValueError
                 ("'clone'", "32768", "'float32'", "'readonly'"),           # no read-only tensors
                 ("'dlpack_to_torch'", "32768", "'float32'", "'negative'")):  # refused or crashes
        assert math.isnan(layouts[case]), f"{case} must be skipped (NaN), not failed (None)"

    params = result.params
    for key in ("torch", "numpy", "torch_threads", "thp", "THP_MEM_ALLOC_ENABLE", "cpu"):
        assert params.get(key), key


def test_peak_memory_separates_sharing_from_copying(asv_run):
    results_dir, _ = asv_run
    convert, _ = _values(results_dir, "bench_memory.PeakMemory.peakmem_convert")
    prepared, _ = _values(results_dir, "bench_memory.PeakMemory.peakmem_prepared")
    size = inputs.PEAKMEM_SIZE

    def extra(pid):
        key = (f"'{pid}'", str(size), "'float32'", "'C'")
        return convert[key] - prepared[key]

    assert extra("from_numpy") < size / 8
    assert extra("tensor") > size * 0.9


def test_context_tracks(asv_run):
    results_dir, _ = asv_run
    from asv.results import Results

    (file,) = asvrun.result_files(results_dir, MACHINE)
    result = Results.load(str(file))
    import torch

    assert result.get_result_value("bench_context.track_torch_threads", []) == [torch.get_num_threads()]


@pytest.mark.slow
def test_fidelity_command_reports_both_figures_per_case():
    rows = fidelity.run(ROOT / "asv.conf.json", ["from_numpy"], [8])
    (row,) = rows
    assert row.asv_s and row.reference_s and row.loops >= 2
    assert row.ratio is not None and 0.5 < row.ratio
    assert "torch.from_numpy(a)" in fidelity.render(rows)
