"""Checking derivatives against central differences: the honest test of every backward.

For a function f of inputs x, the backward pass computes the Jacobian J[o, i] = d f_o / d x_i one
row at a time (a backward pass seeded with the one-hot vector e_o gives e_o^T J). The numerical
Jacobian perturbs one input element at a time:

    J_num[o, i] = (f_o(x + eps e_i) - f_o(x - eps e_i)) / (2 eps)

whose error is O(eps^2) (the first-order terms of the Taylor series cancel). In float64 with
eps = 1e-6 that is about 1e-12 from truncation plus about 1e-16 / 1e-6 = 1e-10 from rounding,
so analytic and numerical agree to ~1e-8 when the backward is right, and are visibly off when it
is wrong. In float32 rounding alone gives ~1e-7 / 1e-6 = 0.1: useless, hence float64 only.

Every element of every input is perturbed, so use small shapes.
"""

from dataclasses import dataclass

import numpy as np

from .engine import Tensor
from .gradients import grad


class GradcheckError(AssertionError):
    """Raised when the analytic and numerical derivatives disagree."""


@dataclass
class GradcheckResult:
    """What a gradient check measured. True when it passed."""

    passed: bool
    max_abs_error: float
    max_rel_error: float
    checked: int  # Jacobian entries compared
    first_failure: str = ""

    def __bool__(self):
        return self.passed


def gradcheck(fn, inputs=(), eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *,
              params=()):
    """Compare the backward pass of ``fn`` with central differences, entry by entry.

    ``fn(*inputs)`` returns a Tensor or a tuple of Tensors; ``inputs`` is a Tensor or a sequence
    of Tensors. ``params`` are Tensors that ``fn`` uses without taking them as arguments, such as
    a model's parameters, so a network's gradient is checked without closure tricks::

        model = nn.Sequential(nn.Dense(2, 4), nn.Tanh(), nn.Dense(4, 1)).to(np.float64)
        gradcheck(lambda: F.mse_loss(model(x), y), params=model.parameters())

    The inputs and params that require grad are checked; they must be float64. An entry passes
    when ``|analytic - numerical| <= atol + rtol * |numerical|``.

    Returns a GradcheckResult (truthy when passed) with the maximum absolute and relative errors;
    on failure raises GradcheckError naming the first failing entry, unless
    ``raise_exception=False``.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    names = [f"input {i}" for i in checked]
    targets = [inputs[i] for i in checked]
    for j, param in enumerate(_parameters(params)):
        if param.requires_grad and not any(param is t for t in targets):
            names.append(f"parameter {j}")
            targets.append(param)
    if not targets:
        raise ValueError("gradcheck: no input requires grad (nor any of the params), so there "
                         "is nothing to check")
    for name, x in zip(names, targets, strict=True):
        if x.dtype != np.float64:
            raise TypeError(
                f"gradcheck: {name} is {x.dtype}; central differences need float64 "
                "(create it with dtype=np.float64, call .astype(np.float64), or convert a "
                "model with model.to(np.float64))"
            )
    outputs = _as_tuple(fn(*inputs))
    analytic = _analytic_jacobians(outputs, targets)
    # the perturbed tensors are `targets`; fn still takes the original inputs
    numerical = _numerical_jacobians(lambda *_: fn(*inputs), targets, range(len(targets)), eps)

    max_abs = max_rel = 0.0
    count = 0
    first_failure = ""
    for position, (name, x) in enumerate(zip(names, targets, strict=True)):
        a, n = analytic[position], numerical[position]
        error = np.abs(a - n)
        count += error.size
        if error.size == 0:
            continue
        # NaN compares False with everything: written this way round, a NaN entry fails. The
        # maxima must propagate NaN too (np.max, not np.fmax, which skips it): a check whose
        # only error is NaN must not report "max abs error 0".
        failing = np.argwhere(~(error <= atol + rtol * np.abs(n)))
        max_abs = float(np.max([max_abs, error.max()]))
        max_rel = float(np.max([max_rel, (error / np.maximum(np.abs(n), 1e-12)).max()]))
        if len(failing) and not first_failure:
            out_index, in_index = failing[0]
            element = np.unravel_index(in_index, x.shape)
            a_value, n_value = a[out_index, in_index], n[out_index, in_index]
            first_failure = (
                f"{name} element {tuple(int(e) for e in element)}, output entry {out_index}: "
                f"analytic {a_value:.10g} vs numerical {n_value:.10g}"
            )
            if np.isnan(a_value) or np.isnan(n_value):
                which = "numerical" if np.isnan(n_value) else "analytic"
                first_failure += (f" (the {which} derivative is NaN: fn is not differentiable "
                                  "there, or gives NaN within eps of the input)")
    result = GradcheckResult(not first_failure, max_abs, max_rel, count, first_failure)
    if first_failure and raise_exception:
        raise GradcheckError(
            f"gradcheck failed at {first_failure} (max abs error {max_abs:.3g}, max rel error "
            f"{max_rel:.3g}, atol={atol}, rtol={rtol})"
        )
    return result


def gradgradcheck(fn, inputs=(), grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, *, params=()):
    """Check second derivatives: gradcheck of x -> grad(fn(x), x, v, create_graph=True).

    ``v`` (the upstream gradient) is ``grad_outputs`` or a fixed random tensor per output. This
    tests that each backward function, run on Tensors, records a correct graph of its own.
    ``params`` (e.g. ``model.parameters()``) are differentiated and perturbed like the inputs, as
    in ``gradcheck``.
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    params = [p for p in _parameters(params) if p.requires_grad]
    differentiable = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad] + params
    if grad_outputs is None:  # one evaluation, for the outputs' shapes
        rng = np.random.default_rng(1234)  # its own generator: a check must not move the seed
        grad_outputs = [Tensor(rng.standard_normal(o.shape)) for o in _as_tuple(fn(*inputs))]
    elif isinstance(grad_outputs, Tensor | np.ndarray):
        grad_outputs = [grad_outputs]

    def first_derivatives(*xs):
        ys = _as_tuple(fn(*xs))
        wanted = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        wanted += [p for p in params if not any(p is w for w in wanted)]
        live = [(y, v) for y, v in zip(ys, grad_outputs, strict=True) if y.requires_grad]
        if not live:
            return tuple(Tensor(np.zeros(x.shape)) for x in wanted)
        grads = grad([y for y, _ in live], wanted, [v for _, v in live],
                     create_graph=True, allow_unused=True)
        return tuple(Tensor(np.zeros(x.shape)) if g is None else g
                     for g, x in zip(grads, wanted, strict=True))

    if not differentiable:
        raise ValueError("gradgradcheck: no input requires grad (nor any of the params), so "
                         "there is nothing to check")
    return gradcheck(first_derivatives, inputs, eps, atol, rtol, raise_exception, params=params)


