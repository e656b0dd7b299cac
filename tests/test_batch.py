"""The batch family end to end: what the probe says of it, its cases in a real run (the shared
recorded run, conftest.BATCH_CASES), the report's "Building a batch" section, `compare` on batch
cases, `fidelity --batch`, and the releases report's answer to PyTorch issue 13918."""

import pandas as pd
import pytest

from bridge_bench import catalogue, cli, inputs
from bridge_bench.drive import fidelity
from bridge_bench.measure import semantics
from bridge_bench.read import batches, compare, results
from bridge_bench.write import comparison, releases_report
from conftest import BATCH_CASES, MACHINE, ROOT
from test_compare import scaled_copy


@pytest.mark.parametrize("pid, outcome, warns", [
    ("batch_tensor", "copies", "Creating a tensor from a list of numpy.ndarrays"),
    ("batch_stack_from_numpy", "copies", None),
    ("batch_torch_stack_out", "copies", None),
    ("unbatch_numpy", "shares", None),
    ("unbatch_unbind", "shares", None),
    ("frame_from_numpy", "shares", "not writable"),
    ("mixed_frame_from_numpy", "copies", None),
])
def test_the_probe_says_whether_a_batch_shares_with_any_item_or_the_frame_and_whether_it_warns(pid, outcome, warns):
    record = semantics.tried(semantics.Job(pid, "float32", "C", batch=semantics.PROBE_BATCH))
    assert record["outcome"] == outcome, record
    assert record["memory_overlap"] == (outcome == "shares"), record
    if warns:
        assert warns in record["warning"], record
    else:
        assert "warning" not in record, record


def test_the_probe_reads_dtypes_of_lists_and_frames_and_probes_the_family_by_default():
    tolist = semantics.probe(semantics.Job("unbatch_tolist", "float32", "C", batch=4))
    assert (tolist["outcome"], tolist["dtype_in"], tolist["dtype_out"]) == ("copies", "float32", "python float")
    mixed = semantics.probe(semantics.Job("mixed_frame_tensor_values", "float32", "C", batch=4))
    assert (mixed["dtype_in"], mixed["dtype_out"]) == ("float32+int32", "float64")
    jobs = semantics.jobs_for(dtypes=["float32"])
    batch_jobs = [j for j in jobs if catalogue.get(j.path).batch]
    assert {j.path for j in batch_jobs} == set(catalogue.BATCH_PATH_IDS)
    assert {(j.layout, j.batch) for j in batch_jobs} == {("C", semantics.PROBE_BATCH)}, "a batch has one layout"
    assert len(jobs) == len(catalogue.HOST_PATH_IDS) * len(inputs.LAYOUTS) + len(catalogue.BATCH_PATH_IDS)


def test_batch_rows_carry_their_batch_size(recorded_run):
    frame = results.load([recorded_run.results]).frame
    rows = frame[frame["benchmark"].str.startswith("bench_batch.")]
    assert sorted(zip(rows["path"], rows["batch"], rows["size"])) == sorted(
        (pid, batch, size) for _, pid, batch, size in BATCH_CASES)
    assert rows["layout"].isna().all() and frame.loc[~frame.index.isin(rows.index), "batch"].isna().all()


def test_the_report_builds_a_batch_against_one_copy_of_it(recorded_run, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["report", str(recorded_run.results), "--out", str(out)]) == 0, capsys.readouterr().err
    md = (out / "report.md").read_text()
    assert "## Building a batch" in md and "images/batch_x_copy_run0.png" in md
    ratios = pd.read_csv(out / "tables" / "batch_x_copy.csv").set_index("label")["8 x 4 KiB"]
    assert ratios[catalogue.get(catalogue.BATCH_REFERENCE).label] == 1.0
    # torch.tensor(batch) reads the list element by element: 100-300x one copy of 8 x 4 KiB here
    assert ratios["torch.tensor(batch)"] > 5 * ratios["torch.from_numpy(np.stack(batch))"]
    assert "`torch.tensor(batch)` cost" in md and "one copy of the batch: stack first" in md
    ways = pd.read_csv(out / "tables" / "batch_ways.csv")
    assert set(ways["label"]) == {catalogue.get(pid).label for _, pid, _, _ in BATCH_CASES[:6]}
    split = pd.read_csv(out / "tables" / "batch_split_us.csv")
    assert list(split["label"]) == ["list(t.numpy())"]
    frames = pd.read_csv(out / "tables" / "frame_us.csv")
    assert list(frames["label"]) == ["torch.from_numpy(df.to_numpy())"] and "512 x 64 B" in frames.columns


def test_compare_pairs_batch_cases_and_flags_one_made_slower(recorded_run, tmp_path):
    """Each batch case pairs with itself (path, batch, size, dtype); `list(t.numpy())` 1.5x slower in
    every look is a call-bound regression, judged on its looks alone (a memory-bound copy's looks
    spread so widely on a noisy machine that the gate may rightly call 1.6x of them unchanged)."""
    slower = scaled_copy(recorded_run.results, tmp_path / "slower", "unbatch_numpy", 1.5)
    result = compare.compare(compare.Side(recorded_run.results), compare.Side(slower))
    batch = result.cases[result.cases["benchmark"].str.startswith("bench_batch.")]
    assert len(batch) == len(BATCH_CASES)
    text = comparison.render_text(result, everything=True)
    assert set(batch.loc[batch["status"] != "same", "path"]) == {"unbatch_numpy"}, text
    assert set(batch.loc[batch["path"] == "unbatch_numpy", "status"]) == {"regression"}, text
    assert "8 x 4 KiB" in comparison.render_text(result), "a batch case is named by its shape"


