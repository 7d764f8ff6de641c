"""The compiled convolution's implicit and indirect GEMMs (conv.pyx) against the NumPy twin and
against the same module's im2col path, on the paths the random-shape tests of
test_kernels_conv.py do not reach with their few channels: the phase decomposition of the input
gradient and the indirect conv2d (many input channels), several KC slices, MC blocks, column
chunks and partial sums (forced with tiny GEMM blocks), several threads, and non-contiguous
inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygan._kernels import conv_numpy
from tinygan._kernels.conv_checks import check_conv2d

conv = pytest.importorskip("tinygan._kernels.conv", reason="compiled kernels not built")
gemm = pytest.importorskip("tinygan._kernels.gemm", reason="compiled kernels not built")


def tolerance(dtype):
    return {"rtol": 2e-4, "atol": 2e-4} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}


def three_kernels(module, x, w, g, stride, padding):
    kH, kW = w.shape[2:]
    return (module.conv2d(x, w, stride, padding),
            module.conv2d_grad_input(g, w, x.shape[2:], stride, padding),
            module.conv2d_grad_weight(x, g, (kH, kW), stride, padding))


class Im2col:
    conv2d = staticmethod(conv._im2col_conv2d)
    conv2d_grad_input = staticmethod(conv._im2col_conv2d_grad_input)
    conv2d_grad_weight = staticmethod(conv._im2col_conv2d_grad_weight)


def problem(rng, N, C, O, H, W, kernel, stride, padding, dtype, layout="contiguous"):
    kH, kW = kernel
    H_out = (H + 2 * padding[0] - kH) // stride[0] + 1
    W_out = (W + 2 * padding[1] - kW) // stride[1] + 1
    if layout == "strided":
        x = rng.standard_normal((N, C, H, 2 * W)).astype(dtype)[..., ::2]
        g = rng.standard_normal((N, O, H_out, 2 * W_out)).astype(dtype)[..., ::2]
    elif layout == "channels_last":
        x = rng.standard_normal((N, H, W, C)).astype(dtype).transpose(0, 3, 1, 2)
        g = rng.standard_normal((N, H_out, W_out, O)).astype(dtype).transpose(0, 3, 1, 2)
    else:
        x = rng.standard_normal((N, C, H, W)).astype(dtype)
        g = rng.standard_normal((N, O, H_out, W_out)).astype(dtype)
    w = rng.standard_normal((O, C, kH, kW)).astype(dtype)
    return x, w, g


def assert_all_match(x, w, g, stride, padding):
    dtype = x.dtype
    ours = three_kernels(conv, x, w, g, stride, padding)
    twin = three_kernels(conv_numpy, x, w, g, stride, padding)
    im2col = three_kernels(Im2col, x, w, g, stride, padding)
    for name, a, b, c in zip(("conv2d", "grad_input", "grad_weight"), ours, twin, im2col,
                             strict=True):
        assert a.dtype == dtype and a.shape == b.shape and a.flags.c_contiguous, name
        scale = max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a / scale, b / scale, **tolerance(dtype), err_msg=name)
        np.testing.assert_allclose(a / scale, c / scale, **tolerance(dtype), err_msg=name)


@pytest.fixture
def tiny_blocks():
    """KC = 16, MC = 12, NC = 128: many slices, blocks and chunks on small problems."""
    info = gemm.build_info()
    kc, mc, nc = info["blocks_kc_mc_nc"]
    _, mc64, nc64 = info["blocks_kc_mc_nc_float64"]
    gemm.set_block_sizes(16, 12, 128, 6, 64)
    yield
    gemm.set_block_sizes(kc, mc, nc, mc64, nc64)


@pytest.fixture(params=[1, 3])
def threads(request):
    before = gemm.get_num_threads()
    gemm.set_num_threads(request.param)  # 3 on a 2-core machine: the partitions still differ
    yield request.param
    gemm.set_num_threads(before)


DCGAN_LIKE = [
    # (N, C, O, H, W, kernel, stride, padding): the DCGAN layers, smaller batches
    (3, 1, 16, 28, 28, (4, 4), (2, 2), (1, 1)),
    (3, 16, 32, 14, 14, (4, 4), (2, 2), (1, 1)),
    (3, 32, 16, 14, 14, (4, 4), (2, 2), (1, 1)),   # the input gradient by phases
    (2, 13, 5, 9, 11, (4, 3), (2, 3), (1, 2)),     # odd sizes, unequal strides, 13 channels
    (2, 12, 3, 8, 9, (2, 2), (3, 3), (0, 0)),      # stride > kernel: phases without taps
    (2, 14, 4, 7, 7, (5, 5), (1, 1), (2, 2)),      # stride 1: one phase
    (1, 20, 7, 5, 6, (3, 3), (2, 1), (0, 1)),
    (2, 64, 8, 8, 8, (4, 4), (2, 2), (1, 1)),      # whole NR slivers of channels (float32):
    (1, 128, 4, 6, 6, (3, 3), (1, 1), (1, 1)),     # the weight gradient reads x's rows in place
    (1, 40, 3, 5, 5, (3, 3), (1, 1), (1, 1)),      # float64: a whole sliver and a partial one
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", DCGAN_LIKE)
def test_implicit_matches_twin_and_im2col(case, dtype, threads):
    N, C, O, H, W, kernel, stride, padding = case
    rng = np.random.default_rng(hash(case) % 2**32)
    assert_all_match(*problem(rng, N, C, O, H, W, kernel, stride, padding, dtype), stride,
                     padding)


@pytest.mark.parametrize("case", DCGAN_LIKE)
def test_implicit_with_tiny_blocks(case, tiny_blocks, threads):
    N, C, O, H, W, kernel, stride, padding = case
    rng = np.random.default_rng(7)
    assert_all_match(*problem(rng, N, C, O, H, W, kernel, stride, padding, np.float64), stride,
                     padding)


@pytest.mark.parametrize("layout", ["strided", "channels_last"])
def test_implicit_reads_non_contiguous_inputs(layout):
    rng = np.random.default_rng(3)
    x, w, g = problem(rng, 2, 16, 8, 10, 9, (4, 4), (2, 2), (1, 1), np.float32, layout)
    assert not x.flags.c_contiguous and not g.flags.c_contiguous
    assert_all_match(x, w, g, (2, 2), (1, 1))


def test_long_sums_stay_accurate():
    """grad_weight sums over N*H_out*W_out = 50176 pixels in float32: partial sums per span
    keep the error near float32 rounding, as the GEMM's pairwise split does."""
    rng = np.random.default_rng(5)
    x, w, g = problem(rng, 64, 1, 8, 28, 28, (4, 4), (1, 1), (2, 2), np.float32)
    dw = conv.conv2d_grad_weight(x, g, (4, 4), (1, 1), (2, 2))
    exact = conv_numpy.conv2d_grad_weight(x.astype(np.float64), g.astype(np.float64), (4, 4),
                                          (1, 1), (2, 2))
    scale = np.sqrt(x.shape[0] * 29 * 29)  # the size of a sum of that many unit products
    assert np.abs(dw - exact).max() / scale < 1e-5


