import dataclasses
import resource

import numpy as np
import pytest
import torch

from bridge_bench import catalogue, inputs
from bridge_bench.measure import bindings, sources


def test_ids_are_unique_and_the_design_names_are_present():
    ids = [p.id for p in catalogue.CATALOGUE]  # from the records, so a duplicate would count twice
    assert len(ids) == len(set(ids)) and tuple(ids) == catalogue.PATH_IDS
    for pid in ("from_numpy", "as_tensor", "asarray", "tensor", "Tensor_legacy", "dlpack_to_torch",
                "numpy", "numpy_force", "np_asarray", "np_array", "numpy_copy", "dlpack_to_numpy",
                "np_copy", "np_copyto", "clone", "copy_"):
        assert pid in ids


def test_every_record_has_exactly_one_binding():
    assert sorted(bindings.BINDINGS) == sorted(catalogue.PATH_IDS)


def test_every_record_is_consistent():
    for p in catalogue.CATALOGUE:
        assert p.direction in catalogue.DIRECTIONS
        assert p.source in inputs.SIDES
        assert p.output in catalogue.OUTPUTS
        assert p.label and "(" in p.label
    assert catalogue.ids(catalogue.NUMPY_TO_TORCH) == ["from_numpy", "as_tensor", "asarray", "tensor",
                                                       "Tensor_legacy", "dlpack_to_torch"]
    assert set(catalogue.ids(shares=False)) >= {"tensor", "np_array", "numpy_copy", "np_copy", "clone"}


def _paths(batch: bool):
    return [pytest.param(p.id, marks=pytest.mark.cuda) if p.cuda else p.id
            for p in catalogue.CATALOGUE if p.batch == batch]


@pytest.mark.parametrize("pid", _paths(batch=False))
def test_every_path_converts_float32_and_keeps_the_values(pid):
    """Each call gives the source's values, read where its record says its output is."""
    case = inputs.Case(64)
    source = sources.make_source(catalogue.get(pid).source, case)
    source[3] = 7
    try:
        call = bindings.bind(pid, source)
        out = bindings.output(pid, call, call())
        values = out.tolist()
        assert values[3] == 7 and len(values) == 16
    finally:
        source[3] = 0


@pytest.mark.parametrize("pid", _paths(batch=True))
def test_every_batch_path_keeps_each_item_in_its_row(pid):
    """A batch of 4 items (or rows) of 16 float32: item 2's element 3 is row 2's element 3 of the output."""
    source = sources.make_source(catalogue.get(pid).source, inputs.Case(64, batch=4))
    if hasattr(source, "iat"):
        source.iat[2, 3] = 7  # a frame holds its own copy of the rows
    else:
        source[2][3] = 7
    try:
        call = bindings.bind(pid, source)
        out = bindings.output(pid, call, call())
        rows = [list(row) for row in (out.tolist() if hasattr(out, "tolist") else out)]
        assert len(rows) == 4 and all(len(row) == 16 for row in rows)
        assert rows[2][3] == 7 and rows[3][2] == 0
    finally:
        if not hasattr(source, "iat"):
            source[2][3] = 0


def test_a_batch_past_the_grid_or_a_path_past_its_limit_skips_with_the_reason():
    with pytest.raises(inputs.Unsupported, match="past the grid's 32 MiB"):
        bindings.prepare("batch_np_stack_out", inputs.Case(4 * inputs.MiB, batch=64))
    with pytest.raises(inputs.Unsupported, match=r"t.tolist\(\) is timed up to 1 MiB"):
        bindings.prepare("unbatch_tolist", inputs.Case(256 * inputs.KiB, batch=8))
    with pytest.raises(inputs.Unsupported, match="takes a batch"):
        bindings.prepare("batch_tensor", inputs.Case(64))
    with pytest.raises(inputs.Unsupported, match="takes one array"):
        bindings.prepare("from_numpy", inputs.Case(64, batch=4))


def test_a_destination_path_is_read_from_its_destination():
    call = bindings.prepare("np_copyto", inputs.Case(64))
    assert call() is None, "np.copyto returns nothing"
    assert bindings.output("np_copyto", call, None) is call.destination
    returned = object()
    assert bindings.output("np_copy", bindings.prepare("np_copy", inputs.Case(64)), returned) is returned


def test_result_types_follow_the_direction():
    a_case = inputs.Case(64)
    assert isinstance(bindings.prepare("from_numpy", a_case)(), torch.Tensor)
    assert isinstance(bindings.prepare("numpy", a_case)(), np.ndarray)
    assert isinstance(bindings.prepare("dlpack_to_numpy", a_case)(), np.ndarray)


def test_unknown_path_names_it():
    with pytest.raises(ValueError, match="unknown path 'nope'"):
        catalogue.get("nope")


def test_version_requirements_skip_with_the_reason():
    future = dataclasses.replace(catalogue.get("from_numpy"), min_torch="99.0")
    with pytest.raises(inputs.Unsupported, match=r"needs torch >= 99.0"):
        bindings.check_available(future)
    bindings.check_available(catalogue.get("from_numpy"))
    assert catalogue.release_tuple("2.13.0+cpu") == (2, 13, 0)
    assert catalogue.release_tuple("2.1.0a0+git123") == (2, 1, 0)
    assert catalogue.public_version("2.4.1+cu121") == "2.4.1" and catalogue.public_version("2.4.1") == "2.4.1"


def test_preallocated_references_touch_their_destination_before_timing():
    case = inputs.Case(4 * inputs.MiB)
    call = bindings.prepare("np_copyto", case)
    dst, src = call.destination, call.args[1]
    assert dst.ctypes.data != src.ctypes.data and not np.shares_memory(dst, src)
    # touched at bind time: the first copy faults no page in (an untouched 4 MiB would fault ~1024)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    call()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 64
