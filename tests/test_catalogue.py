import numpy as np
import pytest
import torch

from bridge_bench import inputs, paths


def test_ids_are_unique_and_the_design_names_are_present():
    assert len(paths.PATH_IDS) == len(set(paths.PATH_IDS))
    for pid in ("from_numpy", "as_tensor", "asarray", "tensor", "Tensor_legacy", "dlpack_to_torch",
                "numpy", "numpy_force", "np_asarray", "np_array", "numpy_copy", "dlpack_to_numpy",
                "np_copy", "np_copyto", "clone", "copy_"):
        assert pid in paths.BY_ID


def test_every_record_is_consistent():
    for p in paths.CATALOGUE:
        assert p.direction in paths.DIRECTIONS
        assert p.source in inputs.SIDES
        assert p.label and "(" in p.label
    assert paths.ids(paths.NUMPY_TO_TORCH) == ["from_numpy", "as_tensor", "asarray", "tensor",
                                               "Tensor_legacy", "dlpack_to_torch"]
    assert set(paths.ids(shares=False)) >= {"tensor", "np_array", "numpy_copy", "np_copy", "clone"}


@pytest.mark.parametrize("pid", [pytest.param(p.id, marks=pytest.mark.cuda) if p.cuda else p.id
                                 for p in paths.CATALOGUE])
def test_every_path_converts_float32_and_keeps_the_values(pid):
    case = inputs.Case(64)
    source = inputs.make_source(paths.get(pid).source, case)
    source[3] = 7
    try:
        call = paths.get(pid).bind(source)
        out = call()
        if out is None:  # np.copyto writes into its preallocated destination
            out = call.args[0]
        values = out.tolist()
        assert values[3] == 7 and len(values) == 16
    finally:
        source[3] = 0


def test_result_types_follow_the_direction():
    a_case = inputs.Case(64)
    assert isinstance(paths.prepare("from_numpy", a_case)(), torch.Tensor)
    assert isinstance(paths.prepare("numpy", a_case)(), np.ndarray)
    assert isinstance(paths.prepare("dlpack_to_numpy", a_case)(), np.ndarray)


def test_unknown_path_names_it():
    with pytest.raises(ValueError, match="unknown path 'nope'"):
        paths.get("nope")


def test_version_requirements_skip_with_the_reason():
    old = paths.Path("future", paths.NUMPY_TO_TORCH, "torch.future(a)", "numpy", lambda a: a.copy,
                     shares=False, min_torch="99.0")
    with pytest.raises(inputs.Unsupported, match=r"needs torch >= 99.0"):
        old.check_available()
    assert paths._version("2.13.0+cpu") == (2, 13, 0)
    assert paths._version("2.1.0a0+git123") == (2, 1, 0)


def test_preallocated_references_touch_their_destination_before_timing():
    call = paths.prepare("np_copyto", inputs.Case(4 * inputs.MiB))
    dst = call.args[0]
    assert dst.ctypes.data != call.args[1].ctypes.data and not np.shares_memory(dst, call.args[1])
