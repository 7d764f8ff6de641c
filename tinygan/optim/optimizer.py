"""Optimizer: the base class of the update rules (SGD, Adam, RMSprop).

An optimizer holds the parameters in ``param_groups``, a list of dicts, each with a list of
parameters under "params" and its own hyperparameters (a GAN trains G and D with one optimizer
each; a group lets one model use two learning rates). ``state`` maps each parameter to what its
rule remembers between steps (a momentum buffer, Adam's moment estimates).

The loop, as in PyTorch::

    optimizer.zero_grad()      # forget the last step's gradients (.grad = None)
    loss.backward()            # p.grad = dL/dp for every parameter
    optimizer.step()           # p.data replaced by the updated values

``step`` runs under ``no_grad``. It gives each parameter a new ``p.data`` array instead of
writing into the old one, so a graph recorded before the step (a GAN's D(G(z)) when D has just
been updated) still backpropagates through the values it was computed with. It never changes
``p.grad`` in place (the gradient may be shared, and stays inspectable after the step).
"""

import copy
from collections.abc import Mapping

import numpy as np

from .. import arguments
from ..autograd import enable_grad, no_grad
from ..engine import Tensor


class Optimizer:
    """Base class: subclasses set ``defaults`` and implement ``_update(param, grad, state, group)``.

    ``params`` is an iterable of Tensors (usually ``model.parameters()``) or of dicts, each a
    param group: {"params": [...], "lr": ...}; hyperparameters a group leaves out come from
    ``defaults``. A single Tensor is refused, as in PyTorch: iterating it would register its rows,
    which ``step()`` would then update instead of the Tensor itself.

    Subclasses check each group's hyperparameters in ``_check_group`` (with the normalisers of
    ``tinygan.arguments``), so a bad value fails when the optimizer is built, when a group is
    added and when a state dict is loaded, never in the middle of a step.
    """

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor | np.ndarray | Mapping | str) or not _iterable(params):
            raise TypeError(f"{name}: params must be an iterable of Tensors or of dicts (param "
                            f"groups), e.g. model.parameters() or [w, b]; got "
                            f"{type(params).__name__}")
        self.defaults = self._check_group(dict(defaults))
        self.param_groups = []
        self.state = {}  # parameter -> dict of its state (created at its first step)
        params = list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        kinds = {isinstance(p, Mapping) for p in params}
        if len(kinds) > 1:
            raise TypeError(f"{name}: params mixes param groups (dicts) and Tensors; give "
                            "either a list of Tensors or a list of dicts")
        groups = params if kinds == {True} else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def _check_group(self, group):
        """Check (and normalise) a group's hyperparameters; returns the group. Subclasses."""
        return group

    def add_param_group(self, group):
        """Add a dict {"params": [...], hyperparameter: value, ...}; missing ones get defaults."""
        name = type(self).__name__
        if not isinstance(group, Mapping):
            raise TypeError(f"{name}: a param group must be a dict, got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"{name}: a param group must have a 'params' entry (a list of "
                             f"Tensors); got the keys {sorted(map(str, group))}")
        group = dict(group)
        params = group["params"]
        if isinstance(params, Mapping | str | np.ndarray) or not (
                isinstance(params, Tensor) or _iterable(params)):
            raise TypeError(f"{name}: a param group's 'params' must be a Tensor or a list of "
                            f"Tensors, got {type(params).__name__}")
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        if len({id(p) for p in group["params"]}) != len(group["params"]):
            raise ValueError(f"{type(self).__name__}: a parameter appears twice in one param "
                             "group; it would be updated twice per step")
        known = {id(p) for g in self.param_groups for p in g["params"]}
        for param in group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(f"{type(self).__name__}: parameters must be Tensors, got "
                                f"{type(param).__name__}")
            if id(param) in known:
                raise ValueError(f"{type(self).__name__}: a parameter of shape {param.shape} "
                                 "appears in more than one param group")
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self.param_groups.append(self._check_group(group))

    def zero_grad(self):
        """Set every parameter's ``.grad`` to None (the next backward starts afresh)."""
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None

    def step(self, closure=None):
        """Update every parameter that has a gradient, by the subclass's rule.

        ``closure``, if given, is called first (with gradients enabled) to recompute the loss
        and the gradients; its result is returned, as in PyTorch.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad = _checked_grad(type(self).__name__, param, param.grad)
                    self._update(param, grad, self.state.setdefault(param, {}), group)
        return loss

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    # ------------------------------------------------------------------------ state dicts

    def state_dict(self):
        """{"state": {index: {name: ndarray or number}}, "param_groups": [{..., "params":
        [indices]}]}, PyTorch's layout: parameters are named by their position across the groups
        (0, 1, 2, ...), so the dict holds only arrays and numbers. Arrays are copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    state[index[id(param)]] = {k: _copy(v) for k, v in self.state[param].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state from ``state_dict()`` of an optimizer built over
        parameters of the same shapes, in the same order. Arrays are copied and cast to each
        parameter's dtype. Everything is checked before anything is changed, so a failed load
        leaves the optimizer as it was."""
        _check_optimizer_state_dict(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: the state dict has {len(saved_groups)} param "
                             f"groups, this optimizer has {len(self.param_groups)}")
        by_index = {}
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"load_state_dict: param group {number} has "
                                 f"{len(saved['params'])} parameters in the state dict and "
                                 f"{len(group['params'])} in this optimizer")
            by_index.update(zip((int(i) for i in saved["params"]), group["params"]))
        new_state = {}
        for index, saved in state_dict["state"].items():
            param = by_index.get(int(index))
            if param is None:
                raise ValueError(f"load_state_dict: state for parameter {index}, which no "
                                 "param group lists")
            new_state[param] = {}
            for name, value in saved.items():
                if isinstance(value, np.ndarray) and value.ndim > 0:
                    if value.shape != param.shape:
                        raise ValueError(f"load_state_dict: state {name!r} of parameter {index} "
                                         f"has shape {value.shape}, the parameter has shape "
                                         f"{param.shape}")
                    if value.dtype.kind not in "biuf":
                        raise TypeError(f"load_state_dict: state {name!r} of parameter {index} "
                                        f"has dtype {value.dtype}; real numbers are expected")
                    value = value.astype(param.dtype)  # a copy, in the parameter's dtype
                new_state[param][name] = _copy(value)
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = dict(group)
            new_group.update((k, copy.deepcopy(v)) for k, v in saved.items() if k != "params")
            new_groups.append(self._check_group(new_group))
        for group, new_group in zip(self.param_groups, new_groups):
            group.update(new_group)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"


def lerp_(start, end, weight):
    """start <- start + weight * (end - start), in place, as PyTorch's ``lerp_`` computes it.

    For weight >= 0.5 PyTorch uses the equivalent end - (end - start) (1 - weight), which is more
    accurate there; doing the same keeps float32 trajectories bit-for-bit closer to PyTorch's.
    In place (like ``decay_add_``) because it saves a new array per parameter per step: updating
    Adam's two moments in place took 27 us instead of 31 us for a 128 x 128 float32 weight, and
    6.5 ms instead of 7.2 ms for a 512 x 256 x 4 x 4 DCGAN weight (measured, one core).
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)
    return start


def decay_add_(average, decay, value):
    """average <- decay * average + value, in place (what that saves: see ``lerp_``)."""
    average *= decay
    average += value
    return average


def _iterable(value):
    try:
        iter(value)
    except TypeError:
        return False
    return True


def _checked_grad(name, param, grad):
    """``param.grad`` as an ndarray of the parameter's shape and dtype, or a clear error.

    ``.grad`` is a plain attribute a user may set by hand. A gradient of another shape would
    broadcast and silently change the parameter's shape; a float64 gradient would make a float32
    parameter float64. As in PyTorch, the shape must match; the dtype is cast to the parameter's.
    """
    grad = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
    if grad.shape != param.shape:
        raise ValueError(f"{name}.step: a parameter of shape {param.shape} has a .grad of shape "
                         f"{grad.shape}; they must match")
    if grad.dtype != param.dtype:
        if grad.dtype.kind not in "biuf":
            raise TypeError(f"{name}.step: a parameter's .grad has dtype {grad.dtype}; real "
                            f"numbers ({param.dtype}) are expected")
        grad = grad.astype(param.dtype)
    return grad


def _check_optimizer_state_dict(state_dict):
    """The layout of an optimizer's state dict, checked before any of it is used."""
    layout = ('{"state": {index: {name: value}}, "param_groups": [{"params": [indices], ...}]} '
              "(what state_dict() returns)")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"load_state_dict: expected a dict {layout}, got "
                        f"{type(state_dict).__name__}")
    missing = [key for key in ("state", "param_groups") if key not in state_dict]
    if missing:
        raise ValueError(f"load_state_dict: the state dict has no {' or '.join(map(repr, missing))}"
                         f" entry; expected {layout}")
    state, groups = state_dict["state"], state_dict["param_groups"]
    if not isinstance(state, Mapping) or not all(isinstance(s, Mapping) for s in state.values()):
        raise TypeError(f"load_state_dict: 'state' must map parameter indices to dicts; "
                        f"expected {layout}")
    if not isinstance(groups, list | tuple) or not all(
            isinstance(g, Mapping) and isinstance(g.get("params"), list | tuple) for g in groups):
        raise TypeError(f"load_state_dict: 'param_groups' must be a list of dicts, each with a "
                        f"'params' list; expected {layout}")
    for key in list(state) + [i for g in groups for i in g["params"]]:
        try:
            arguments.integer("load_state_dict", "a parameter index", int(key)
                              if isinstance(key, str) and key.isdigit() else key, minimum=0)
        except (TypeError, ValueError):
            raise ValueError(f"load_state_dict: parameter indices must be ints >= 0, got "
                             f"{key!r}") from None


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    return copy.deepcopy(value)
