"""The gradient checker itself: it must pass right derivatives and catch wrong ones.

A gradient checker that never fails proves nothing, so most tests here build an op with a
deliberately wrong backward through ``tinygan.record(data, parents, backward, op)`` (the same
function every engine op uses) and check that the error is caught and located.
"""

import re

import numpy as np
import pytest

import tinygan as tg
from tinygan import Tensor


def f64(values, requires_grad=True):
    return tg.tensor(np.asarray(values, np.float64), requires_grad=requires_grad)


def square_with_one_wrong_entry(x, wrong_at, error=0.5):
    """x**2 elementwise, whose backward is 2x*g except at flat position ``wrong_at``, where it
    adds ``error * g`` (works on ndarrays and on Tensors, like every engine backward)."""
    mask = np.zeros(x.shape)
    mask.flat[wrong_at] = error

    def wrong_backward(g, out, a_):
        return (g * a_ * 2.0 + g * mask,)

    return tg.record(x.data**2, (x,), wrong_backward, "bad")


def scale_with_wrong_backward(x):
    """3x whose backward claims 2g: wrong everywhere."""

    def wrong_backward(g, out, a_):
        return (g * 2.0,)

    return tg.record(x.data * 3.0, (x,), wrong_backward, "bad")


def test_right_derivatives_pass_and_report_what_was_compared():
    x = f64(np.linspace(-1.0, 1.0, 6).reshape(2, 3))
    w = f64([[0.5], [-2.0], [1.5]])
    result = tg.gradcheck(lambda x, w: (x @ w).tanh(), [x, w])
    assert result.passed and bool(result)
    assert result.checked == 2 * 6 + 2 * 3  # Jacobian entries: outputs x inputs, per input
    assert result.max_abs_error < 1e-8
    assert result.first_failure == ""


def test_a_wrong_backward_raises_gradcheck_error_naming_input_and_element():
    x = f64(np.arange(1.0, 7.0).reshape(2, 3))
    c = f64([1.0, 2.0, 3.0])
    flat = 5  # element (1, 2) of the 2x3 x, which is input 1 of fn

    def fn(c, x):
        return square_with_one_wrong_entry(x, flat) + c

    with pytest.raises(tg.GradcheckError) as caught:
        tg.gradcheck(fn, [c, x])
    message = str(caught.value)
    assert "input 1 element (1, 2)" in message, message
    assert "output entry 5" in message, message
    # analytic 2*6 + 0.5 = 12.5 vs numerical 12
    assert re.search(r"analytic 12\.5 vs numerical 12(\.0*\d*)?\b", message), message
    assert isinstance(caught.value, AssertionError)  # so pytest shows it as a failed assert


def test_a_wrong_backward_is_caught_everywhere_it_is_wrong():
    x = f64([1.0, -2.0, 0.5])
    with pytest.raises(tg.GradcheckError, match=r"input 0 element \(0,\)"):
        tg.gradcheck(scale_with_wrong_backward, x)


def test_raise_exception_false_returns_a_falsy_result_with_the_errors():
    x = f64([1.0, 2.0, 3.0, 4.0])
    result = tg.gradcheck(lambda t: square_with_one_wrong_entry(t, 2, error=0.25), x,
                          raise_exception=False)
    assert not result and result.passed is False
    assert result.max_abs_error == pytest.approx(0.25, rel=1e-6)
    assert result.max_rel_error == pytest.approx(0.25 / 6.0, rel=1e-5)  # numerical 2*3 = 6
    assert "input 0 element (2,)" in result.first_failure
    assert result.checked == 16


def test_an_error_below_the_tolerance_passes_and_above_it_fails():
    x = f64([1.0, 2.0])

    def fn(t):
        return square_with_one_wrong_entry(t, 0, error=1e-4)

    assert tg.gradcheck(fn, x, atol=1e-3, rtol=0.0)
    assert not tg.gradcheck(fn, x, atol=1e-5, rtol=0.0, raise_exception=False)


def test_nan_in_the_backward_fails_the_check():
    x = f64([1.0, 2.0])

    def nan_backward(g, out, a_):
        return (g * np.nan,)

    result = tg.gradcheck(lambda t: tg.record(t.data * 1.0, (t,), nan_backward, "nan"),
                          x, raise_exception=False)
    assert not result


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    """This backward is right as numbers (2x g) but reads x as a constant ndarray, so when it
    runs on Tensors (create_graph=True) it records no dependence on x: the first derivatives
    check out, the second ones must not."""
    x = f64([0.5, -1.0, 2.0])

    def detached_backward(g, out, a_):
        a = a_.data if isinstance(a_, Tensor) else a_
        return (g * (2.0 * a),)

    def square(t):
        return tg.record(t.data**2, (t,), detached_backward, "square")

    assert tg.gradcheck(square, x)
    with pytest.raises(tg.GradcheckError, match=r"input 0 element"):
        tg.gradgradcheck(square, x)
    assert tg.gradgradcheck(lambda t: t**2, x)  # the engine's own square is fine


