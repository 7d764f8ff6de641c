"""Lesson 12: Convolution and transposed convolution.

Image GANs are built from two layers. The discriminator D(x) reads an image like a standard
CNN: convolutions with stride 2 (or, in the classic CNN the lecture mentions, convolutions
followed by max pooling) halve the height and width at each step, 28 -> 14 -> 7, until a last
layer turns what is left into one logit. The generator G(z) runs the other way, "an inverse
convolutional network": transposed convolutions with stride 2 double the size at each step,
7 -> 14 -> 28, from a small stack of feature maps made from z to a full image.

In the lecture's notation (PyTorch's layouts), with kernel k x k, stride s and x_pad the input
with ``pad`` zero rows and columns on each side:

    conv:   y[n, o, i, j] = sum_{c, p, q} x_pad[n, c, i s + p, j s + q] w[o, c, p, q]
            H_out = (H + 2 pad - k) // s + 1
    conv_T: the adjoint (transpose) of that linear map,   H_out = (H - 1) s - 2 pad + k

This lesson shows both, then how they are computed: im2col turns the convolution into one
matrix product, the transposed convolution is that product's transpose (checked to rounding),
uneven overlap of the transposed convolution's kernels is what draws checkerboards, both layers
pass a gradient check, and the compiled kernel is timed against the NumPy twin and the naive
loops to see where its speed comes from.

Run: ``python lessons/12_convolution.py`` (``--fast`` for the short version).
"""

# %%
import time

import numpy as np

import tinygan
import tinygan.functional as F
from tinygan import kernels, nn, plot
from tinygan.lesson import Lesson

lesson = Lesson("12_convolution", "convolution down-samples D, transposed convolution "
                                  "up-samples G")
rng = np.random.default_rng(lesson.seed)


def image_28():
    """A 28 x 28 test image: a ring with a bar, a digit-sized shape that needs no data set.
    Ink is 1 and the background 0 (not MNIST's [-1, 1]), so that the zero padding looks like
    more background and draws no frame around the pictures."""
    rows, cols = np.mgrid[0:28, 0:28] - 13.5
    ring = np.exp(-((np.hypot(rows, cols) - 8.0) ** 2) / 3.0)
    bar = np.exp(-(cols - 0.3 * rows) ** 2 / 2.0) * (np.abs(rows) < 9)
    return np.clip(ring + bar, 0, 1).astype(np.float32)[None, None]


# %% [markdown]
# ## 1. The discriminator down-samples like a standard CNN
# A convolution with kernel 4, stride 2 and padding 1 maps H to (H + 2 - 4) // 2 + 1 = H / 2:
# DCGAN's D uses two of them to go 28 -> 14 -> 7. Stride 2 means "compute only every other
# output": the strided convolution is the stride-1 convolution sampled at every second row and
# column (and costs a quarter of it). The classic CNN instead convolves at stride 1 and then
# down-samples with max pooling, which keeps the largest value of each 2 x 2 window. Pooling has
# no weights to learn, and only the winner of each window gets a gradient back: exactly a
# quarter of the pixels. A strided convolution learns *how* to down-sample and passes a
# gradient to every pixel its windows cover (with kernel 4 and stride 2, all of them). DCGAN's
# first guideline is to replace pooling by strided convolutions (lesson 13 is about DCGAN's
# guidelines).
#
# To make the pictures readable, the convolution here has one fixed filter, a blur
# b = [1, 3, 3, 1] / 8 in each direction (outer product, sums to 1); a trained D has dozens of
# learned ones.

# %%
lesson.step("1. D's down-sampling: strided convolution and max pooling")
x = tinygan.tensor(image_28())
blur = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32) / 64
down = nn.Conv2d(1, 1, kernel_size=4, stride=2, padding=1, bias=False)
down.weight.data[...] = blur
pool = nn.MaxPool2d(2)
with tinygan.no_grad():
    d14, d7 = down(x), down(down(x))
    p14, p7 = pool(x), pool(pool(x))
