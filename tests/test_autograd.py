"""How backpropagation behaves: accumulation, shared nodes, deep graphs, no_grad, detach,
``tinygan.grad`` (with and without ``create_graph``), higher derivatives, and a WGAN-GP penalty.
"""

import numpy as np
import pytest

import tinygan as tg


def f64(values, requires_grad=True):
    return tg.tensor(np.asarray(values, np.float64), requires_grad=requires_grad)


# --------------------------------------------------------------------------- shared nodes


def test_tensor_used_twice_in_one_op_gets_both_contributions():
    """d(x*x)/dx = 2x: the two uses of x each contribute x."""
    x = f64([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, -4.0, 6.0])


def test_tensor_used_in_two_branches_gets_the_summed_gradient():
    """y = exp(x) + 3x: gradient exp(x) from one branch plus 3 from the other."""
    x = f64([0.0, 1.0])
    a = x.exp()
    b = x * 3.0
    (a + b).sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([0.0, 1.0]) + 3.0)


def test_diamond_graph_intermediate_used_twice():
    """h = 2x used by two branches that meet again: dL/dx = 2 (h' of both branches)."""
    x = f64([0.5, 1.5])
    h = x * 2.0
    y = (h * h + h.tanh()).sum()
    y.backward()
    h_values = 2 * np.array([0.5, 1.5])
    np.testing.assert_allclose(x.grad, 2 * (2 * h_values + 1 - np.tanh(h_values) ** 2))
    np.testing.assert_allclose(h.grad, 2 * h_values + 1 - np.tanh(h_values) ** 2)


# ------------------------------------------------------------------- accumulation and reset


def test_backward_twice_accumulates_into_leaf_grad_and_zero_grad_clears_it():
    x = f64([1.0, 2.0])
    loss = (x * x).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])
    loss.backward()  # the graph is kept, so it can run again; gradients add up
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    x.zero_grad()
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])


def test_leaf_grad_is_a_private_writable_copy():
    """Optimizers update .grad in place; it must not alias the user's gradient or a read-only
    broadcast view."""
    x = f64(np.zeros((2, 3)))
    seed = np.ones((2, 3))
    (x + 0.0).backward(seed)
    assert not np.shares_memory(x.grad, seed)
    x.grad *= 2  # would raise on a read-only view
    np.testing.assert_allclose(seed, 1.0)

    y = f64(np.zeros((2, 3)))
    y.sum().backward()  # sum's backward broadcasts the scalar gradient: a read-only view
    y.grad += 1.0
    np.testing.assert_allclose(y.grad, 2.0)