def test_gradcheck_on_float32_input_raises_type_error():
    x = tg.tensor([1.0, 2.0], requires_grad=True)  # float32 by default
    with pytest.raises(TypeError, match=r"input 0 is float32.*float64"):
        tg.gradcheck(lambda t: t * 2.0, x)
    with pytest.raises(TypeError, match="float64"):
        tg.gradgradcheck(lambda t: t * t, x)


def test_gradcheck_needs_an_input_that_requires_grad():
    x = f64([1.0], requires_grad=False)
    with pytest.raises(ValueError, match="no input requires grad"):
        tg.gradcheck(lambda t: t * 2.0, x)
    with pytest.raises(ValueError, match="no input requires grad"):
        tg.gradgradcheck(lambda t: t * 2.0, x)


def test_gradcheck_with_several_outputs_and_a_constant_input():
    a, b = f64([1.0, 2.0]), f64([3.0])
    constant = np.array([0.5, 0.25])
    result = tg.gradcheck(lambda a, b, c: (a * b, (a + c).exp().sum()), [a, b, constant])
    assert result.checked == (2 + 1) * 2 + (2 + 1) * 1


def test_gradcheck_leaves_inputs_grads_and_the_seed_alone():
    x = f64([0.3, -0.7])
    before = x.data.copy()
    tg.manual_seed(5)
    expected = tg.randn(3).data
    tg.manual_seed(5)
    tg.gradcheck(lambda t: t.tanh(), x)
    tg.gradgradcheck(lambda t: t.tanh(), x)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None
    np.testing.assert_array_equal(tg.randn(3).data, expected)


def test_gradgradcheck_with_explicit_grad_outputs():
    x = f64([0.5, 1.5])
    v = [tg.tensor(np.array([1.0, -2.0]))]
    assert tg.gradgradcheck(lambda t: t**3, x, grad_outputs=v)


def test_gradgradcheck_accepts_a_single_tensor_as_grad_outputs():
    x = f64([0.5, 1.5])
    assert tg.gradgradcheck(lambda t: t**3, x, grad_outputs=tg.tensor(np.array([1.0, -2.0])))


# ------------------------------------------------------------ checking a model's parameters


def small_model():
    tg.manual_seed(3)
    return tg.nn.Sequential(tg.nn.Dense(3, 4), tg.nn.Tanh(), tg.nn.Dense(4, 1)).to(np.float64)


def test_gradcheck_and_gradgradcheck_take_a_models_parameters():
    model = small_model()
    x = tg.tensor(np.random.default_rng(0).standard_normal((5, 3)))

    def loss():
        return (model(x) ** 2).mean()

    result = tg.gradcheck(loss, params=model.parameters())
    assert result and result.checked == 3 * 4 + 4 + 4 * 1 + 1  # one output, every weight
    assert tg.gradgradcheck(loss, params=model.parameters())
    # inputs and parameters together; the parameters' data is left as it was
    before = [p.data.copy() for p in model.parameters()]
    x.requires_grad_()
    both = tg.gradcheck(lambda x: (model(x) ** 2).mean(), x, params=model.parameters())
    assert both.checked == 5 * 3 + 21
    for p, saved in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, saved)


def test_gradcheck_names_the_failing_parameter():
    model = small_model()
    weight = model[2].weight

    def wrong_backward(g, out, w_):
        return (g * 3.0,)  # d(2w)/dw is 2

    def loss():
        doubled = tg.record(weight.data * 2.0, (weight,), wrong_backward, "double")
        return doubled.sum() + model[0].weight.sum()

    with pytest.raises(tg.GradcheckError, match=r"parameter 2 element \(0, 0\)"):
        tg.gradcheck(loss, params=model.parameters())


def test_gradcheck_params_must_be_float64_tensors():
    model = tg.nn.Dense(2, 1)  # float32
    with pytest.raises(TypeError, match=r"parameter 0 is float32.*model.to\(np.float64\)"):
        tg.gradcheck(lambda: model(tg.tensor([[1.0, 2.0]])).sum(), params=model.parameters())
    with pytest.raises(TypeError, match="params must be Tensors .* got ndarray at position 0"):
        tg.gradcheck(lambda: None, params=[np.zeros(2)])
    frozen = small_model().requires_grad_(False)
    with pytest.raises(ValueError, match="no input requires grad"):
        tg.gradcheck(lambda: frozen(tg.tensor(np.ones((1, 3)))).sum(),
                     params=frozen.parameters())
