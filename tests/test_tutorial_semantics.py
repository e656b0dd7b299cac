"""What the NumPy-bridge tutorial teaches, checked for real on this torch and numpy."""

import os
import signal

import numpy as np
import pytest
import torch

from bridge_bench import catalogue, outcomes
from bridge_bench.measure import semantics


def test_from_numpy_shares_memory_both_ways():
    a = np.ones(5)
    b = torch.from_numpy(a)
    np.add(a, 1, out=a)
    assert b.tolist() == [2.0] * 5 and b.dtype == torch.float64
    b.add_(1)
    assert a.tolist() == [3.0] * 5


def test_numpy_shares_memory_both_ways():
    a = torch.ones(5)
    b = a.numpy()
    a.add_(1)
    assert b.tolist() == [2.0] * 5
    b += 1
    assert a.tolist() == [3.0] * 5


def test_legacy_Tensor_of_float64_is_an_independent_float32_copy():
    a = np.ones((5, 2))
    b = torch.Tensor(a)
    b += 1
    assert b.dtype == torch.float32
    assert a.tolist() == [[1.0, 1.0]] * 5 and b.tolist() == [[2.0, 2.0]] * 5


def test_legacy_Tensor_of_float32_shares():
    a = np.ones(4, dtype=np.float32)
    b = torch.Tensor(a)
    b += 1
    assert a.tolist() == [2.0] * 4


def test_numpy_copy_is_independent_and_from_numpy_of_it_shares():
    b = torch.ones(5, 2)
    a2 = b.numpy().copy()
    a2 += 1
    assert b.tolist() == [[1.0, 1.0]] * 5 and a2.dtype == np.float32
    c1 = torch.from_numpy(a2)
    c1 += 1
    assert a2.tolist() == [[3.0, 3.0]] * 5


@pytest.mark.parametrize("pid,outcome", [("from_numpy", "shares"), ("numpy", "shares"), ("tensor", "copies"),
                                         ("numpy_copy", "copies"), ("np_array", "copies"),
                                         ("np_asarray", "shares"), ("np_copyto", "copies")])
def test_probe_agrees_with_the_tutorial(pid, outcome):
    record = semantics.probe(semantics.Job(pid, "float32", "C"))
    assert record["outcome"] == outcome
    assert record["write_shows_on_other_side"] is (outcome == "shares")
    assert record["memory_overlap"] is (outcome == "shares")


def test_probe_sees_the_legacy_dtype_change_and_the_refusals():
    legacy = semantics.probe(semantics.Job("Tensor_legacy", "float64", "C"))
    assert (legacy["outcome"], legacy["dtype_in"], legacy["dtype_out"]) == ("copies", "float64", "float32")
    negative = semantics.probe(semantics.Job("from_numpy", "float32", "negative"))
    assert negative["outcome"] == "raises" and negative["error_type"] == "ValueError"
    assert "negative" in negative["error"]
    bf16 = semantics.probe(semantics.Job("numpy", "bfloat16", "C"))
    assert bf16["outcome"] == "raises" and bf16["error_type"] == "TypeError"
    na = semantics.probe(semantics.Job("clone", "float32", "readonly"))
    assert na["outcome"] == "n/a" and "read-only" in na["reason"]


def test_a_read_only_source_is_tested_through_the_result():
    record = semantics.probe(semantics.Job("from_numpy", "float32", "readonly"))
    assert record["outcome"] == "shares" and record["write_shows_on_other_side"] is True


def test_probe_survives_a_worker_that_dies_and_carries_on():
    worker = semantics._Worker()
    try:
        os.kill(worker.proc.pid, signal.SIGABRT)
        worker.proc.wait()
        crash = worker.ask(semantics.Job("from_numpy", "float32", "C"))
    finally:
        worker.close()
    assert crash["outcome"] == "crash" and crash["signal"] == "SIGABRT"
    jobs = semantics.jobs_for(["from_numpy", "dlpack_to_torch"], ["float32", "int8"], ["C", "negative"])
    records = semantics.run(jobs, workers=2)
    assert [r["path"] for r in records] == [j.path for j in jobs]
    assert all(r["outcome"] in outcomes.OUTCOMES for r in records)
    assert records[0]["outcome"] == "shares"


def test_render_and_summary_count_every_case():
    jobs = semantics.jobs_for(["from_numpy", "clone"], ["float32", "bfloat16"], ["C", "negative"])
    records = semantics.run(jobs, workers=1)
    counts = outcomes.summary(records)
    assert sum(counts.values()) == len(jobs) == 8
    text = outcomes.render(records)
    assert "torch.from_numpy(a)" in text and f"{len(jobs)} cases" in text


def test_the_probe_finds_what_each_record_says_of_sharing():
    """Every host path, probed by default on the common case (float32, C-contiguous), shares memory
    exactly when its record says it does: tables print the record's `shares`, users rely on it."""
    records = semantics.run(semantics.jobs_for(dtypes=["float32"], layouts=["C"]), workers=1)
    found = {r["path"]: r["outcome"] for r in records}
    assert found == {p: "shares" if catalogue.get(p).shares else "copies"
                     for p in catalogue.HOST_PATH_IDS + catalogue.BATCH_PATH_IDS}
