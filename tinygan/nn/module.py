"""Module: the base class of every layer and model.

A Module holds three kinds of state, each in its own ordered dict:

- ``_parameters``: Parameters, the numbers gradient descent learns (weights, biases);
- ``_buffers``: ndarrays that are state but are not learned (BatchNorm's running mean);
- ``_modules``: the sub-modules (layers of a model, models of a GAN).

Assigning an attribute sorts it into the right dict (``__setattr__``), so a model is written as
plain Python::

    class Discriminator(Module):
        def __init__(self):
            super().__init__()
            self.hidden = Dense(2, 128)     # registered as a sub-module
            self.out = Dense(128, 1)

        def forward(self, x):
            return self.out(F.leaky_relu(self.hidden(x), 0.2))

and everything else — ``parameters()`` for the optimizer, ``state_dict()`` for checkpoints,
``train()``/``eval()`` — walks those dicts recursively. Names are joined with dots, exactly as in
PyTorch (``hidden.weight``, ``0.running_mean``), so a state dict can be copied into the same model
written in PyTorch, and back.
"""

from collections import OrderedDict, namedtuple
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np

from .. import dtypes
from ..engine import Tensor
from .parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for layers and models: subclass it, assign layers and Parameters in
    ``__init__`` and write ``forward``; call the module (``model(x)``) to run it."""

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these dicts to exist already
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------- registering state

    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter | Module) and params is None:
            raise AttributeError(
                f"cannot assign {type(value).__name__} '{name}' before Module.__init__() is "
                "called (call super().__init__() first)"
            )
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            self._modules[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter '{name}' "
                                "(a Parameter or None is expected)")
            params[name] = None
        elif params is not None and name in self._modules:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module "
                                f"'{name}' (a Module or None is expected)")
            self._modules[name] = None
        elif params is not None and name in self._buffers:
            self._buffers[name] = _as_buffer(name, value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        # Only called when normal lookup fails, i.e. for registered state.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def _forget(self, name):
        """Remove ``name`` from every registry and the instance dict (before re-registering)."""
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)
        self.__dict__.pop(name, None)

    def register_parameter(self, name, param):
        """Add a Parameter (or None: a slot that is absent, like a layer's ``bias=False``)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: '{name}' must be a Parameter or None, got "
                            f"{type(param).__name__}")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, array, persistent=True):
        """Add a buffer: an ndarray of state that is saved but not learned (or None).

        A non-persistent buffer is not part of ``state_dict()``.
        """
        self._forget(name)
        self._buffers[name] = _as_buffer(name, array)
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add a sub-module under ``name`` (what attribute assignment does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: '{name}' must be a Module or None, got "
                            f"{type(module).__name__}")
        self._forget(name)
        self._modules[name] = module

    # -------------------------------------------------------------------- walking the tree

    def named_modules(self, prefix="", memo=None, remove_duplicate=True):
        """(name, module) for this module and every module below it, depth first.

        A module used in two places is listed once, unless ``remove_duplicate=False`` (state
        dicts list it under each of its names, as PyTorch's do).
        """
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(f"{prefix}.{name}" if prefix else name, memo,
                                                remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for the direct sub-modules."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def named_parameters(self, prefix="", recurse=True):
        """(dotted name, Parameter) for every parameter; one shared twice is listed once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{module_prefix}.{name}" if module_prefix else name), param

    def parameters(self, recurse=True):
        """The Parameters to give an optimizer."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True):
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{module_prefix}.{name}" if module_prefix else name), buffer

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        """Call ``fn(module)`` on every sub-module (children first), then on self; returns self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------------- modes, grads

    def train(self, mode=True):
        """Training mode (``mode=True``) for this module and all below; returns self.

        Changes what Dropout and BatchNorm do: BatchNorm uses batch statistics and updates its
        running averages in training mode, and uses the running averages in evaluation mode.
        """
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Switch gradients of all parameters on or off (freeze D while G trains); returns self."""
        for param in self.parameters():
            param.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self):
        """Forget every parameter's gradient (``.grad = None``), like the optimizer's."""
        for param in self.parameters():
            param.grad = None

    # ------------------------------------------------------------------------ dtype changes

    def to(self, dtype):
        """Convert parameters (and their grads) and floating-point buffers to ``dtype``.

        float64 is what gradient checks need: ``layer.double()``. Parameters stay the same
        objects (their ``.data`` is replaced), so an optimizer built earlier still updates them.
        Integer buffers (``num_batches_tracked``) keep their dtype. Returns self.
        """
        dtype = dtypes.float_dtype(dtype)
        for param in self.parameters():
            param.data = param.data.astype(dtype, copy=False)  # no copy when already dtype
            if param.grad is not None:
                param.grad = param.grad.astype(dtype, copy=False)
        for module in self.modules():
            for name, buffer in module._buffers.items():
                if buffer is not None and buffer.dtype.kind == "f":
                    module._buffers[name] = buffer.astype(dtype, copy=False)
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    # ------------------------------------------------------------------------- state dicts

    def state_dict(self):
        """An ordered dict {dotted name: ndarray copy} of every parameter and persistent buffer.

        Order and names are PyTorch's: for each module, its parameters, then its buffers, then
        its sub-modules. The arrays are copies: training on does not change a saved state dict.
        """
        state = OrderedDict()
        for prefix, module in self.named_modules(remove_duplicate=False):
            for name, param in module._parameters.items():
                if param is not None:
                    state[_join(prefix, name)] = param.data.copy()
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    state[_join(prefix, name)] = np.array(buffer, copy=True)
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of ``state_dict`` into this module's parameters and buffers.

        Values may be ndarrays, Tensors, numbers or anything ``np.asarray`` accepts (a PyTorch
        tensor on the CPU, for instance); they are cast to the parameter's dtype and copied into
        it in place. Everything is checked before anything is copied, so a failed load changes
        nothing: every shape (a mismatch is always an error, as in PyTorch), every value (real
        numbers only -- no objects, no complex numbers; finite after the cast, so 1e300 cannot
        become inf in float32 and None cannot become NaN; whole numbers in range for integer
        buffers; what a layer's ``_check_loaded`` requires, such as a non-negative
        ``running_var``), and that every destination is writable. With ``strict=True`` a
        missing or unexpected key is an error too; with ``strict=False`` they are returned as
        ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a dict {{name: array}} (what "
                            f"state_dict() returns), got {type(state_dict).__name__}")
        targets = OrderedDict()  # key -> (module, registry, name)
        for prefix, module in self.named_modules(remove_duplicate=False):
            for name, param in module._parameters.items():
                if param is not None:
                    targets[_join(prefix, name)] = (module, "param", name)
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    targets[_join(prefix, name)] = (module, "buffer", name)

        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        errors = []
        if strict and missing:
            errors.append("missing key(s): " + ", ".join(repr(k) for k in missing))
        if strict and unexpected:
            errors.append("unexpected key(s): " + ", ".join(repr(k) for k in unexpected))
        values = {}
        for key, (module, kind, name) in targets.items():
            if key not in state_dict:
                continue
            current = module._parameters[name].data if kind == "param" else module._buffers[name]
            try:  # converted and checked now, so that a bad value fails before anything is copied
                value = _loadable(key, state_dict[key], current)
            except (TypeError, ValueError) as error:
                errors.append(str(error))
                continue
            try:
                module._check_loaded(name, value)
            except ValueError as error:
                errors.append(f"{key!r}: {error}")
                continue
            if value.shape != current.shape:
                errors.append(f"size mismatch for {key!r}: the checkpoint has shape "
                              f"{value.shape}, the model has shape {current.shape}")
            elif not current.flags.writeable:
                errors.append(f"{key!r} cannot be loaded: the model's array is read-only")
            values[key] = value
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                               + "\n  ".join(errors))
        for key, value in values.items():
            module, kind, name = targets[key]
            current = module._parameters[name].data if kind == "param" else module._buffers[name]
            current[...] = value  # in place: buffers are shared with the ops that update them
        return IncompatibleKeys(missing, unexpected)

    def _check_loaded(self, name, value):
        """Raise ValueError if ``value`` may not be loaded into this module's ``name``.

        ``load_state_dict`` calls it for every entry before it copies anything; layers with
        constraints on their state (BatchNorm's variance) override it."""

    # -------------------------------------------------------------------------- printing

    def extra_repr(self):
        """The text between the parentheses of this module's repr (its settings)."""
        return ""

    def __repr__(self):
        """PyTorch's layout: ``Name(settings)``, or one indented ``(name): child`` per line."""
        lines = [f"({name}): " + _indent(repr(module), 2)
                 for name, module in self._modules.items()]
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        body = ([extra] if extra else []) + lines
        return f"{type(self).__name__}(\n  " + "\n  ".join(body) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))


