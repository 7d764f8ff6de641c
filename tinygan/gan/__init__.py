"""The GAN: the game's losses, one round of the game, and the loop that plays it.

- ``losses``: ``discriminator_loss``, ``generator_loss`` for the variants "minimax",
  "nonsaturating", "wasserstein", "wgan-gp", and ``gradient_penalty``;
- ``step``: ``train_step`` (Step 1: D on real data and on fakes from the current G, k times;
  Step 2: G against the updated D), its halves ``d_step`` and ``g_step``, ``StepStats``;
- ``fit``: the training loop with history, kept samples, exact checkpoints and a NaN guard;
- ``recipes``: each loss's published optimizer settings;
- ``cycle``: CycleGAN's update ``cycle_step`` (least-squares adversarial + cycle L1 + identity);
- ``vae_step``: the VAE's update on the negative ELBO (no game, but the same loop);
- ``loop``: ``fit_models``, ``fit``'s loop for any set of models (the VAE's and CycleGAN's).

Read ``step.py`` first: the whole game is on one screen there.
"""

from .cycle import CYCLE_WEIGHT, CycleStats, cycle_consistency_loss, cycle_step
from .fit import (
    HISTORY_COLUMNS,
    FitResult,
    TrainingDiverged,
    fit,
    load_checkpoint,
    sample_generator,
)
from .loop import MODELS_CHECKPOINT_FORMAT, fit_models, load_models_checkpoint
from .losses import (
    LOSSES,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    is_wasserstein,
    least_squares_discriminator_loss,
    least_squares_generator_loss,
    smooth_norm,
)
from .recipes import DEFAULT_D_STEPS, DEFAULT_LR, linear_decay, make_optimizer
from .step import StepStats, clip_weights, d_step, g_step, grad_norm, train_step
from .vae_step import VAEStats, vae_step

__all__ = [
    "CYCLE_WEIGHT", "DEFAULT_D_STEPS", "DEFAULT_LR", "HISTORY_COLUMNS", "LOSSES",
    "MODELS_CHECKPOINT_FORMAT", "CycleStats", "FitResult", "StepStats", "TrainingDiverged",
    "VAEStats", "clip_weights", "cycle_consistency_loss", "cycle_step", "d_step",
    "discriminator_loss", "fit", "fit_models", "g_step", "generator_loss", "grad_norm",
    "gradient_penalty", "is_wasserstein", "least_squares_discriminator_loss",
    "least_squares_generator_loss", "linear_decay", "load_checkpoint", "load_models_checkpoint",
    "make_optimizer", "sample_generator", "smooth_norm", "train_step", "vae_step",
]
