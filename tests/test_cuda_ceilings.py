"""The bandwidth self-check over the results loader's frame: what counts as a violation, and what does not."""

import pandas as pd
import pytest

from bridge_bench import catalogue
from bridge_bench.read import ceilings, results
from bridge_bench.inputs import MiB

SIZE = 256 * MiB


def _row(path, value, size=SIZE, kind="time", unit="seconds", machine="m", commit="c", status="ok",
         dtype="float32", benchmark="bench_cuda.HostToCuda.time_convert"):
    record = catalogue.get(path)
    return {**dict.fromkeys(results.COLUMNS), "machine": machine, "env": "e", "commit": commit,
            "benchmark": benchmark, "kind": kind, "path": path, "label": record.label,
            "direction": record.direction, "size": size, "dtype": dtype, "layout": "C", "status": status,
            "value": value, "unit": unit}


def _ceiling(path, gbps, **kw):
    return _row(path, gbps, kind="track", unit="GB/s", benchmark="bench_cuda.TransferCeilings.track_bandwidth", **kw)


def _time_for(gbps, size=SIZE):
    return size / (gbps * 1e9)


def _frame(*rows):
    return pd.DataFrame(list(rows), columns=results.COLUMNS)


def test_a_figure_more_than_5_percent_above_its_ceiling_is_flagged_and_one_within_is_not():
    frame = _frame(_ceiling("h2d_ceiling", 50.0),
                   _row("copy_to_cuda_pinned", _time_for(52.0)),   # +4 %: noise
                   _row("to_cuda_nb_pinned", _time_for(53.0)))     # +6 %: a timing error
    checked = ceilings.transfers(frame).set_index("path")
    assert checked.loc["copy_to_cuda_pinned", "gbps"] == pytest.approx(52.0)
    assert checked.loc["copy_to_cuda_pinned", "ceiling_gbps"] == 50.0
    assert not checked.loc["copy_to_cuda_pinned", "violation"]
    assert checked.loc["to_cuda_nb_pinned", "violation"]
    assert list(ceilings.violations(frame)["path"]) == ["to_cuda_nb_pinned"]


def test_each_direction_is_read_against_its_own_ceiling():
    frame = _frame(_ceiling("h2d_ceiling", 50.0), _ceiling("d2h_ceiling", 20.0),
                   _row("cpu", _time_for(30.0), benchmark="bench_cuda.CudaToHost.time_convert"),
                   _row("cuda", _time_for(30.0)))
    assert list(ceilings.violations(frame)["path"]) == ["cpu"]


def test_a_ceiling_bounds_only_its_own_run():
    frame = _frame(_ceiling("h2d_ceiling", 50.0, machine="a"),
                   _row("cuda", _time_for(80.0), machine="b"),
                   _row("cuda", _time_for(80.0), machine="a", commit="other"))
    checked = ceilings.transfers(frame)
    assert checked["ceiling_gbps"].isna().all(), "no ceiling of the same machine, env and commit: nothing to check"
    assert ceilings.violations(frame).empty


def test_host_copies_skips_and_the_ceilings_themselves_are_not_checked():
    frame = _frame(_ceiling("h2d_ceiling", 50.0),
                   _row("pin_memory", _time_for(90.0)),  # a host copy: does not cross PCIe
                   _row("cuda", None, status="skipped"),
                   _row("copy_", _time_for(90.0), benchmark="bench_sizes.Reference.time_convert"))
    assert ceilings.transfers(frame).empty
    assert ceilings.violations(frame).empty


def test_render_shows_gbps_per_path_and_size_the_ceiling_and_the_flag():
    frame = _frame(_ceiling("h2d_ceiling", 50.0),
                   _row("cuda", _time_for(10.0, 1 * MiB), size=1 * MiB),
                   _row("cuda", _time_for(25.0)),
                   _row("to_cuda_nb_pinned", _time_for(60.0)))
    text = ceilings.render(frame)
    assert "ceiling: h2d_ceiling 50 GB/s" in text
    assert "1 MiB" in text and "256 MiB" in text
    cuda_line = next(line for line in text.splitlines() if line.startswith("t.cuda()"))
    assert "10" in cuda_line and "25" in cuda_line
    flagged = next(line for line in text.splitlines() if line.startswith('pinned.to("cuda"'))
    assert "60!" in flagged
    assert "1 figure(s) above their ceiling" in text


def test_render_puts_dtypes_in_columns_for_the_dtype_sweep():
    bench = "bench_cuda.HostToCudaDtypes.time_convert"
    frame = _frame(_ceiling("h2d_ceiling", 50.0),
                   _row("cuda", _time_for(20.0), dtype="float32", benchmark=bench),
                   _row("cuda", _time_for(21.0), dtype="int8", benchmark=bench))
    text = ceilings.render(frame)
    header = next(line for line in text.splitlines() if "int8" in line)
    assert header.index("int8") < header.index("float32"), "dtype columns follow inputs.DTYPES order"
    assert "GB/s at 256 MiB" in text


def test_the_ceilings_command_refuses_bad_input_with_exit_2_and_reads_a_real_run(tmp_path, capsys):
    from bridge_bench import cli
    from conftest import FULLRUN

    assert cli.main(["ceilings", str(tmp_path / "nope")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("bridge-bench: error:") and "nope" in line
    assert cli.main(["ceilings", str(FULLRUN)]) == 0, "a CPU run has no transfer to beat a ceiling"


def test_the_report_draws_transfers_against_their_ceiling_and_counts_violations():
    from bridge_bench.write import report

    d2h = "bench_cuda.CudaToHost.time_convert"
    frame = _frame(_ceiling("h2d_ceiling", 50.0), _ceiling("d2h_ceiling", 40.0),
                   _row("cuda", _time_for(10.0, MiB), size=MiB), _row("cuda", _time_for(45.0)),
                   _row("cuda", _time_for(47.0), benchmark="bench_cuda.HostToCudaDtypes.time_convert"),
                   _row("cpu", _time_for(60.0), benchmark=d2h))  # 1.5x its ceiling: a timing error
    section = report._transfers(report.Inputs(results.Loaded(frame), frame, [("m", "e", "c")], None))
    assert section.text.startswith("1 of 4 transfer bandwidths are more than 5% above")
    (name, _, wide), (checks_name, _, checks) = section.tables
    assert name == "transfers" and checks_name == "ceiling_checks"
    assert {"gbps", "ceiling_gbps", "violation"} <= set(checks.columns), "bandwidth is gbps, as in analysis"
    assert checks["violation"].sum() == 1
    cuda = wide.xs("t.cuda()", level="label").iloc[0]
    assert cuda["1 MiB"] == pytest.approx(10.0) and cuda["256 MiB"] == pytest.approx(46.0), \
        "a case both sweeps measured reads as the median of both"
    assert [n for n, _ in section.figures] == ["transfer_host_to_cuda_run0", "transfer_cuda_to_host_run0"]
    assert all(png.startswith(b"\x89PNG") for _, png in section.figures)