def test_summed_gradients_are_owned_by_the_pass_and_never_alias_a_shared_one():
    """A leaf used several times gets the sum of its uses' gradients. The pass adds them into a
    sum it made itself (in place after the first), and hands that sum to .grad without a copy;
    a gradient that a backward function gave to two parents at once (add's g for both) must
    never be written into, nor end up shared between two .grad arrays."""
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    shared = a + b  # add's backward hands the same array to a and to b
    loss = shared.sum() + (a * 3.0).sum() + (a * 5.0).sum() + (a * a).sum()
    loss.backward()
    np.testing.assert_allclose(a.grad, 1 + 3 + 5 + 2 * np.array([1.0, 2.0]))
    np.testing.assert_allclose(b.grad, [1.0, 1.0])
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 0  # each .grad is its own writable array
    np.testing.assert_allclose(b.grad, [1.0, 1.0])
    np.testing.assert_allclose(shared.grad, [1.0, 1.0])

    c = f64([1.0, 2.0])
    both = c + c  # one op, both parents c: the same array twice, summed into a new one
    both.sum().backward()
    np.testing.assert_allclose(c.grad, [2.0, 2.0])
    np.testing.assert_allclose(both.grad, [1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_0d_leaf_used_twice_gets_a_writable_array_as_grad(dtype):
    """A 0-d leaf's gradients come back from NumPy as scalars (np.float64), and two of them add
    up to another scalar: the sum must not be kept as .grad as it is, nor after a second
    backward(); .grad is a writable 0-d array of the leaf's dtype, as for any other leaf."""
    a = tg.tensor(np.array(2.0, dtype), requires_grad=True)
    loss = a * 3.0 + a * 5.0
    loss.backward()
    assert type(a.grad) is np.ndarray and a.grad.dtype == dtype and a.grad.shape == ()
    assert a.grad == 8.0
    loss.backward()  # accumulates: still an array
    assert type(a.grad) is np.ndarray and a.grad == 16.0
    a.grad[...] = 0  # writable (optimizers and zero_grad-like code write .grad in place)
    assert a.grad == 0.0


def test_fresh_gradients_of_linear_are_kept_without_a_copy_and_still_add_up():
    """linear is recorded with fresh_grads: its weight gradient (a new GEMM result) becomes
    W.grad as it is. Used twice, the second use's gradient is added into the first's array;
    a second backward() adds into a new array; x's gradient stays its own."""
    import tinygan.functional as F

    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = tg.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    y = F.linear(x, w)
    loss = (y * y).sum() + F.linear(x * 2.0, w).sum()
    loss.backward()
    g1 = 2 * (x.data @ w.data.T)  # dL/dy of the first use
    expected_w = g1.T @ x.data + np.ones((5, 4)).T @ (2 * x.data)
    expected_x = g1 @ w.data + 2 * (np.ones((5, 4)) @ w.data)
    np.testing.assert_allclose(w.grad, expected_w)
    np.testing.assert_allclose(x.grad, expected_x)
    assert w.grad.flags.writeable and not np.shares_memory(w.grad, x.grad)
    first = w.grad
    loss.backward()  # accumulates: a new array, the first .grad is not written into
    np.testing.assert_allclose(w.grad, 2 * expected_w)
    np.testing.assert_allclose(first, expected_w)


def test_intermediate_tensors_receive_grad_too():
    x = f64([1.0, 2.0])
    h = x * 3.0
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(x.grad, 3 * 2 * h.data)


# ---------------------------------------------------------------------- backward's contract


def test_backward_on_a_non_scalar_without_gradient_names_the_shape():
    y = f64(np.ones((2, 3))) * 2.0
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_on_a_non_scalar_with_an_explicit_gradient():
    x = f64(np.arange(6.0).reshape(2, 3))
    y = x * x
    v = np.arange(6.0).reshape(2, 3) + 1
    y.backward(v)
    np.testing.assert_allclose(x.grad, 2 * x.data * v)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_on_a_one_element_non_scalar_uses_1():
    x = f64([[2.0]])
    (x * x).backward()
    np.testing.assert_allclose(x.grad, [[4.0]])


@pytest.mark.parametrize("make", [
    lambda: tg.tensor([1.0, 2.0]).sum(),                 # no input requires grad
    lambda: tg.tensor(3.0),                              # a constant leaf
    lambda: tg.tensor([1.0], requires_grad=True).detach().sum(),
])
def test_backward_on_a_tensor_that_does_not_require_grad_raises(make):
    with pytest.raises(RuntimeError, match="does not require grad"):
        make().backward()


def test_backward_on_a_leaf_gives_ones():
    x = f64(2.0)
    x.backward()
    assert x.grad == 1.0


# -------------------------------------------------------------------------------- deep graphs


def test_deep_chain_of_10000_multiplications():
    """No recursion anywhere: y = x * 1.0001 + 0 repeated 10,000 times; dy/dx = 1.0001^10000."""
    x = f64(1.0)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    np.testing.assert_allclose(y.data, 1.0001**10_000, rtol=1e-9)
    np.testing.assert_allclose(x.grad, 1.0001**10_000, rtol=1e-9)


def test_deep_chain_of_10000_additions_of_the_same_leaf():
    """y = x + x + ... (10,001 uses of x): dy/dx = 10,001; also through tinygan.grad."""
    x = f64([1.0, 2.0])
    y = x
    for _ in range(10_000):
        y = y + x
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [10_001.0, 10_001.0])
    (g,) = tg.grad(y.sum(), x)
    np.testing.assert_allclose(g.data, [10_001.0, 10_001.0])


def test_deep_chain_with_create_graph():
    """y = x + 2000 * 0.001 x^2 built in 2,000 steps: dy/dx = 1 + 4x, d2y/dx2 = 4."""
    x = f64(0.5)
    y = x
    for _ in range(2_000):
        y = y * 1.0 + x * x * 0.001
    (g,) = tg.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g.data, 1.0 + 4 * 0.5)
    (gg,) = tg.grad(g, x)
    np.testing.assert_allclose(gg.data, 4.0)