print(f"   strided conv: {x.shape} -> {d14.shape} -> {d7.shape}")
print(f"   max pooling:  {x.shape} -> {p14.shape} -> {p7.shape}")
lesson.check_true("Conv2d(k=4, s=2, pad=1) and MaxPool2d(2) both halve H and W: 28 -> 14 -> 7",
                  d14.shape[2:] == p14.shape[2:] == (14, 14) and d7.shape[2:] == p7.shape[2:]
                  == (7, 7), detail=f"{d14.shape[2:]}, {d7.shape[2:]}",
                  why="H_out = (H + 2 pad - k) // s + 1 = (28 + 2 - 4) // 2 + 1 = 14")

w = rng.standard_normal((8, 3, 4, 4))
xr = rng.standard_normal((2, 3, 16, 16))
strided = F.conv2d(xr, w, stride=2, padding=1).data
dense = F.conv2d(xr, w, stride=1, padding=1).data
lesson.check("strided conv minus the stride-1 conv at every 2nd row and column (max abs)",
             np.abs(strided - dense[:, :, ::2, ::2]).max(), at_most=1e-12,
             why="the same sums, float64: equal up to rounding (~1e-15)")

x_grad = tinygan.tensor(rng.standard_normal((2, 3, 16, 16)), requires_grad=True)
(g_pool,) = tinygan.grad(F.max_pool2d(x_grad, 2).sum(), x_grad)
(g_conv,) = tinygan.grad(F.conv2d(x_grad, w, stride=2, padding=1).sum(), x_grad)
lesson.check("max pooling: share of input pixels that get a gradient",
             np.mean(g_pool.data != 0), expected=0.25, tol=1e-12,
             why="only each 2 x 2 window's maximum (random input: no ties) -> exactly 1 in 4")
lesson.check("strided conv (k=4, s=2): share of input pixels that get a gradient",
             np.mean(g_conv.data != 0), expected=1.0, tol=1e-12,
             why="every pixel lies in at least one window, and the weights are nonzero")

# %% [markdown]
# ## 2. The generator up-samples with transposed convolutions
# A transposed convolution with kernel 4, stride 2, padding 1 maps H to (H - 1) 2 - 2 + 4 = 2 H:
# G goes 7 -> 14 -> 28, D's path backwards, hence "an inverse convolutional network". What it
# does is easiest to see on a single pixel: each input pixel *paints* a copy of the kernel,
# scaled by its value, onto the output, the copies stride = 2 pixels apart, and overlapping
# copies add. Equivalently ("fractionally strided convolution"): insert s - 1 = 1 zero between
# the input pixels, then run an ordinary stride-1 convolution with the kernel flipped, the
# channel axes swapped and padding k - 1 - pad = 2. Below, the bilinear kernel
# [1, 3, 3, 1] / 4 (outer product) up-samples D's 7 x 7 picture back to 28 x 28: no detail
# comes back, a trained G has to *invent* it.

# %%
lesson.step("2. G's up-sampling: transposed convolution")
up = nn.ConvTranspose2d(1, 1, kernel_size=4, stride=2, padding=1, bias=False)
up.weight.data[...] = np.outer([1, 3, 3, 1], [1, 3, 3, 1]).astype(np.float32) / 16
with tinygan.no_grad():
    u14, u28 = up(d7), up(up(d7))
print(f"   transposed conv: {d7.shape} -> {u14.shape} -> {u28.shape}")
lesson.check_true("ConvTranspose2d(k=4, s=2, pad=1) doubles H and W: 7 -> 14 -> 28, D's "
                  "shapes in reverse", u14.shape[2:] == (14, 14) and u28.shape[2:] == (28, 28),
                  detail=f"{u14.shape[2:]}, {u28.shape[2:]}",
                  why="H_out = (H - 1) s - 2 pad + k = 6 * 2 - 2 + 4 = 14")