def test_advice_names_the_fastest_way_and_each_ways_spread():
    run = {"machine": "m", "env": "e", "commit": "c"}
    rows = [{**run, "path": pid, "label": catalogue.get(pid).label, "batch": b, "size": 4096, "dtype": "float32",
             "x_copy": x, batches.SHAPE: batches.shape(b, 4096)}
            for pid, b, x in (("batch_tensor", 8, 250.0), ("batch_tensor", 64, 160.0),
                              ("batch_torch_stack", 8, 1.8), ("batch_torch_stack", 64, 1.4),
                              ("batch_stack_from_numpy", 8, 1.2), ("batch_stack_from_numpy", 64, 1.6),
                              ("batch_torch_stack_out", 8, 0.5), ("batch_torch_stack_out", 64, 0.7),
                              (catalogue.BATCH_REFERENCE, 8, 1.0), (catalogue.BATCH_REFERENCE, 64, 1.0))]
    table = batches.spread(pd.DataFrame(rows))
    assert list(table["label"]) == ["torch.from_numpy(np.stack(batch))",
                                    "torch.stack([torch.from_numpy(a) for a in batch])", "torch.tensor(batch)"], \
        "cheapest first, the references (copies into memory made beforehand) left out"
    assert list(table["fastest at"]) == ["1 of 2", "1 of 2", "0 of 2"]
    assert table.iloc[-1][["x copy, min", "x copy, median", "x copy, max"]].tolist() == [160, 205, 250]
    assert batches.advice(pd.DataFrame(rows)) == (
        "On this run, `torch.from_numpy(np.stack(batch))` was the fastest way at 1 of 2 shapes; "
        "`torch.tensor(batch)` cost 160x-250x one copy of the batch: stack first.")


def test_the_releases_report_gives_the_13918_ratio_per_release():
    rows = [{"sweep": "batch", "benchmark": "bench_batch.BatchToTorch.time_convert", "numpy": "1.26.4",
             "dtype": "float32", "path": pid, "batch": 64, "size": 4096, "release": release, "value": value}
            for release, tensor, stack in (("2.0.1", 9e-3, 60e-6), ("2.14.1", 8e-3, 80e-6))
            for pid, value in (("batch_tensor", tensor), ("batch_stack_from_numpy", stack))]
    table = releases_report.batch_ratios(pd.DataFrame(rows), "1.26.4")
    assert list(table.columns) == ["items x bytes", "2.0.1", "2.14.1"]
    assert table.iloc[0, 0] == "64 x 4 KiB" and table.iloc[0, 1:].tolist() == pytest.approx([150.0, 100.0])
    assert releases_report.batch_ratios(pd.DataFrame(rows), "2.2.6").empty


def test_fidelity_checks_batch_paths_against_tight_loops_of_the_same_call():
    rows = fidelity.run(ROOT / "asv.conf.json", ["batch_np_stack_out", "batch_tensor"], [4 * inputs.KiB], looks=2,
                        batch=64)
    for row in rows:
        assert row.asv_s and row.reference_s and row.loops >= 2, row
        assert 0.5 < row.ratio < 2, row
    text = fidelity.render(rows)
    assert "torch.tensor(batch)" in text and "64 x 4 KiB" in text


def test_fidelity_refuses_a_path_outside_the_batch_family_with_batch(capsys):
    assert cli.main(["fidelity", "--batch", "--path", "from_numpy"]) == 2
    assert "not one of the batch family's host paths" in capsys.readouterr().err


def test_releases_passes_a_selection_on(monkeypatch, tmp_path):
    from bridge_bench.drive import releases

    seen = {}
    monkeypatch.setattr(releases, "run", lambda config, machine, torch, keep, bench: seen.update(bench=bench) or 0)
    assert cli.main(["releases", "--machine", MACHINE, "--bench", "bench_batch"]) == 0
    assert seen["bench"] == ["bench_batch"]


def test_a_releases_report_of_the_batch_family_alone(recorded_run, tmp_path, capsys):
    """A sweep of one family (`releases --bench`) has no size sweep: the report answers what it can."""
    import json
    import shutil

    from bridge_bench.drive import asvrun

    results_dir = shutil.copytree(recorded_run.results, tmp_path / "results")
    (file,) = asvrun.result_files(results_dir, MACHINE)
    data = json.loads(file.read_text())
    data["results"] = {name: row for name, row in data["results"].items() if name.startswith("bench_batch.")}
    file.write_text(json.dumps(data))
    out = tmp_path / "releases"
    assert cli.main(["releases-report", str(results_dir), "--out", str(out)]) == 0, capsys.readouterr().err
    headings = [line[3:] for line in (out / "report.md").read_text().splitlines() if line.startswith("## ")]
    assert headings == ["Building a batch across releases (PyTorch issue 13918)"]
    table = pd.read_csv(out / "tables" / "batch_13918.csv")
    assert list(table["items x bytes"]) == ["8 x 4 KiB"] and table.iloc[0, -1] > 5
