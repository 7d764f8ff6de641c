"""tinygan.optim: every rule against its update formula written out by hand for 3 steps, in
float64, with a fixed sequence of gradients; plus the bookkeeping (param groups, zero_grad,
gradients left untouched, state dicts)."""

import math

import numpy as np
import pytest

import tinygan
from tinygan import nn, optim

P0 = np.array([0.5, -1.5, 2.0])
GRADS = [np.array([0.1, -0.4, 0.3]), np.array([-0.2, 0.5, 0.05]), np.array([0.3, 0.1, -0.6])]


def run(make_optimizer, grads=GRADS):
    """Apply the optimizer to a parameter starting at P0 with the given gradients; the
    parameter's value after every step."""
    param = nn.Parameter(P0.copy())
    optimizer = make_optimizer([param])
    values = []
    for g in grads:
        optimizer.zero_grad()
        param.grad = g.copy()
        optimizer.step()
        values.append(param.data.copy())
    return values


def assert_trajectory(values, expected):
    for step, (got, want) in enumerate(zip(values, expected)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"step {step + 1}")


# -------------------------------------------------------------------------------------- SGD


def test_sgd_plain():
    lr, p, expected = 0.1, P0.copy(), []
    for g in GRADS:
        p = p - lr * g
        expected.append(p)
    assert_trajectory(run(lambda ps: optim.SGD(ps, lr=lr)), expected)


def test_sgd_momentum_dampening_weight_decay():
    lr, mu, tau, wd = 0.1, 0.9, 0.3, 0.01
    p, b, expected = P0.copy(), None, []
    for g in GRADS:
        d = g + wd * p
        b = d.copy() if b is None else mu * b + (1 - tau) * d
        p = p - lr * b
        expected.append(p)
    values = run(lambda ps: optim.SGD(ps, lr, momentum=mu, dampening=tau, weight_decay=wd))
    assert_trajectory(values, expected)


def test_sgd_nesterov():
    lr, mu, wd = 0.05, 0.8, 0.1
    p, b, expected = P0.copy(), None, []
    for g in GRADS:
        d = g + wd * p
        b = d.copy() if b is None else mu * b + d
        p = p - lr * (d + mu * b)
        expected.append(p)
    values = run(lambda ps: optim.SGD(ps, lr, momentum=mu, weight_decay=wd, nesterov=True))
    assert_trajectory(values, expected)


def test_sgd_rejects_bad_nesterov():
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([nn.Parameter(P0)], lr=0.1, nesterov=True)


# ------------------------------------------------------------------------------------- Adam


@pytest.mark.parametrize("betas, wd", [((0.9, 0.999), 0.0), ((0.5, 0.999), 0.05)])
def test_adam_with_bias_correction(betas, wd):
    lr, eps = 0.01, 1e-8
    b1, b2 = betas
    p, m, v, expected = P0.copy(), np.zeros(3), np.zeros(3), []
    for t, g in enumerate(GRADS, start=1):
        g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)  # the bias corrections
        v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(p)
    values = run(lambda ps: optim.Adam(ps, lr, betas=betas, eps=eps, weight_decay=wd))
    assert_trajectory(values, expected)


def test_adam_first_step_is_lr_times_sign():
    (value,) = run(lambda ps: optim.Adam(ps, lr=0.01), GRADS[:1])
    np.testing.assert_allclose(value, P0 - 0.01 * np.sign(GRADS[0]), rtol=1e-6)


# ---------------------------------------------------------------------------------- RMSprop


@pytest.mark.parametrize("momentum, centered, wd", [
    (0.0, False, 0.0), (0.0, True, 0.0), (0.9, False, 0.0), (0.9, True, 0.02),
])
def test_rmsprop(momentum, centered, wd):
    lr, alpha, eps = 0.01, 0.9, 1e-8
    p, s, a, b, expected = P0.copy(), np.zeros(3), np.zeros(3), np.zeros(3), []
    for g in GRADS:
        g = g + wd * p
        s = alpha * s + (1 - alpha) * g * g
        if centered:
            a = alpha * a + (1 - alpha) * g
            d = np.sqrt(s - a * a) + eps
        else:
            d = np.sqrt(s) + eps
        if momentum > 0:
            b = momentum * b + g / d
            p = p - lr * b
        else:
            p = p - lr * g / d
        expected.append(p)
    values = run(lambda ps: optim.RMSprop(ps, lr, alpha=alpha, eps=eps, weight_decay=wd,
                                          momentum=momentum, centered=centered))
    assert_trajectory(values, expected)


