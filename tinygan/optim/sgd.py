"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

import numpy as np

from .. import arguments
from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD. For each parameter p with gradient g, at every step:

        g = g + weight_decay * p                          (if weight_decay != 0: L2 penalty)
        if momentum != 0:
            b = g                                         (first step)
            b = momentum * b + (1 - dampening) * g        (later steps)
            g = g + momentum * b   if nesterov  else  b
        p = p - lr * g

    State per parameter: "momentum_buffer" (b), when momentum != 0.
    Nesterov momentum needs momentum > 0 and dampening = 0.
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_group(self, group):
        for name in ("lr", "momentum", "weight_decay"):
            group[name] = arguments.real("SGD", name, group[name], minimum=0)
        group["dampening"] = arguments.real("SGD", "dampening", group["dampening"])
        if not isinstance(group["nesterov"], bool | np.bool_):
            raise TypeError(f"SGD: nesterov must be True or False, got {group['nesterov']!r}")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum > 0 and zero dampening")
        return group

    def _update(self, param, grad, state, group):
        momentum = group["momentum"]
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.data  # a new array: p.grad is untouched
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param.data = param.data - group["lr"] * grad