wt = rng.standard_normal((1, 1, 4, 4))
delta = np.zeros((1, 1, 5, 5))
delta[0, 0, 2, 3] = 1.0
painted = F.conv_transpose2d(delta, wt, stride=2).data[0, 0]
expected_paint = np.zeros_like(painted)
expected_paint[4:8, 6:10] = wt[0, 0]  # the kernel, at (2 s, 3 s)
lesson.check("one input pixel at (2, 3) paints the kernel at rows 4-7, columns 6-9 (max abs "
             "difference)", np.abs(painted - expected_paint).max(), at_most=0.0,
             why="each output is a sum with a single nonzero term: exact")

xt = rng.standard_normal((2, 3, 5, 5))
wt = rng.standard_normal((3, 4, 4, 4))  # (C_in, C_out, k, k): PyTorch's layout for conv_T
spread = np.zeros((2, 3, 9, 9))
spread[:, :, ::2, ::2] = xt  # one zero between neighbours
flipped = np.ascontiguousarray(wt[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))
via_zeros = F.conv2d(spread, flipped, padding=4 - 1 - 1).data
direct = F.conv_transpose2d(xt, wt, stride=2, padding=1).data
lesson.check("conv_T(x) minus conv(zeros inserted into x, flipped kernel) (max abs)",
             np.abs(direct - via_zeros).max(), at_most=1e-12,
             why="the same sums in float64; but the zero-insertion form multiplies by 3 zeros "
                 "out of 4, which is why no library computes it that way")

fig, axes = plot.new_figure(ncols=3, nrows=3, size=2.6)
gray = dict(cmap="gray", vmin=0, vmax=1)
rows = [("D, strided conv", (x, d14, d7)), ("CNN, max pooling", (x, p14, p7)),
        ("G, transposed conv", (d7, u14, u28))]
for r, (name, maps) in enumerate(rows):
    for c, m in enumerate(maps):
        h = m.shape[2]
        plot.matrix(axes[r, c], m.data[0, 0], title=f"{name}: " + (
            f"input {h} x {h}" if c == 0 else f"-> {h} x {h}"), **gray)
print("   figure:", plot.save(fig, lesson.path("down_and_up.png")))

# %% [markdown]
# ## 3. im2col: a convolution is one matrix product
# Every output pixel (n, i, j) reads one window of the input. im2col copies each window into a
# column: cols[(c, p, q), (n, i, j)] = x_pad[n, c, i s + p, j s + q], a matrix of
# C kH kW rows and N H_out W_out columns. The convolution is then ONE product,
# y = w.reshape(C_out, C kH kW) @ cols, reshaped to (N, C_out, H_out, W_out). The price is
# memory: with stride 1 a pixel is copied into every window that covers it, up to kH kW times.
# The picture: a 5 x 5 input with pixels numbered 1..25, kernel 3, stride 1; two windows and
# the columns they become are framed in the same colour.

# %%
lesson.step("3. im2col: windows become columns, the convolution one matrix product")
x5 = np.arange(1.0, 26.0).reshape(1, 1, 5, 5)
cols = kernels.im2col(x5, (3, 3))
w3 = rng.standard_normal((2, 1, 3, 3))
as_product = (w3.reshape(2, 9) @ cols).reshape(2, 1, 3, 3).transpose(1, 0, 2, 3)
lesson.check_true("im2col of a 5 x 5 image, kernel 3: shape (C kH kW, N H_out W_out)",
                  cols.shape == (9, 9), detail=str(cols.shape),
                  why="1 * 3 * 3 rows, 1 * 3 * 3 windows")
lesson.check("w.reshape(C_out, 9) @ cols minus conv2d(x, w) (max abs)",
             np.abs(as_product - F.conv2d(x5, w3).data).max(), at_most=1e-12,
             why="the same 9 products per output, summed in another order: ~1e-15")
copies = kernels.col2im(np.ones_like(cols), x5.shape, (3, 3))[0, 0]
print("   how many columns hold each pixel (col2im of ones):\n" + "\n".join(
    "      " + " ".join(f"{int(v)}" for v in row) for row in copies))