# ------------------------------------------------------------------------------ bookkeeping


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda ps: optim.Adam(ps, weight_decay=0.1),
    lambda ps: optim.RMSprop(ps, momentum=0.5, centered=True, weight_decay=0.1),
])
def test_step_leaves_grad_untouched_and_skips_params_without_grad(make):
    used, unused = nn.Parameter(P0.copy()), nn.Parameter(P0.copy())
    optimizer = make([used, unused])
    grad = GRADS[0].copy()
    used.grad = grad
    optimizer.step()
    assert used.grad is grad
    np.testing.assert_array_equal(grad, GRADS[0])
    assert not np.array_equal(used.data, P0)
    np.testing.assert_array_equal(unused.data, P0)
    assert unused not in optimizer.state
    optimizer.zero_grad()
    assert used.grad is None


def test_step_records_no_graph_and_keeps_dtype():
    layer = nn.Dense(2, 1)
    optimizer = optim.Adam(layer.parameters())
    layer(tinygan.randn(4, 2)).sum().backward()
    optimizer.step()
    assert layer.weight.is_leaf and layer.weight.dtype == np.float32


def test_param_groups_have_their_own_hyperparameters():
    a, b = nn.Parameter(P0.copy()), nn.Parameter(P0.copy())
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    assert [group["lr"] for group in optimizer.param_groups] == [0.1, 1.0]
    assert optimizer.param_groups[1]["momentum"] == 0.0  # from the defaults
    a.grad, b.grad = np.ones(3), np.ones(3)
    optimizer.step()
    np.testing.assert_allclose(a.data, P0 - 0.1)
    np.testing.assert_allclose(b.data, P0 - 1.0)
    with pytest.raises(ValueError, match="more than one param group"):
        optimizer.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.05, betas=(0.5, 0.999)),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
])
def test_state_dict_resumes_the_same_trajectory(make):
    straight = run(make)
    param = nn.Parameter(P0.copy())
    optimizer = make([param])
    param.grad = GRADS[0].copy()
    optimizer.step()
    state = optimizer.state_dict()
    assert set(state) == {"state", "param_groups"} and list(state["state"]) == [0]
    assert state["param_groups"][0]["params"] == [0]
    param.grad = np.full(3, 50.0)  # a step that the restored state must not remember
    optimizer.step()
    saved = state["state"][0]
    assert all(not isinstance(v, np.ndarray) or not np.shares_memory(v, param.data)
               for v in saved.values())

    resumed_param = nn.Parameter(straight[0].copy())
    resumed = make([resumed_param])
    resumed.load_state_dict(state)
    for g, want in zip(GRADS[1:], straight[1:]):
        resumed_param.grad = g.copy()
        resumed.step()
        np.testing.assert_allclose(resumed_param.data, want, rtol=1e-12)


def test_load_state_dict_checks_the_layout():
    optimizer = optim.Adam([nn.Parameter(P0.copy())])
    other = optim.Adam([nn.Parameter(P0.copy()), nn.Parameter(P0.copy())])
    with pytest.raises(ValueError, match="1 parameters in the state dict and 2"):
        other.load_state_dict(optimizer.state_dict())
    p = nn.Parameter(np.zeros(2))
    small = optim.Adam([p])
    p.grad = np.ones(2)
    small.step()
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        optimizer.load_state_dict(small.state_dict())


def test_load_state_dict_restores_hyperparameters():
    a = optim.SGD([nn.Parameter(P0.copy())], lr=0.5, momentum=0.3)
    b = optim.SGD([nn.Parameter(P0.copy())], lr=0.1)
    b.load_state_dict(a.state_dict())
    assert b.param_groups[0]["lr"] == 0.5 and b.param_groups[0]["momentum"] == 0.3
    assert math.isclose(b.param_groups[0]["dampening"], 0.0)


def test_step_with_closure_returns_the_loss():
    param = nn.Parameter(P0.copy())
    optimizer = optim.SGD([param], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (param * param).sum()
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    assert loss.item() == pytest.approx((P0**2).sum())
    np.testing.assert_allclose(param.data, P0 - 0.1 * 2 * P0)


def test_a_parameter_twice_in_one_group_is_refused():
    p = tinygan.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="appears twice in one param group"):
        optim.SGD([p, p], lr=0.1)


def test_step_replaces_data_instead_of_writing_into_it():
    p = tinygan.tensor([1.0, 2.0], requires_grad=True)
    before = p.data
    p.grad = np.array([1.0, 1.0], dtype=np.float32)
    optim.Adam([p], lr=0.1).step()
    np.testing.assert_array_equal(before, [1.0, 2.0])  # what an older graph saw is unchanged
    assert not np.allclose(p.data, before)