@settings(max_examples=40, deadline=None)
@given(N=st.integers(1, 3), C=st.integers(12, 20), O=st.integers(1, 9),
       H=st.integers(4, 12), W=st.integers(4, 12), k=st.integers(1, 4), s=st.integers(1, 3),
       p=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_phases_match_twin_on_random_shapes(N, C, O, H, W, k, s, p, seed):
    """Many input channels: conv2d_grad_input takes the phase path."""
    if H + 2 * p < k or W + 2 * p < k:
        return
    assert C >= conv.PHASE_MIN_CHANNELS
    rng = np.random.default_rng(seed)
    x, w, g = problem(rng, N, C, O, H, W, (k, k), (s, s), (p, p), np.float64)
    np.testing.assert_allclose(conv.conv2d_grad_input(g, w, (H, W), (s, s), (p, p)),
                               conv_numpy.conv2d_grad_input(g, w, (H, W), (s, s), (p, p)),
                               **tolerance(np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", DCGAN_LIKE)
def test_indirect_and_implicit_conv2d_agree(case, dtype, threads):
    """conv2d and its weight gradient both ways, whatever the channel count picks: the
    indirect GEMMs (x channels-last, read through row pointers, as whole B rows in place when
    the channels are whole NR slivers, or copied by rows; several
    output-channel slivers when C_out > NR, a last tile of fewer than MR pixels) and the
    implicit GEMMs (x packed by gathers)."""
    N, C, O, H, W, kernel, stride, padding = case
    rng = np.random.default_rng(11)
    x, w, _ = problem(rng, N, C, 3 * O + 60, H, W, kernel, stride, padding, dtype)
    x, w, geometry = check_conv2d(x, w, stride, padding)
    expected = conv_numpy.conv2d(x, w, stride, padding)
    scale = max(1.0, float(np.abs(expected).max()))
    for path in (conv._indirect_conv2d, conv._implicit_conv2d):
        np.testing.assert_allclose(path(x, w, geometry) / scale, expected / scale,
                                   **tolerance(dtype), err_msg=path.__name__)
    g = np.random.default_rng(12).standard_normal(expected.shape).astype(dtype)
    expected = conv_numpy.conv2d_grad_weight(x, g, kernel, stride, padding)
    scale = max(1.0, float(np.abs(expected).max()))
    for path in (conv._indirect_conv2d_grad_weight, conv._implicit_conv2d_grad_weight):
        np.testing.assert_allclose(path(x, g, geometry) / scale, expected / scale,
                                   **tolerance(dtype), err_msg=path.__name__)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, border", [((2, 64, 14, 14), (1, 1, 1, 1)),
                                           ((3, 33, 5, 7), (2, 0, 1, 3)),
                                           ((2, 16, 17, 1), (0, 2, 0, 0)),
                                           ((1, 1, 4, 4), (0, 0, 0, 0))])
def test_channels_last_padded_is_the_transpose_with_a_zero_border(shape, border, dtype,
                                                                  threads):
    """Every pixel lands at its padded place (the blocked transpose through a table of row
    starts), and the border is zeroed whatever the array held before."""
    top, bottom, left, right = border
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    N, C, H, W = shape
    x_cl = np.full((N, top + H + bottom, left + W + right, C), np.nan, dtype)
    conv._channels_last_padded(x, x_cl, top, left)
    expected = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (top, bottom), (left, right), (0, 0)))
    np.testing.assert_array_equal(x_cl, expected)
    np.testing.assert_array_equal(conv._to_channels_last(x, *border), expected)


def test_pad_and_crop_refuse_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match="pad_planes"):
        conv._pad_planes(np.ones((1, 2, 3, 3)), np.zeros((1, 2, 4, 5)))
    with pytest.raises(ValueError, match="crop_planes"):
        conv._crop_planes(np.ones((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="channels_last_padded"):
        conv._channels_last_padded(np.ones((1, 2, 3, 3)), np.zeros((1, 4, 4, 2)), 2, 0)
