"""Parameter: a Tensor that a Module learns.

A Parameter is a leaf Tensor with ``requires_grad=True``. Being a distinct type lets a Module
recognise it: ``self.weight = Parameter(...)`` inside a Module registers it, so it appears in
``parameters()`` (what the optimizer updates) and in ``state_dict()`` (what a checkpoint saves).

Ops on a Parameter are ordinary Tensor ops and return plain Tensors: ``tinygan.record`` creates
Tensors, and every op accepts any Tensor, subclass or not.
"""

from ..engine import Tensor


class Parameter(Tensor):
    """A learnable Tensor. ``Parameter(data)`` takes an ndarray, a Tensor (sharing its data), or
    anything ``tinygan.tensor`` accepts."""

    __slots__ = ()  # no per-instance __dict__, like Tensor

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
