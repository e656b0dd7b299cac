import numpy as np
import pytest
import torch

from bridge_bench import inputs
from bridge_bench.measure import sources


def test_sizes_are_geometric_from_one_element_to_256_mib():
    assert inputs.SIZES[0] == 8 and inputs.SIZES[-1] == 256 * inputs.MiB
    ratios = {b / a for a, b in zip(inputs.SIZES, inputs.SIZES[1:])}
    assert ratios == {2}
    assert set(inputs.SWEEP_SIZES) <= set(inputs.SIZES)


@pytest.mark.parametrize("dtype", inputs.NUMPY_DTYPES)
@pytest.mark.parametrize("layout", inputs.LAYOUTS)
def test_numpy_sources_have_the_size_dtype_and_layout_asked_for(dtype, layout):
    case = inputs.Case(1024, dtype, layout)
    if layout == "byteswapped" and np.dtype(dtype).itemsize == 1:
        with pytest.raises(inputs.Unsupported, match="no byte order"):
            sources.make_array(case)
        return
    a = sources.make_array(case)
    assert a.nbytes == 1024
    assert a.dtype.kind == np.dtype(dtype).kind and a.dtype.itemsize == np.dtype(dtype).itemsize
    expect = {
        "C": lambda: a.flags.c_contiguous and a.ndim == 1,
        "F": lambda: a.flags.f_contiguous and not a.flags.c_contiguous and a.ndim == 2,
        "strided": lambda: a.strides == (2 * a.itemsize,),
        "negative": lambda: a.strides == (-a.itemsize,),
        "transposed": lambda: a.ndim == 2 and a.T.flags.c_contiguous and not a.flags.c_contiguous,
        "readonly": lambda: not a.flags.writeable and a.flags.c_contiguous,
        "byteswapped": lambda: not a.dtype.isnative,
    }[layout]
    assert expect()
    assert not a.any(), "sources are zero-filled: a valid value for every dtype"


@pytest.mark.parametrize("layout", ["C", "F", "strided", "transposed"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "complex128", "bool", "uint16"])
def test_torch_sources(dtype, layout):
    t = sources.make_tensor(inputs.Case(4096, dtype, layout))
    assert t.dtype == getattr(torch, dtype)
    assert t.numel() * t.element_size() == 4096
    assert t.is_contiguous() == (layout == "C")
    if layout == "strided":
        assert t.stride() == (2,)


@pytest.mark.parametrize("layout,reason", [("negative", "negative strides"), ("readonly", "read-only"),
                                           ("byteswapped", "byte order")])
def test_layouts_torch_cannot_have_are_unsupported_with_a_reason(layout, reason):
    with pytest.raises(inputs.Unsupported, match=reason):
        sources.make_tensor(inputs.Case(64, "float32", layout))


def test_bfloat16_is_torch_only_and_tiny_sizes_are_refused():
    with pytest.raises(inputs.Unsupported, match="numpy has no bfloat16"):
        sources.make_array(inputs.Case(64, "bfloat16"))
    with pytest.raises(inputs.Unsupported, match="whole number of complex128"):
        sources.make_array(inputs.Case(8, "complex128"))


def test_sources_are_views_of_one_page_aligned_buffer():
    a = sources.make_array(inputs.Case(8 * inputs.MiB))
    b = sources.make_array(inputs.Case(64, "int16", "F"))
    assert np.shares_memory(a, b)
    assert a.ctypes.data % 4096 == 0


def test_2d_shapes_are_not_square_for_odd_powers_of_two():
    assert inputs.shape_2d(32) == (4, 8)
    assert inputs.shape_2d(2) == (1, 2)
    assert inputs.shape_2d(1) == (1, 1)
    assert inputs.shape_2d(12) == (2, 6)


@pytest.mark.parametrize("text,value", [("8", 8), ("64KiB", 65536), ("256MiB", 268435456), ("1 GiB", 2**30)])
def test_parse_size(text, value):
    assert inputs.parse_size(text) == value


@pytest.mark.parametrize("bad", ["0", "-8", "12XB", "", "1.5MiB"])
def test_parse_size_names_bad_input(bad):
    with pytest.raises(ValueError, match="invalid size"):
        inputs.parse_size(bad)


def test_case_validates_its_fields():
    with pytest.raises(ValueError, match="unknown dtype 'float128'"):
        inputs.Case(64, "float128")
    with pytest.raises(ValueError, match="unknown layout 'diagonal'"):
        inputs.Case(64, "float32", "diagonal")
    with pytest.raises(ValueError, match="invalid size"):
        inputs.Case(0)