lesson.check("copies of the centre pixel in cols", copies[2, 2], expected=9, tol=0,
             why="it lies in all 3 x 3 windows: kH kW copies")

fig, axes = plot.new_figure(ncols=3, size=3.3)
plot.matrix(axes[0], x5[0, 0], numbers=True, title="x (5 x 5), two 3 x 3 windows",
            boxes=[(0, 0, 3, 3, "red"), (1, 2, 3, 3, "orange")])
plot.matrix(axes[1], cols, numbers=True, title="cols = im2col(x): one window per column",
            boxes=[(0, 0, 9, 1, "red"), (0, 5, 9, 1, "orange")])
y5 = F.conv2d(x5, w3[:1]).data[0, 0]
plot.matrix(axes[2], y5, numbers=True, fmt="{:.1f}", title="y = w (1 x 9) @ cols, as 3 x 3",
            boxes=[(0, 0, 1, 1, "red"), (1, 2, 1, 1, "orange")])
print("   figure:", plot.save(fig, lesson.path("im2col.png")))

# %% [markdown]
# ## 4. The transposed convolution is the adjoint of the convolution
# conv2d is linear in x: conv(x) = A x for a (sparse) matrix A. Its adjoint A^T is defined by
# <A x, y> = <x, A^T y> for every x and y, and conv_transpose2d with the same weight computes
# exactly A^T y. So the generator's layer is the discriminator's layer run backwards, and it is
# also what backpropagation through conv2d computes: dL/dx = A^T dL/dy. We measure both sides
# for random x, y in float64, for several kernels, strides and paddings (output_padding picks
# the input size when the stride's floor division lost rows). Then we write A out as a matrix,
# for a 2 x 2 kernel on a 4 x 4 image (column b of A is the convolution of the b-th basis
# image), do the same for conv_transpose2d, and compare: every weight appears once per row of
# A, shifted along as the window slides, and the transposed convolution's matrix is A^T.

# %%
lesson.step("4. <conv(x), y> = <x, conv_T(y)>")
worst = 0.0
for k, s, pad, size in [(3, 1, 1, 7), (3, 2, 1, 8), (4, 2, 1, 8), (5, 3, 2, 11), (4, 2, 0, 10)]:
    xa = rng.standard_normal((2, 3, size, size))
    wa = rng.standard_normal((4, 3, k, k))
    ya = rng.standard_normal(F.conv2d(xa, wa, stride=s, padding=pad).shape)
    extra = (size + 2 * pad - k) % s
    left = np.vdot(F.conv2d(xa, wa, stride=s, padding=pad).data, ya)
    right = np.vdot(xa, F.conv_transpose2d(ya, wa, stride=s, padding=pad,
                                           output_padding=extra).data)
    gap = abs(left - right) / (abs(left) + abs(right))
    worst = max(worst, gap)
    print(f"   k={k} s={s} pad={pad} {size}x{size}: <A x, y> = {left:+.12f}   "
          f"<x, A^T y> = {right:+.12f}   relative gap {gap:.1e}")
lesson.check("largest relative gap |<A x, y> - <x, A^T y>| / (|.| + |.|)", worst, at_most=1e-13,
             why="float64 sums of a few thousand products: rounding of order 1e-16 x sqrt(n)")

xb = tinygan.tensor(rng.standard_normal((2, 3, 8, 8)), requires_grad=True)
yb = rng.standard_normal((2, 4, 4, 4))
wb = rng.standard_normal((4, 3, 4, 4))
(backprop,) = tinygan.grad((F.conv2d(xb, wb, stride=2, padding=1) * yb).sum(), xb)
lesson.check("backprop's dL/dx through conv2d minus conv_transpose2d(dL/dy) (max abs)",
             np.abs(backprop.data - F.conv_transpose2d(yb, wb, stride=2, padding=1).data).max(),
             at_most=1e-12, why="L = <conv(x), y>: dL/dx = A^T y, the same kernel")