@contextmanager
def frozen(*modules):
    """``with frozen(D): ...``: inside the block the modules' parameters do not require grad,
    so the ops record no gradient for them and backward() computes none (the gradient still
    flows *through* the modules to whatever else requires it). Afterwards each parameter gets
    its own setting back, even after an error; one that was already frozen stays frozen.

    What it is for: the player who does not learn in a step (D in G's step), whose weight
    gradients would otherwise be computed only to be thrown away.
    """
    params = [p for module in modules for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad = False
    try:
        yield
    finally:
        for p in params:
            p.requires_grad = True


def _loadable(key, value, current):
    """``value`` as an array of ``current``'s dtype, or a ValueError/TypeError naming ``key``.

    ``astype`` alone would turn an object array of None into NaN, 1e300 into inf in float32 and
    a complex number into its real part (with only a warning), all silently wrong weights.
    """
    prefix = f"cannot convert {key!r} to {current.dtype}"
    raw = value.data if isinstance(value, Tensor) else value
    try:
        array = np.asarray(raw)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{prefix}: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{prefix}: it holds {array.dtype} values, not real numbers")
    if current.dtype.kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            converted = array.astype(current.dtype, copy=False)
        if not np.isfinite(converted).all():
            bad = array.reshape(-1)[~np.isfinite(converted.reshape(-1))][0]
            raise ValueError(f"{prefix}: it holds {bad!r}, which is not a finite "
                             f"{current.dtype} (NaN, infinite, or too large for the dtype)")
        return converted
    if array.dtype.kind == "f" and not (np.isfinite(array).all() and (array % 1 == 0).all()):
        raise ValueError(f"{prefix}: it holds values that are not whole numbers")
    info = np.iinfo(current.dtype)
    if array.size and (array.min() < info.min or array.max() > info.max):
        raise ValueError(f"{prefix}: it holds values outside the range of {current.dtype}")
    return array.astype(current.dtype, copy=False)


def _join(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _indent(text, spaces):
    """Indent every line of ``text`` but the first (it follows a ``(name): `` label)."""
    return text.replace("\n", "\n" + " " * spaces)


def _as_buffer(name, value):
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, Tensor):
        raise TypeError(f"buffer '{name}' must be an ndarray (use tensor.data), not a Tensor")
    return np.asarray(value)
