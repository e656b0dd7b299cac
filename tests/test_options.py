"""KEY=VALUE, parsed once (bridge_bench.options) for the command line and the reading side."""

import pytest

from bridge_bench import cli, errors, messages, options


def test_key_value_splits_at_the_first_equals_sign():
    assert options.key_value("torch=2.14.1") == ("torch", "2.14.1")
    assert options.key_value("A=b=c") == ("A", "b=c")
    assert options.key_value("A=", empty_value=True) == ("A", "")


@pytest.mark.parametrize("item", ["novalue", "=x", "A="])
def test_key_value_refuses_a_malformed_item(item):
    with pytest.raises(errors.InputError, match=r"use KEY=VALUE, e.g. torch=2\.14\.1"):
        options.key_value(item, example="torch=2.14.1")


def test_key_value_refuses_a_key_it_does_not_know_naming_those_it_does():
    said = r"invalid filter 'gpu=h200': use KEY=VALUE with KEY one of machine, torch"
    with pytest.raises(errors.InputError, match=said):
        options.key_value("gpu=h200", ("machine", "torch"), what="filter")


def test_the_command_line_reads_environment_assignments_with_it(capsys):
    args = cli.build_parser().parse_args(["paired", "--out", "x", "--baseline-env", "OMP_NUM_THREADS=1", "EMPTY="])
    assert args.baseline_env == [("OMP_NUM_THREADS", "1"), ("EMPTY", "")]
    assert cli.main(["paired", "--out", "x", "--baseline-env", "OMP_NUM_THREADS"]) == cli.EXIT_BAD_INPUT
    said = "invalid environment variable 'OMP_NUM_THREADS': use KEY=VALUE, e.g. OMP_NUM_THREADS=1"
    assert said in capsys.readouterr().err


def test_messages_quote_one_line():
    assert messages.first_line(ValueError("bad\nmore detail")) == "bad"
    assert messages.first_line("", "ValueError") == "ValueError"
    assert messages.last_line("Traceback\n  File x\nRuntimeError: boom\n\n") == "RuntimeError: boom"
    assert messages.last_line(None) == "no message"


def test_progress_goes_to_stderr_and_a_stopwatch_names_its_job(capsys):
    said = []
    step = messages.stopwatch("report", said.append)
    step("loading")
    messages.progress("half way")
    assert said[0].startswith("report: loading (") and said[0].endswith(" s)")
    assert capsys.readouterr() == ("", "half way\n")
    messages.stopwatch("report", None)("nothing")