k_small = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
basis_in = np.eye(16).reshape(16, 1, 4, 4)  # every 4 x 4 basis image
basis_out = np.eye(9).reshape(9, 1, 3, 3)  # every 3 x 3 basis output
A = F.conv2d(basis_in, k_small).data.reshape(16, 9).T  # column b = A e_b: (9, 16)
B = F.conv_transpose2d(basis_out, k_small).data.reshape(9, 16).T  # (16, 9)
lesson.check("matrix of conv_transpose2d minus the transpose of the matrix of conv2d (max abs)",
             np.abs(B - A.T).max(), at_most=0.0,
             why="each entry is one weight, copied: exact")
fig, axes = plot.new_figure(ncols=2, size=4.2)
plot.matrix(axes[0], A, numbers=True,
            title="A = conv2d, kernel [[1, 2], [3, 4]], 4x4 -> 3x3\n"
                  "9 outputs (rows) x 16 input pixels")
plot.matrix(axes[1], B, numbers=True,
            title="B = conv_transpose2d, same kernel, 3x3 -> 4x4\n"
                  "16 outputs x 9 inputs: B = A^T")
print("   figure:", plot.save(fig, lesson.path("conv_as_matrix.png")))

# %% [markdown]
# ## 5. Why kernel 3 with stride 2 draws checkerboards, and kernel 4 does not
# Each input pixel paints a k x k copy of the kernel, s pixels from its neighbour's. Along one
# axis, an output pixel is covered by k / s copies when s divides k. With k = 3 and s = 2 it is
# covered alternately by 2 copies and by 1: **uneven overlap** (Odena, Dumoulin & Olah 2016).
# Feed the layer a constant image and constant weights (all ones): the output counts the copies
# over each pixel, 1 x 1, 1 x 2 or 2 x 2, a checkerboard with max/min = 4, while with k = 4 every
# interior pixel gets 2 x 2 = 4 copies and the output is flat. A generator stacks such layers:
# two k = 3 layers give counts 1 to 3 per axis, max/min = 9. Learned weights are not all equal,
# and a network can learn to cancel the pattern, but with k = 3 it must spend its weights on
# that; with k = 4 even weights are already flat. That is why DCGAN uses k = 4 with stride 2.
# We look at the interior, away from the border where the padding cuts copies off.

# %%
lesson.step("5. Checkerboards: a constant image through stride-2 transposed convolutions")
ones = np.ones((1, 1, 6, 6))
board = {}
for k in (3, 4):
    extra = 1 if k == 3 else 0  # output_padding so that both give 12 x 12
    layer = nn.ConvTranspose2d(1, 1, k, stride=2, padding=1, output_padding=extra, bias=False,
                               dtype=np.float64)
    layer.weight.data[...] = 1.0
    with tinygan.no_grad():
        once = layer(ones).data[0, 0]
        twice = layer(layer(ones)).data[0, 0]
    board[k] = once
    inner, inner2 = once[2:-2, 2:-2], twice[4:-4, 4:-4]
    print(f"   k={k}: output {once.shape}, interior values {sorted(set(inner.ravel().tolist()))}, "
          f"max/min {inner.max() / inner.min():.3g}, std/mean {inner.std() / inner.mean():.3g};"
          f" two layers: max/min {inner2.max() / inner2.min():.3g}")
    expected_ratio = 4.0 if k == 3 else 1.0
    lesson.check(f"k={k}, s=2 on a constant image: interior max/min", inner.max() / inner.min(),
                 expected=expected_ratio, tol=1e-12,
                 why="copies per pixel: 1 or 2 per axis for k=3 (so 1, 2, 4), 2 per axis for k=4"
                 if k == 3 else "k/s = 2 copies per axis everywhere in the interior: flat")
    lesson.check(f"k={k}, s=2, two layers stacked: interior max/min", inner2.max() / inner2.min(),
                 expected=9.0 if k == 3 else 1.0, tol=1e-12,
                 why="per axis the second layer sums 1 or 2 neighbours of 1, 2, 1, 2...: 1 to 3"
                 if k == 3 else "a flat image stays flat")
