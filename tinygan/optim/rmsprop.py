"""RMSprop (Hinton's lecture notes, 2012): divide the gradient by a running RMS of its history.
The WGAN paper trains the critic and the generator with RMSprop(lr=5e-5): momentum-based
optimizers made its training unstable."""

import numpy as np

from .. import arguments, kernels
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """PyTorch's RMSprop. At every step, with gradient g:

        g = g + weight_decay * p                      (if weight_decay != 0)
        s = alpha s + (1 - alpha) g^2                 (running mean of g^2; s starts at 0)
        if centered:                                   (divide by a running std, not an RMS)
            a = a + (1 - alpha) (g - a)               (running mean of g; a starts at 0)
            d = sqrt(s - a^2) + eps
        else:
            d = sqrt(s) + eps
        if momentum > 0:
            b = momentum b + g / d                    (b starts at 0)
            p = p - lr b
        else:
            p = p - lr g / d

    State per parameter: "step", "square_avg" (s), "grad_avg" (a, if centered),
    "momentum_buffer" (b, if momentum > 0).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_group(self, group):
        for name in ("lr", "eps", "weight_decay", "momentum"):
            group[name] = arguments.real("RMSprop", name, group[name], minimum=0)
        group["alpha"] = arguments.real("RMSprop", "alpha", group["alpha"], minimum=0, maximum=1)
        if not isinstance(group["centered"], bool | np.bool_):
            raise TypeError(f"RMSprop: centered must be True or False, got {group['centered']!r}")
        return group

    def _update(self, param, grad, state, group):
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param.data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param.data)
        state["step"] += 1
        # The rule above, in one pass over the parameter (tinygan.kernels.rmsprop_update:
        # compiled, or the NumPy twin optim_numpy.rmsprop_update with the formulas line by line;
        # both give the same bits). The state is updated in place; the parameter gets a new array.
        param.data = kernels.rmsprop_update(
            param.data, grad, state["square_avg"],
            state["grad_avg"] if group["centered"] else None,
            state["momentum_buffer"] if group["momentum"] > 0 else None,
            group["lr"], alpha, group["eps"], group["weight_decay"], group["momentum"])
