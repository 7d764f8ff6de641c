"""The optimizer settings each loss was published with, so a run states them instead of
hiding them.

    loss             optimizer (both players)                  D steps per G step
    "minimax"        Adam(lr, betas=(0.5, 0.999))              1   (Radford et al. 2015)
    "nonsaturating"  Adam(lr, betas=(0.5, 0.999))              1
    "wasserstein"    RMSprop(lr=5e-5)                          5   (Arjovsky et al. 2017)
    "wgan-gp"        Adam(lr=1e-4, betas=(0.5, 0.9))           5   (Gulrajani et al. 2017)

For the BCE losses ``lr`` has no single published value (2e-4 for DCGAN's images); pass it.

``linear_decay`` is a learning-rate schedule for ``fit``: constant, then falling linearly to 0
at the last step. A GAN trained at a constant rate keeps circling its equilibrium (the lesson on
non-convergence shows why); shrinking the steps at the end lets it settle, which is what turns
"all modes found" into "samples sharp on every mode" on the toy mixtures (benchmarks/eval_toy.py).
"""

from ..optim import SGD, Adam, RMSprop
from .losses import check_loss

DEFAULT_LR = {"minimax": 2e-4, "nonsaturating": 2e-4, "wasserstein": 5e-5, "wgan-gp": 1e-4}
DEFAULT_D_STEPS = {"minimax": 1, "nonsaturating": 1, "wasserstein": 5, "wgan-gp": 5}
DEFAULT_BETAS = {"minimax": (0.5, 0.999), "nonsaturating": (0.5, 0.999), "wgan-gp": (0.5, 0.9)}
OPTIMIZERS = ("adam", "rmsprop", "sgd")


def default_optimizer(loss):
    """The optimizer's name the loss was published with: "rmsprop" for WGAN, else "adam"."""
    return "rmsprop" if check_loss(loss) == "wasserstein" else "adam"


def make_optimizer(params, loss, name=None, lr=None, betas=None):
    """One player's optimizer: ``name`` ("adam", "rmsprop", "sgd"; default: the loss's), with
    the loss's published learning rate and betas unless given."""
    name = default_optimizer(loss) if name is None else name
    lr = DEFAULT_LR[check_loss(loss)] if lr is None else lr
    if name == "adam":
        return Adam(params, lr=lr, betas=DEFAULT_BETAS.get(loss, (0.5, 0.999)) if betas is None
                    else tuple(betas))
    if name == "rmsprop":
        return RMSprop(params, lr=lr)
    if name == "sgd":
        return SGD(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")


def linear_decay(steps, start=0.5):
    """factor(step) for ``fit(lr_schedule=...)``: 1 until ``start * steps``, then linearly down to
    0 at ``steps``. ``start = 1`` keeps the rate constant."""
    if not 0 <= start <= 1:
        raise ValueError(f"linear_decay: start must be a fraction in [0, 1], got {start}")

    def factor(step):
        if start >= 1 or step <= start * steps:
            return 1.0
        return max(0.0, (steps - step) / ((1 - start) * steps))

    return factor