fig, axes = plot.new_figure(ncols=2, size=3.8)
for ax, k in zip(axes, (3, 4)):
    plot.matrix(ax, board[k], numbers=True, vmin=0, vmax=4, cmap="magma",
                title=f"conv_T of ones, k={k}, s=2\n(6x6 -> 12x12, weights all 1)")
print("   figure:", plot.save(fig, lesson.path("checkerboard.png")))

# %% [markdown]
# ## 6. Gradient-check both layers (and the pooling)
# Each layer is an op whose backward was written by hand (tinygan/functional/conv.py: three
# kernels that are each other's derivatives). `tinygan.gradcheck` compares its backward with
# central differences, in float64, for the input and for the weights and bias at once. Shapes
# are small because every entry is perturbed twice.

# %%
lesson.step("6. gradcheck: Conv2d, ConvTranspose2d, MaxPool2d (float64)")
layers = [
    ("Conv2d(2, 3, k=4, s=2, pad=1)", nn.Conv2d(2, 3, 4, stride=2, padding=1, dtype=np.float64),
     (2, 2, 6, 6)),
    ("ConvTranspose2d(3, 2, k=4, s=2, pad=1)",
     nn.ConvTranspose2d(3, 2, 4, stride=2, padding=1, dtype=np.float64), (2, 3, 3, 3)),
    ("ConvTranspose2d(3, 2, k=3, s=2, pad=1, output_padding=1)",
     nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, dtype=np.float64),
     (2, 3, 3, 3)),
    ("MaxPool2d(2)", nn.MaxPool2d(2), (2, 2, 6, 6)),
]
for name, layer, shape in layers:
    x_check = tinygan.tensor(rng.standard_normal(shape), requires_grad=True)
    y_weights = rng.standard_normal(layer(x_check).shape)  # a random L = <layer(x), y>
    result = tinygan.gradcheck(lambda xx, layer=layer, yw=y_weights: (layer(xx) * yw).sum(),
                               [x_check], params=list(layer.parameters()),
                               raise_exception=False)
    lesson.check_true(f"gradcheck of {name}: input" + (", weight, bias" if list(
                      layer.parameters()) else ""), result.passed,
                      detail=f"{result.checked} entries, max abs error {result.max_abs_error:.1e}",
                      why="float64, eps = 1e-6: a correct backward agrees to ~1e-9")

# %% [markdown]
# ## 7. Where the speed comes from: naive loops, the NumPy twin, the compiled kernel
# Every kernel exists three times (`tinygan/kernels.py`): the **naive** rung is the formula as
# Python loops, one multiply-add per interpreted statement; the **NumPy twin** writes the same
# sum as one `einsum` over sliding windows; the **compiled** kernel (Cython) does all the
# arithmetic as one GEMM over the windows (section 3), a matrix product blocked for the caches
# and vectorised with SIMD. `tinygan.kernels.using(rung)` switches the whole library.
#
# We time D's second layer (C 64 -> 128, 14 -> 7, kernel 4, stride 2) and G's matching
# transposed layer at batch 32 (in --fast mode 32 -> 64 channels at batch 8), in float32, in
# multiply-adds per second (MAC/s); the naive rung only on a much smaller layer (its rate per
# MAC hardly depends on the shape). Contenders are interleaved and we keep medians, because the
# machine is shared. The compiled kernels run on
# one thread here (`kernels.set_num_threads(1)`), so the comparison is per core; NumPy's BLAS
# chooses its own threads, and on a busy machine its times can jump by 10x or more, so the
# twin's times are shown but not checked (and timed after the compiled kernel's, not
# interleaved with them: BLAS threads keep spinning for a moment after each call).
#
# To see where the time goes, we also run the two steps of section 3 on their own:
# `kernels.im2col` (a copy: no arithmetic at all) and `kernels.gemm` of the weight matrix with
# the columns (ALL the arithmetic). The speed comes from three places:
#
# - leaving the interpreter: the naive rung pays for a few bytecodes per multiply-add, about a
#   microsecond; the other two rungs run the loops in C (a factor of thousands);
# - putting every multiply-add of the layer, for the whole batch, into one large GEMM, so it
#   runs at the speed of the best-tuned kernel there is;
# - that GEMM keeping its operands in the caches and registers and using SIMD instructions.
#
# What is left is the copy: on a large layer im2col costs a good fraction of the GEMM, because
# it writes kH kW = 16 copies of each window's pixels to memory. Fast libraries avoid writing
# `cols` at all and read the windows straight from x inside the GEMM ("implicit GEMM"); the
# arithmetic is the same product. Threads then multiply the speed by the number of *free*
# cores: on a machine busy with other jobs, a second thread that waits for a core can make a
# call slower, not faster (the thread-count line below shows what happened on this run).