# -------------------------------------------------------------------- no_grad and detach


def test_no_grad_builds_no_graph():
    x = f64([1.0, 2.0])
    with tg.no_grad():
        y = (x * 2.0).exp().sum()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert y.requires_grad is False
    assert y._parents == () and y._backward is None and y.is_leaf
    np.testing.assert_allclose(y.data, np.exp([2.0, 4.0]).sum())


def test_no_grad_as_a_decorator():
    x = f64([1.0, 2.0])

    @tg.no_grad()
    def evaluate(t):
        """Doc kept."""
        assert not tg.is_grad_enabled()
        return t * 2.0

    y = evaluate(x)
    assert y.requires_grad is False and y._parents == ()
    assert tg.is_grad_enabled()
    assert evaluate.__name__ == "evaluate" and evaluate.__doc__ == "Doc kept."


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError), tg.no_grad():
        raise KeyError
    assert tg.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = f64([1.0, 2.0])
    with tg.no_grad():
        with tg.enable_grad():
            y = (x * x).sum()
        z = x * x
    assert y.requires_grad and not z.requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])

    @tg.enable_grad()
    def with_graph(t):
        return t * 3.0

    with tg.no_grad():
        assert with_graph(x).requires_grad


def test_detach_stops_gradients():
    x = f64([1.0, 2.0])
    d = x.detach()
    assert d.requires_grad is False and d.is_leaf
    assert np.shares_memory(d.data, x.data)
    (x * d).sum().backward()  # d is a constant: dL/dx = d, not 2x
    np.testing.assert_allclose(x.grad, [1.0, 2.0])
    assert d.grad is None


# --------------------------------------------------------------------------- tinygan.grad


def test_grad_returns_tensors_and_leaves_dot_grad_untouched():
    x, w = f64([1.0, 2.0]), f64([3.0, -1.0])
    y = (x * w).sum()
    gx, gw = tg.grad(y, [x, w])
    assert isinstance(gx, tg.Tensor) and isinstance(gw, tg.Tensor)
    np.testing.assert_allclose(gx.data, w.data)
    np.testing.assert_allclose(gw.data, x.data)
    assert x.grad is None and w.grad is None and y.grad is None
    assert not gx.requires_grad  # without create_graph: plain numbers


def test_grad_with_a_single_input_returns_a_one_tuple():
    x = f64(3.0)
    result = tg.grad(x * x, x)
    assert isinstance(result, tuple) and len(result) == 1
    assert result[0].item() == 6.0


def test_grad_with_create_graph_can_be_differentiated_again():
    """d/dx x^3 = 3x^2 = 12 at 2, and d/dx of that = 6x = 12."""
    x = f64(2.0)
    (dy,) = tg.grad(x**3, x, create_graph=True)
    assert dy.requires_grad
    assert dy.item() == pytest.approx(12.0)
    (d2y,) = tg.grad(dy, x)
    assert d2y.item() == pytest.approx(12.0)
    assert x.grad is None


