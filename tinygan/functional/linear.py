"""The affine map of a fully connected layer.

    y = x W^T + b        x: (..., in_features)   W: (out_features, in_features)   b: (out_features,)
                         y: (..., out_features)

W is stored (out, in), as in PyTorch, so that row j of W holds the weights of output unit j.

Its gradients, given g = dL/dy of shape (N, out) for an (N, in) input:

    dL/dx = g W          dL/dW = g^T x          dL/db = sum over the batch of g

``linear_composed`` builds y from the engine ops ``@``, ``.T`` and ``+`` (three graph nodes,
whose backward functions produce exactly these three products): read it first. ``linear``, what
Dense calls, is the same map as ONE op for a 2-D input, with the three lines above as its
backward (each one kernel call: two GEMMs and the compiled bias sum). It computes the same
numbers; what it saves is the engine's bookkeeping of the two extra nodes per layer (a record,
a visit in the backward pass and a gradient handed on for each), which is most of what a small
MLP's step costs beyond its arithmetic (the toy GAN: benchmarks/bench_toy.py).
"""

from .. import kernels
from ..engine import Tensor, record
from .bias import bias_gradient


def _check(input, weight, bias):
    if input.ndim < 1 or input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 0} "
            f"features, but weight of shape {weight.shape} expects {weight.shape[-1]}"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(
            f"linear: bias of shape {bias.shape} does not match weight of shape "
            f"{weight.shape} (expected ({weight.shape[0]},))"
        )


def linear_composed(input, weight, bias=None):
    """``input @ weight.T + bias``; the gradients come from the ops ``@``, ``.T`` and ``+``."""
    _check(input, weight, bias)
    out = input @ weight.T
    if bias is not None:
        out = out + bias
    return out


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` as one op for (N, in) inputs (others: ``linear_composed``)."""
    _check(input, weight, bias)
    dtype = input.dtype
    if (input.ndim != 2 or weight.ndim != 2 or weight.dtype != dtype
            or (bias is not None and bias.dtype != dtype)):
        return linear_composed(input, weight, bias)  # batch axes, mixed precision: the ops
    data = kernels.gemm(input.data, weight.data, transpose_b=True)  # x W^T, (N, out)
    if bias is not None:
        data += bias.data  # in place: data is this op's own new array
    parents = (input, weight) if bias is None else (input, weight, bias)
    needs_x, needs_w = input.requires_grad, weight.requires_grad
    needs_b = bias is not None and bias.requires_grad

    def backward(g, out, x_, w_, *b_):
        if isinstance(g, Tensor):  # a recorded backward (create_graph): the same lines as ops
            grads = (g @ w_, g.T @ x_)
        else:
            grads = (kernels.gemm(g, w_) if needs_x else None,  # g W
                     kernels.gemm(g, x_, transpose_a=True) if needs_w else None)  # g^T x
        if bias is None:
            return grads
        return grads + (bias_gradient(g) if needs_b else None,)  # g summed over the batch

    # every gradient is a new array (two GEMM results and a sum): backward() keeps W's as
    # W.grad without a copy, which for the image recipe's 6272 x 1024 weight is 25 MB a step
    return record(data, parents, backward, "linear", fresh_grads=True)