def _parameters(params):
    """``params`` as a list of Tensors (a generator such as ``model.parameters()`` is read once)."""
    params = [params] if isinstance(params, Tensor) else list(params)
    for j, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(f"gradcheck: params must be Tensors (e.g. model.parameters()), got "
                            f"{type(param).__name__} at position {j}")
    return params


def _as_tuple(outputs):
    """fn's result as a tuple of Tensors; anything else (an ndarray, a float, None) is named.

    (An ndarray or a float has no graph, so there would be nothing to differentiate.)"""
    if isinstance(outputs, Tensor):
        return (outputs,)
    if isinstance(outputs, tuple | list) and outputs and all(
            isinstance(o, Tensor) for o in outputs):
        return tuple(outputs)
    got = type(outputs).__name__
    if isinstance(outputs, tuple | list):
        got = f"a {got} of " + (", ".join(type(o).__name__ for o in outputs) or "nothing")
    raise TypeError(f"gradcheck: fn must return a Tensor or a tuple of Tensors, got {got} "
                    "(compute the output with tinygan ops on the input Tensors)")


def _analytic_jacobians(outputs, inputs):
    """One backward pass per output entry: row o of J is the gradient of output entry o."""
    sizes = [o.data.size for o in outputs]
    jacobians = [np.zeros((sum(sizes), x.data.size)) for x in inputs]
    row = 0
    for k, out in enumerate(outputs):
        for entry in range(sizes[k]):
            if out.requires_grad:
                seed = np.zeros(out.shape, dtype=out.dtype)
                seed.flat[entry] = 1.0
                grads = grad(out, inputs, grad_outputs=seed, allow_unused=True)
                for jacobian, g in zip(jacobians, grads, strict=True):
                    if g is not None:
                        jacobian[row] = g.data.ravel()
            row += 1
    return jacobians


def _numerical_jacobians(fn, inputs, checked, eps):
    """Column i of J: the central difference of all outputs when input element i moves by eps."""

    def evaluate():  # in the caller's grad mode: fn may itself call grad() (WGAN-GP)
        return np.concatenate([np.ravel(o.data).astype(np.float64)
                                   for o in _as_tuple(fn(*inputs))])

    jacobians = []
    for i in checked:
        original_data = inputs[i].data
        inputs[i].data = values = np.array(original_data)  # a private copy, perturbed in place
        flat = values.reshape(-1)
        columns = []
        try:
            for element in range(flat.size):
                original = flat[element]
                flat[element] = original + eps
                plus = evaluate()
                flat[element] = original - eps
                minus = evaluate()
                flat[element] = original
                columns.append((plus - minus) / (2 * eps))
        finally:  # also when fn raises: the caller gets back the very array it passed in
            inputs[i].data = original_data
        n_out = evaluate().size if not columns else columns[0].size
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((n_out, 0)))
    return jacobians
