"""Adam (Kingma & Ba, 2015): per-parameter step sizes from running moments of the gradient.
The DCGAN paper trains both networks with Adam(lr=0.0002, betas=(0.5, 0.999))."""

import numpy as np

from .. import arguments, kernels
from .optimizer import Optimizer


class Adam(Optimizer):
    """PyTorch's Adam, in PyTorch's order of operations. At step t = 1, 2, ... with gradient g:

        g = g + weight_decay * p                  (if weight_decay != 0: L2 penalty, not AdamW)
        m = m + (1 - beta1) (g - m)               (= beta1 m + (1 - beta1) g; m starts at 0)
        v = beta2 v + (1 - beta2) g^2             (v starts at 0)
        p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    m and v estimate the mean and the uncentered variance of the gradient. Both start at 0, so
    early on they are biased towards 0; dividing by (1 - beta^t) removes that bias (at t = 1,
    m / (1 - beta1) = g exactly). The step is then roughly lr * sign(g) in size, whatever the
    scale of the gradient.

    State per parameter: "step" (t), "exp_avg" (m), "exp_avg_sq" (v).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def _check_group(self, group):
        for name in ("lr", "eps", "weight_decay"):
            group[name] = arguments.real("Adam", name, group[name], minimum=0)
        betas = group["betas"]
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2), got {betas!r}")
        group["betas"] = tuple(arguments.real("Adam", f"beta{i + 1}", beta, minimum=0, below=1)
                               for i, beta in enumerate(betas))
        return group

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] += 1
        # The rule above, in one pass over the parameter (tinygan.kernels.adam_update: compiled,
        # or the NumPy twin optim_numpy.adam_update, which has the formulas line by line; both
        # give the same bits). m and v are updated in place; the parameter gets a new array.
        param.data = kernels.adam_update(
            param.data, grad, state["exp_avg"], state["exp_avg_sq"], state["step"], group["lr"],
            beta1, beta2, group["eps"], group["weight_decay"])