# %%
lesson.step("7. Timing the three rungs")
previous_threads = kernels.get_num_threads()
kernels.set_num_threads(1)
repeats = 5 if lesson.fast else 9
if lesson.fast:
    small, big = (2, 8, 16, 8), (8, 32, 64, 14)  # (N, C_in, C_out, H)
else:
    small, big = (2, 16, 32, 14), (32, 64, 128, 14)


def layer_arrays(n, c_in, c_out, h):
    xx = rng.standard_normal((n, c_in, h, h)).astype(np.float32)
    ww = (rng.standard_normal((c_out, c_in, 4, 4)) / np.sqrt(16 * c_in)).astype(np.float32)
    gg = rng.standard_normal((n, c_out, h // 2, h // 2)).astype(np.float32)
    return xx, ww, gg, n * c_out * (h // 2) ** 2 * c_in * 16  # MACs of the layer


def median_seconds(contenders, repeats):
    """Median wall time of each (name, rung, function), interleaved run by run."""
    times = {name: [] for name, _, _ in contenders}
    for _ in range(repeats):
        for name, rung, fn in contenders:
            with kernels.using(rung):
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


STRIDE, PAD = (2, 2), (1, 1)
xs, ws, gs, macs_small = layer_arrays(*small)
outputs = {}
for rung in kernels.available():
    with kernels.using(rung):
        outputs[rung] = kernels.conv2d(xs, ws, STRIDE, PAD)
reference = outputs[kernels.available()[-1]]
spread_rungs = max(np.abs(y - reference).max() for y in outputs.values()) / np.abs(reference).max()
lesson.check("the rungs agree on the small layer: max |y_rung - y_compiled| / max |y|",
             spread_rungs, at_most=1e-5,
             why="the same sums in float32, in different orders: rounding of ~1e-7 per term")

small_times = median_seconds(
    [(rung, rung, lambda: kernels.conv2d(xs, ws, STRIDE, PAD)) for rung in kernels.available()],
    3)
print(f"   small layer {small} ({macs_small / 1e6:.2f} M MACs): " + ", ".join(
    f"{rung} {t * 1e3:.3g} ms" for rung, t in small_times.items()))

xg, wg, gg, macs_big = layer_arrays(*big)
wm = wg.reshape(wg.shape[0], -1)
cols_big = kernels.im2col(xg, (4, 4), STRIDE, PAD)
in_hw = xg.shape[2:]
big_times = {}
for rung in reversed([r for r in kernels.available() if r != "naive"]):
    # one rung at a time: NumPy's BLAS threads keep spinning for a while after each call, and
    # would slow down whatever runs right after them
    big_times.update(median_seconds([
        (f"conv2d, {rung}", rung, lambda: kernels.conv2d(xg, wg, STRIDE, PAD)),
        (f"conv_transpose2d, {rung}", rung,
         lambda: kernels.conv2d_grad_input(gg, wg, in_hw, STRIDE, PAD)),
        (f"im2col alone, {rung}", rung, lambda: kernels.im2col(xg, (4, 4), STRIDE, PAD)),
        (f"GEMM alone, {rung}", rung, lambda: kernels.gemm(wm, cols_big)),
    ], repeats))
print(f"   DCGAN layer {big} ({macs_big / 1e6:.0f} M MACs), medians of {repeats}:")
for name, t in big_times.items():
    rate = "" if name.startswith("im2col") else f"  {macs_big / t / 1e9:6.2f} GMAC/s"
    print(f"      {name:28s} {t * 1e3:9.3f} ms{rate}")
naive_rate = macs_small / small_times["naive"]
lesson.show("naive rung's rate (MAC/s)", naive_rate)

h_out = big[3] // 2
explicit = kernels.gemm(wm, cols_big).reshape(big[2], big[0], h_out, h_out).transpose(1, 0, 2, 3)
direct_big = kernels.conv2d(xg, wg, STRIDE, PAD)
lesson.check("kernels.gemm(w, kernels.im2col(x)) minus kernels.conv2d(x, w) on the DCGAN layer "
             "(max abs / max |y|)", np.abs(explicit - direct_big).max() / np.abs(direct_big).max(),
             at_most=1e-5, why="the compiled convolution's arithmetic is that product: float32 "
                               "rounding only")

if "compiled" in kernels.available():
    speedup = small_times["naive"] / small_times["compiled"]
    lesson.check("compiled conv2d / naive loops, speed-up on the small layer", speedup,
                 at_least=30,
                 why="typically hundreds to thousands of times; 30 leaves room for a busy "
                     "machine and for the fixed cost of a call on a tiny layer")
    conv_vs_gemm = big_times["conv2d, compiled"] / big_times["GEMM alone, compiled"]
    lesson.check("compiled conv2d time / the time of its GEMM alone (DCGAN layer)", conv_vs_gemm,
                 at_most=8.0,
                 why="the GEMM holds all the arithmetic; copying the windows, reshaping and the "
                     "call's checks cost about as much again (1.5 to 3.2 measured on 2 busy "
                     "cores; 8 leaves room for the noise): the convolution runs at about the "
                     "speed of a matrix product, thousands of times the naive loops'")
    kernels.set_num_threads(previous_threads)
    if previous_threads > 1:
        by_threads = {1: [], previous_threads: []}
        for _ in range(repeats):
            for n in by_threads:
                kernels.set_num_threads(n)
                start = time.perf_counter()
                kernels.conv2d(xg, wg, STRIDE, PAD)
                by_threads[n].append(time.perf_counter() - start)
        print("   compiled conv2d on the DCGAN layer by thread count (shown, not checked: on a "
              "shared machine the other jobs decide): " + ", ".join(
                  f"{n} thread(s) {np.median(t) * 1e3:.3g} ms" for n, t in by_threads.items()))
kernels.set_num_threads(previous_threads)

bars = [("naive loops (small layer)", naive_rate)] + [
    (name, macs_big / t) for name, t in big_times.items() if not name.startswith("im2col")]


def draw_rates(ax):
    names = [name for name, _ in bars]
    rates = [rate for _, rate in bars]
    colours = [plot.FAKE_COLOR if "naive" in n else plot.D_COLOR if "numpy" in n
               else plot.REAL_COLOR for n in names]
    ax.barh(range(len(bars)), rates, color=colours)
    ax.set_xscale("log")
    ax.set_yticks(range(len(bars)))
    ax.set_yticklabels(names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("multiply-adds per second (log scale)")
    for i, rate in enumerate(rates):
        ax.text(rate, i, f" {rate / 1e9:.3g} G", va="center", fontsize=7)


lesson.figure("speed.png", draw_rates, size=5.5,
              title="one conv layer per rung (1 compiled thread)")

failed = lesson.summary()  # the table of claims above, also written to claims.json
if failed:  # a claim did not hold: the lesson fails (exit code 1) and says which
    raise SystemExit(f"{lesson.name}: these claims did not hold: {'; '.join(failed)}")
