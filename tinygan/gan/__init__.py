"""The GAN: the game's losses, one round of the game, and the loop that plays it.

- ``losses``: ``discriminator_loss``, ``generator_loss`` for the variants "minimax",
  "nonsaturating", "wasserstein", "wgan-gp", and ``gradient_penalty``;
- ``step``: ``train_step`` (Step 1: D on real data and on fakes from the current G, k times;
  Step 2: G against the updated D), its halves ``d_step`` and ``g_step``, ``StepStats``;
- ``fit``: the training loop with history, kept samples, exact checkpoints and a NaN guard;
- ``recipes``: each loss's published optimizer settings.

Read ``step.py`` first: the whole game is on one screen there.
"""

from .fit import (
    HISTORY_COLUMNS,
    FitResult,
    TrainingDiverged,
    fit,
    load_checkpoint,
    sample_generator,
)
from .losses import (
    LOSSES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    is_wasserstein,
    smooth_norm,
)
from .recipes import DEFAULT_D_STEPS, DEFAULT_LR, linear_decay, make_optimizer
from .step import StepStats, clip_weights, d_step, g_step, grad_norm, train_step

__all__ = [
    "DEFAULT_D_STEPS", "DEFAULT_LR", "HISTORY_COLUMNS", "LOSSES", "FitResult", "StepStats",
    "TrainingDiverged", "clip_weights", "d_step", "discriminator_loss", "fit", "g_step",
    "generator_loss", "grad_norm", "gradient_penalty", "is_wasserstein", "linear_decay",
    "load_checkpoint", "make_optimizer", "sample_generator", "smooth_norm", "train_step",
]