def test_third_derivative_of_x_to_the_4th():
    """x^4 -> 4x^3 -> 12x^2 -> 24x; at x = 1.5: 13.5, 27, 36."""
    x = f64(1.5)
    (d1,) = tg.grad(x**4, x, create_graph=True)
    (d2,) = tg.grad(d1, x, create_graph=True)
    (d3,) = tg.grad(d2, x, create_graph=True)
    assert d1.item() == pytest.approx(4 * 1.5**3)
    assert d2.item() == pytest.approx(12 * 1.5**2)
    assert d3.item() == pytest.approx(24 * 1.5)
    d3.backward()  # and a fourth: d/dx 24x = 24, delivered to x.grad
    assert x.grad == pytest.approx(24.0)


def test_grad_allow_unused_gives_none_and_otherwise_raises():
    x, unused = f64([1.0]), f64([5.0])
    y = (x * 2.0).sum()
    gx, gu = tg.grad(y, [x, unused], allow_unused=True)
    np.testing.assert_allclose(gx.data, [2.0])
    assert gu is None
    with pytest.raises(ValueError, match=r"input 1 .*not used.*allow_unused"):
        tg.grad(y, [x, unused])


def test_grad_of_an_input_that_does_not_require_grad_raises():
    x, c = f64([1.0]), f64([1.0], requires_grad=False)
    with pytest.raises(ValueError, match="input 1.*does not require grad"):
        tg.grad((x * c).sum(), [x, c])


def test_grad_outputs_for_a_non_scalar_output():
    """grad(y, x, v) is the vector-Jacobian product v^T dy/dx."""
    x = f64([1.0, 2.0, 3.0])
    y = x * x
    v = np.array([1.0, 10.0, 100.0])
    (g,) = tg.grad(y, x, grad_outputs=v)
    np.testing.assert_allclose(g.data, 2 * x.data * v)
    (g,) = tg.grad(y, x, grad_outputs=tg.tensor(v))
    np.testing.assert_allclose(g.data, 2 * x.data * v)
    with pytest.raises(ValueError, match=r"not a scalar.*grad_outputs"):
        tg.grad(y, x)
    with pytest.raises(ValueError, match=r"grad_output shape \(2,\) differs from output \(3,\)"):
        tg.grad(y, x, grad_outputs=np.ones(2))


def test_grad_of_several_outputs_sums_their_vector_jacobian_products():
    x = f64([1.0, 2.0])
    y1, y2 = (x * x).sum(), (x * 3.0).sum()
    (g,) = tg.grad([y1, y2], x)
    np.testing.assert_allclose(g.data, 2 * x.data + 3.0)


# ----------------------------------------------------------------------------------- WGAN-GP


def _critic(x, w1, b1, w2):
    """A small critic D(x) = tanh(x W1^T + b1) W2^T, one score per row of x."""
    return ((x @ w1.T + b1).tanh() @ w2.T).reshape(-1)


def _gradient_penalty(x, w1, b1, w2):
    """WGAN-GP: mean over the batch of (||d D(x_i) / d x_i|| - 1)^2.

    gradcheck evaluates the function under no_grad() for its central differences; the penalty
    needs a graph to differentiate D, hence enable_grad() (gradgradcheck does the same).
    """
    with tg.enable_grad():
        (g,) = tg.grad(_critic(x, w1, b1, w2).sum(), x, create_graph=True)
        return ((((g**2).sum(axis=1)).sqrt() - 1) ** 2).mean()


def _gp_inputs():
    rng = np.random.default_rng(7)
    x = f64(rng.standard_normal((4, 3)))
    w1 = f64(rng.standard_normal((5, 3)))
    b1 = f64(rng.standard_normal(5))
    w2 = f64(rng.standard_normal((1, 5)))
    return x, w1, b1, w2


