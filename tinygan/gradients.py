"""``tinygan.grad``: gradients returned as Tensors, instead of added into ``.grad``.

``loss.backward()`` delivers each gradient into the ``.grad`` of a tensor; ``grad(outputs,
inputs)`` runs the same backpropagation (``tinygan/autograd.py``) and hands the gradients back,
optionally as a graph of their own (``create_graph=True``) that can be differentiated again.
"""

import numpy as np

from .autograd import backpropagate
from .engine import Tensor


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple of Tensors.

    ``sum_k <grad_outputs[k], d outputs[k] / d inputs[i]>`` for each input i: a vector-Jacobian
    product. ``grad_outputs`` may be omitted for scalar outputs (it is 1 then).
    Leaves' ``.grad`` are not touched. With ``create_graph=True`` the returned gradients are part
    of a graph, so they can be differentiated again::

        x = tinygan.tensor(2.0, requires_grad=True)
        (dy,) = tinygan.grad(x ** 3, x, create_graph=True)    # 3 x^2 = 12
        (d2y,) = tinygan.grad(dy, x)                           # 6 x = 12

    An input that the outputs do not depend on raises an error, or gives None with
    ``allow_unused=True``.
    """
    single_input = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single_input else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor | np.ndarray):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise ValueError(f"grad: input {i} (shape {x.shape}) does not require grad")

    seeds = []
    for out, g in zip(outputs, grad_outputs, strict=True):
        if g is None:
            if out.data.size != 1:
                raise ValueError(
                    f"grad: output of shape {out.shape} is not a scalar; pass grad_outputs "
                    "of the same shape"
                )
            g = np.ones_like(out.data)
        g = np.asarray(g.data if isinstance(g, Tensor) else g, dtype=out.dtype)
        if g.shape != out.shape:
            raise ValueError(f"grad: grad_output shape {g.shape} differs from output {out.shape}")
        seeds.append(Tensor(g) if create_graph else g)

    found = {}

    def collect(node, g, owned):
        found[id(node)] = g

    backpropagate(outputs, seeds, create_graph=create_graph, targets=inputs, deliver=collect)

    results = []
    for i, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise ValueError(
                f"grad: input {i} (shape {x.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        results.append(g if g is None or isinstance(g, Tensor) else Tensor(g))
    return tuple(results)
