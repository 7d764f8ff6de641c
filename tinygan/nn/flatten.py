"""Reshaping layers: Flatten (images to vectors, before a Dense) and Unflatten (vectors to
images, after a generator's first Dense)."""

import math

from .module import Module


class Flatten(Module):
    """Merge axes start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        if input.ndim == 0:
            raise ValueError("Flatten: expected an input with at least one axis, got a 0-d tensor")
        start, end = self.start_dim % input.ndim, self.end_dim % input.ndim
        if start > end:
            raise ValueError(f"Flatten: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for input of shape {input.shape}")
        shape = input.shape
        return input.reshape(shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: (N, 64*4*4) -> (N, 64, 4, 4) with
    ``Unflatten(1, (64, 4, 4))``."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        dim, shape = self.dim % input.ndim, input.shape
        if math.prod(self.unflattened_size) != shape[dim] and -1 not in self.unflattened_size:
            raise ValueError(f"Unflatten: axis {self.dim} of input of shape {shape} has size "
                             f"{shape[dim]}, which cannot be split into {self.unflattened_size}")
        return input.reshape(shape[:dim] + self.unflattened_size + shape[dim + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
