"""The affine map of a fully connected layer.

    y = x W^T + b        x: (..., in_features)   W: (out_features, in_features)   b: (out_features,)
                         y: (..., out_features)

W is stored (out, in), as in PyTorch, so that row j of W holds the weights of output unit j.
"""

from .bias import add_bias


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``; the gradients come from the ops ``@``, ``.T`` and ``+``."""
    if input.ndim < 1 or input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 0} "
            f"features, but weight of shape {weight.shape} expects {weight.shape[-1]}"
        )
    out = input @ weight.T
    if bias is not None:
        if bias.shape != (weight.shape[0],):
            raise ValueError(
                f"linear: bias of shape {bias.shape} does not match weight of shape "
                f"{weight.shape} (expected ({weight.shape[0]},))"
            )
        # (N, out): one op whose bias gradient is a compiled sum (bias.py); other shapes
        # broadcast with the engine's +
        out = add_bias(out, bias) if out.ndim == 2 else out + bias
    return out