def test_wgan_gp_penalty_gradient_matches_central_differences():
    """backward() through a gradient: the penalty's derivative w.r.t. the critic's weights."""
    x, w1, b1, w2 = _gp_inputs()
    penalty = _gradient_penalty(x, w1, b1, w2)
    penalty.backward()
    analytic = {"w1": w1.grad.copy(), "b1": b1.grad.copy(), "w2": w2.grad.copy()}

    # independent numerical derivative, written out here (not gradcheck's)
    eps = 1e-6
    for name, weight in (("w1", w1), ("b1", b1), ("w2", w2)):
        numerical = np.zeros(weight.shape)
        for i in np.ndindex(weight.shape):
            saved = weight.data[i]
            weight.data[i] = saved + eps
            plus = _gradient_penalty(x, w1, b1, w2).item()
            weight.data[i] = saved - eps
            minus = _gradient_penalty(x, w1, b1, w2).item()
            weight.data[i] = saved
            numerical[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(analytic[name], numerical, rtol=1e-5, atol=1e-8,
                                   err_msg=f"d penalty / d {name}")
    assert np.abs(analytic["w1"]).max() > 1e-3  # the check is not vacuous

    # and gradcheck on the penalty as a function of the weights (x fixed)
    x_fixed = x

    def penalty_of_weights(w1, b1, w2):
        return _gradient_penalty(x_fixed, w1, b1, w2)

    result = tg.gradcheck(penalty_of_weights, [w1, b1, w2])
    assert result, result.first_failure


def test_wgan_gp_penalty_gradient_with_respect_to_x():
    x, w1, b1, w2 = _gp_inputs()
    result = tg.gradcheck(_gradient_penalty, [x, w1, b1, w2])
    assert result, result.first_failure


def test_a_graph_keeps_the_values_it_was_computed_with_after_an_optimizer_step():
    # The GAN pattern: compute D(G(z)), update D, then backpropagate through D into G's output.
    # The gradient must be that of the loss that was computed, i.e. with D's old weights.
    w = tg.tensor([[2.0, -1.0]], requires_grad=True)
    z = tg.tensor([[0.5, 1.5]], requires_grad=True)
    loss = ((z @ w.T).tanh()).sum()
    old_w = w.data.copy()
    loss_w = ((z @ w.T).tanh()).sum()
    loss_w.backward()
    tg.optim.SGD([w], lr=10.0).step()  # replaces w.data
    assert not np.allclose(w.data, old_w)
    loss.backward()
    pre = z.data @ old_w.T
    expected = (1 - np.tanh(pre) ** 2) * old_w
    np.testing.assert_allclose(z.grad, 2 * expected, rtol=1e-6)  # loss_w and loss both used z


def test_intermediate_gradients_are_read_only_views():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    y = h.sum()
    y.backward()
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    assert not h.grad.flags.writeable
    x.grad += 1  # a leaf's gradient is the caller's own array
    np.testing.assert_array_equal(x.grad, [4.0, 4.0])


# ------------------------------------------------ both modes read the values saved at forward


def test_create_graph_sees_the_saved_values_like_the_plain_backward():
    """The issue's example: after y = (w * x).sum(), replacing w.data with [100] changes neither
    gradient; both are the w that y was computed with."""
    x = f64([3.0])
    w = f64([2.0])
    y = (w * x).sum()
    w.data = np.array([100.0])
    (plain,) = tg.grad(y, x)
    (recorded,) = tg.grad(y, x, create_graph=True)
    np.testing.assert_array_equal(plain.data, [2.0])
    np.testing.assert_array_equal(recorded.data, [2.0])
    # the recorded gradient dy/dx = w still depends on w (through the saved value): d/dw = 1
    (second,) = tg.grad(recorded.sum(), w)
    np.testing.assert_array_equal(second.data, [1.0])


def test_create_graph_after_an_optimizer_step_matches_the_plain_backward():
    """A WGAN-GP-like penalty computed on a graph recorded before an SGD step."""
    x = f64([[0.5, -1.0, 2.0]])
    layer = tg.nn.Dense(3, 2, dtype=np.float64)
    out = layer(x).tanh().sum()
    expected = tg.grad(out, x)[0].data.copy()
    for p in layer.parameters():
        p.data = p.data + 1.0  # as optimizers do: a new array, not an in-place write
    (recorded,) = tg.grad(out, x, create_graph=True)
    np.testing.assert_allclose(recorded.data, expected, rtol=1e-12)
    np.testing.assert_allclose(tg.grad(out, x)[0].data, expected, rtol=1e-12)
