"""``fit`` for any set of models: the training loop of the VAE and of CycleGAN.

``fit`` (``tinygan/gan/fit.py``) is written for the game of one G and one D. The models that are
not that game still want everything around the update that ``fit`` gives: a progress bar, a
history of the step's numbers, exact checkpoints and ``resume``, the NaN guard and a clean
Ctrl-C. ``fit_models`` is that loop with the update passed in as a function:

    result = fit_models(lambda: vae_step(vae, opt, next(batches)), {"vae": vae},
                        {"vae": opt}, steps=1000, columns=VAEStats.__dataclass_fields__,
                        checkpoint="run/checkpoint.npz", iterators={"batches": batches})

A checkpoint holds every model's and optimizer's state dict, the step, the history, the library
generator's state and the position of every data iterator (``iterators``), so ``resume=True``
continues bit for bit; it is written by ``tinygan.save`` (temporary file, then rename). Its
format entry is ``MODELS_CHECKPOINT_FORMAT``, so it is never mistaken for a GAN checkpoint.
"""

import json
import os
import time

import numpy as np

from ..checkpoint import CheckpointError, load, save
from ..random import generator
from .fit import FitResult, _check_finite, _DeferredInterrupt, _schedule, progress_bar

MODELS_CHECKPOINT_FORMAT = "tinygan models checkpoint"


def fit_models(step, models, optimizers, steps, columns, *, checkpoint=None,
               checkpoint_every=None, resume=False, iterators=None, extra=None, progress=True,
               batch_size=None, lr_schedule=None, show=()):
    """Call ``step()`` ``steps`` times; returns a ``FitResult`` (its history has ``columns``).

    Args:
        step: a function of no arguments that performs one update (drawing its own batches) and
            returns an object with ``as_dict()`` (a dataclass of numbers, e.g. ``VAEStats``).
        models, optimizers: dicts name -> Module / Optimizer, saved in and restored from the
            checkpoint (the names are the checkpoint's keys).
        steps: the total number of updates; with ``resume`` the run continues up to it.
        columns: the names of the numbers ``step()`` returns (the history's columns, after
            "step").
        checkpoint, checkpoint_every, resume, extra, progress, batch_size, lr_schedule: as for
            ``fit``.
        iterators: dict name -> data iterator with ``state_dict``/``load_state_dict`` (e.g. a
            ``BatchIterator``), whose positions the checkpoint keeps.
        show: the columns the progress bar shows.
    """
    if steps < 0:
        raise ValueError(f"fit_models: steps must be >= 0, got {steps}")
    iterators = iterators or {}
    columns = ("step",) + tuple(columns)
    state = FitResult(history={name: [] for name in columns})
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        state = _restore(load_models_checkpoint(checkpoint), models, optimizers, iterators,
                         columns)

    def write_checkpoint():
        if checkpoint is not None:
            save(_checkpoint_dict(state, models, optimizers, iterators, extra), checkpoint)

    stop = _DeferredInterrupt()
    bar = progress_bar(steps, state.step, progress)
    try:
        with stop:
            last_shown, shown_step = time.perf_counter(), state.step
            while state.step < steps:
                if lr_schedule is not None:
                    _schedule(lr_schedule(state.step), *optimizers.values())
                stats = step().as_dict()
                _check_finite(stats, models, state.step + 1, checkpoint, "Lower the learning rate.")
                state.step += 1
                state.history["step"].append(state.step)
                for name in columns[1:]:
                    state.history[name].append(stats[name])
                done = state.step == steps
                if checkpoint_every and state.step % checkpoint_every == 0 and not done:
                    write_checkpoint()
                bar.update(1)
                now = time.perf_counter()
                if progress and (now - last_shown > 0.5 or done):
                    rate = (state.step - shown_step) / max(now - last_shown, 1e-9)
                    text = ", ".join(f"{name} {stats[name]:.3f}" for name in show)
                    text += f", {rate:.1f} steps/s"
                    if batch_size:
                        text += f", {rate * batch_size:.0f} samples/s"
                    bar.set_postfix_str(text, refresh=False)
                    last_shown, shown_step = now, state.step
                if stop.requested:
                    write_checkpoint()
                    raise KeyboardInterrupt(
                        f"interrupted after step {state.step}"
                        + (f"; checkpoint saved to {checkpoint}" if checkpoint else ""))
        write_checkpoint()
    finally:
        bar.close()
    return state


def load_models_checkpoint(path):
    """Read a checkpoint written by ``fit_models``; a CheckpointError if it is something else."""
    ckpt = load(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != MODELS_CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a checkpoint of fit_models (no "
                              f"format={MODELS_CHECKPOINT_FORMAT!r} entry)")
    return ckpt


def is_models_checkpoint(path):
    """True when ``path`` is a checkpoint written by ``fit_models``."""
    try:
        load_models_checkpoint(path)
    except (CheckpointError, OSError, ValueError):
        return False
    return True


# ------------------------------------------------------------------------------- helpers


def _checkpoint_dict(state, models, optimizers, iterators, extra):
    return {
        "format": MODELS_CHECKPOINT_FORMAT,
        "step": state.step,
        "models": {name: model.state_dict() for name, model in models.items()},
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "history": {name: np.asarray(values) for name, values in state.history.items()},
        # The bit generator's state holds 128-bit integers, beyond int64: kept as JSON text.
        "rng": json.dumps(generator().bit_generator.state),
        "iterators": {name: it.state_dict() for name, it in iterators.items()},
        "extra": extra or {},
    }


def _restore(ckpt, models, optimizers, iterators, columns):
    for kind, objects in (("models", models), ("optimizers", optimizers),
                          ("iterators", iterators)):
        missing = sorted(set(objects) - set(ckpt[kind]))
        if missing:
            raise CheckpointError(f"resume: the checkpoint has no {kind} named {missing}")
    for name, model in models.items():
        model.load_state_dict(ckpt["models"][name])
    for name, opt in optimizers.items():
        opt.load_state_dict(ckpt["optimizers"][name])
    for name, it in iterators.items():
        it.load_state_dict(ckpt["iterators"][name])
    generator().bit_generator.state = json.loads(ckpt["rng"])
    state = FitResult(history={name: [] for name in columns}, step=int(ckpt["step"]))
    for name in columns:
        column = ckpt["history"].get(name, np.zeros(0))
        state.history[name] = [int(v) if name == "step" else float(v) for v in column]
    return state
