"""The Tensor: an np.ndarray that remembers how it was computed, so gradients can flow back.

Each op below is one forward/backward pair, recorded with ``record`` (the same public function a
student uses to define an op of their own; its docstring states the contract). Every op is
written in the same three steps, in this order:

1. **forward**: check the arguments and compute ``data`` with NumPy from the inputs' ``.data``;
2. **backward**: ``def backward(g, out, a_, b_)`` right below it, which maps ``g = dL/d(out)``
   to one gradient per input (the chain rule for this one op);
3. **record**: ``return record(data, (a, b), backward, "name")``.

The conventions every backward follows:

- **Values come from the arguments.** ``out`` is the op's output and ``a_``, ``b_``, ... are
  the inputs' values *as saved when the op ran* (the trailing underscore marks a saved value).
  An optimizer that later replaces ``p.data`` changes neither, so a graph always backpropagates
  through the values it computed with, in both modes below.
- **The closure captures constants only**: shapes, axes, exponents, masks, and flags such as
  ``needs_b = b.requires_grad``, all known when the op ran. Never the input Tensors themselves.
- **One gradient per input, in the inputs' order**, of that input's shape (``sum_to`` undoes
  broadcasting; ``backpropagate`` casts the dtype). ``None`` means "no gradient for this input";
  an op returns it only for an input that did not require grad when the op ran (``needs_b`` is
  False), and only where computing the gradient would cost a kernel call or could warn (the
  divisor of ``/``, a Tensor exponent of ``**``, both operands of ``@`` and of the convolutions).
  Every other gradient is always returned; one that nobody needs is dropped by
  ``backpropagate``.
- **Both modes, one code.** The backward receives ndarrays when gradients are plain numbers
  (``loss.backward()``) and Tensors when the backward pass is itself recorded
  (``tinygan.grad(..., create_graph=True)``), so it only uses what both types share: arithmetic,
  ``@``, ``.reshape``, ``.sum``, ``.transpose``, ``.swapaxes``, ``.astype``, indexing, and the
  helpers right below (``_array``, ``_expand``, ``_matmul``, ``_where``, ``_sigmoid_of``,
  ``_log_of``, ``_scatter_add``) and in ``tinygan/shapes.py``.

Broadcasting follows NumPy. When an input was broadcast (shape (3,) added to shape (4, 3)), its
gradient is summed back to its own shape by ``sum_to``: each of its elements was used 4 times, so
it receives the sum of the 4 gradients.

Comparisons (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``) have no derivative: they return a
plain NumPy bool array, never a Tensor (why: the comparisons section of ``Tensor``).
"""

import math

import numpy as np

from . import arguments, dtypes
from .autograd import _GradMode, backpropagate
from .graph import render_graph as _render_graph
from .shapes import keep_reduced_axes, reduced_axes, sum_to

# The engine's matrix products go through this slot. It starts as NumPy's matmul; the line
# `_engine.set_matmul_kernel(kernels.matmul)` in tinygan/__init__.py points it at the active
# rung of tinygan.kernels (naive, NumPy twin or compiled), so that the engine, the layer below
# the kernels, never imports them.
_matmul_kernel = np.matmul


def set_matmul_kernel(kernel):
    """Use ``kernel(a, b)`` (np.matmul semantics on ndarrays) for every ``@`` of the engine."""
    global _matmul_kernel
    _matmul_kernel = kernel


def record(data, parents, backward, op, *, fresh_grads=False):
    """The output Tensor of an op, recorded in the graph: how to define a differentiable op.

    ``data`` is the op's result (an ndarray of floats), computed from the ``.data`` of the input
    Tensors ``parents`` (a tuple). ``op`` names the op in graphs and reprs. ``backward`` is a
    function ``backward(g, out, *inputs)`` that receives

    - ``g``: dL/d(out), the gradient of the loss with respect to the output, of ``data``'s shape;
    - ``out``: the output's value;
    - ``*inputs``: one value per parent, as it was when ``record`` ran (later changes to a
      parent's ``.data`` do not reach the backward);

    as ndarrays in a plain backward pass, and as Tensors when the backward pass is itself
    recorded (``tinygan.grad(..., create_graph=True)``, for second derivatives); so write it
    with arithmetic, ``@``, ``.sum``, ``.reshape`` and the other operations both types share.
    It returns a tuple with one entry per parent: dL/d(parent), of that parent's shape, or None
    for a parent that gets no gradient (e.g. one whose ``requires_grad`` was False, read from a
    flag the closure captured when the op ran). The engine's own ops follow the same contract
    (see the conventions at the top of ``tinygan/engine.py``).

    ``fresh_grads=True`` promises that in a plain backward pass every array ``backward``
    returns is new, made for that parent alone and kept nowhere else (not ``g`` itself, not a
    view of it, not a saved input): ``backward()`` may then store it as a leaf's ``.grad``
    without copying it. ``linear`` and the convolutions, whose gradients are new GEMM results,
    say so; an op that hands ``g`` on (``+``, reshapes) must not.

    A node is recorded only when some parent requires grad and recording is enabled (outside
    ``no_grad()``); otherwise the result is a constant Tensor. Example, a new op ``cube``::

        def cube(x):
            data = x.data ** 3

            def backward(g, out, x_):
                return (g * 3 * x_ * x_,)        # d x^3 / dx = 3 x^2

            return tinygan.record(data, (x,), backward, "cube")

    Check it with ``tinygan.gradcheck(cube, x)`` and ``tinygan.gradgradcheck(cube, x)``.
    """
    out = Tensor.__new__(Tensor)
    out.data = data if type(data) is np.ndarray else np.asarray(data)
    if out.data.dtype.kind != "f":
        raise TypeError(f"record: {op}: data must be an array of floats, got {out.data.dtype}")
    out.grad = None
    out.name = None
    out._op = op
    try:
        recording = _GradMode.enabled and any([p.requires_grad for p in parents])
    except AttributeError:
        raise TypeError(f"record: {op}: parents must be a tuple of Tensors, got "
                        f"{[type(p).__name__ for p in parents]}") from None
    if recording:
        out.requires_grad = True
        out._parents = tuple(parents)
        # The input arrays as this op saw them: an optimizer that later replaces p.data
        # cannot change what this node's backward computes with.
        out._saved = tuple([p.data for p in parents])
        out._backward = backward
        out._fresh_grads = fresh_grads
    else:
        out.requires_grad = False
        out._parents = ()
        out._saved = ()
        out._backward = None
        out._fresh_grads = False
    return out


# --------------------------------------- helpers the backward functions share (both modes)


def _array(value):
    """The ndarray behind a value in either mode (for masks and other constants)."""
    return value.data if isinstance(value, Tensor) else value


def _expand(g, shape):
    """``g`` repeated (broadcast) to ``shape``: a read-only view for ndarrays, an op for Tensors."""
    if g.shape == shape:
        return g
    return g.broadcast_to(shape) if isinstance(g, Tensor) else np.broadcast_to(g, shape)


def _matmul(a, b):
    """a @ b: a recorded op for Tensors, the kernel layer's GEMM for ndarrays (not NumPy's)."""
    return a @ b if isinstance(a, Tensor) or isinstance(b, Tensor) else _matmul_kernel(a, b)


def _where(condition, a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return where(condition, a, b)
    return np.where(condition, a, b)


def _sigmoid_of(value):
    return value.sigmoid() if isinstance(value, Tensor) else _np_sigmoid(value)


def _log_of(value):
    return value.log() if isinstance(value, Tensor) else np.log(value)


def _np_sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))


def _scatter_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index``: the gradient of ``x[index]``.

    Repeated integer indices (x[[0, 0]]) add up, which is why this uses np.add.at for
    integer-array indices; plain slices never repeat, so assignment is enough there.
    """
    if isinstance(g, Tensor):
        data = _scatter_add(g.data, index, shape)

        def backward(gg, out, g_):
            return (gg[index],)  # the adjoint of scattering is gathering

        return record(data, (g,), backward, "scatter_add")
    result = np.zeros(shape, dtype=g.dtype)
    if _has_array_index(index):
        np.add.at(result, index, g)
    else:
        result[index] = g
    return result


def _identity_backward(g, out, value_):
    return (g,)


# ------------------------------------------------------------------------- speed tricks


def _transposed_a_times_g(a_, g, like):
    """``a^T g``, the gradient of ``b`` in ``out = a @ b``, laid out in memory like ``like`` (b).

    When ``b`` is a transposed view, as the weight of a layer ``x @ W.T`` is, ``a^T g`` comes out
    C-ordered in b's shape, so the gradient handed on to W (its transpose) is Fortran-ordered,
    and so is ``W.grad``. ``(g^T a)^T`` is the same matrix computed the other way round, laid out
    like W. What that buys is in the optimizer, whose elementwise updates then read W and its
    gradient in the same order: measured with float32 128 x 128 weights (NumPy, one core), an
    SGD update ``p - lr * g`` takes 14 us instead of 40 us, an Adam-like update 92 us instead
    of 152 us (at 512 x 512: 339 us instead of 896 us for SGD).
    """
    if a_.ndim == like.ndim == 2 and _is_transposed_view(_array(like)):
        return _matmul(g.swapaxes(-1, -2), a_).swapaxes(-1, -2)
    return _matmul(a_.swapaxes(-1, -2), g)


def _is_transposed_view(array):
    return array.flags.f_contiguous and not array.flags.c_contiguous


def _leaky_relu_of(x, slope):
    """x where x > 0, slope * x elsewhere: the forward of ``leaky_relu``, on an ndarray.

    For 0 <= slope <= 1 this equals max(x, slope * x), which NumPy computes without building a
    mask and selecting through it: measured (float32, NumPy, one core) 8 us instead of 352 us for
    256 x 128 values, 1.9 ms instead of 16 ms for 64 x 128 x 14 x 14.
    """
    if 0 <= slope <= 1:
        return np.maximum(x, x * x.dtype.type(slope))
    return np.where(x > 0, x, x * x.dtype.type(slope))


def _leaky_relu_grad_of(x, g, slope):
    """g where x > 0, slope * g elsewhere: the backward of ``leaky_relu``, on ndarrays.

    ``np.where(x > 0, g, slope * g)`` selects through a data-dependent mask and mispredicts a
    branch per element; multiplying g by m = [x > 0] (1 - slope) + slope does the same without
    branches: measured (float32, 256 x 128, one core) 20 us instead of 134 us. m is exactly 1
    where x > 0 only when (1 - slope) + slope rounds to 1 in x's dtype; for a slope where it does
    not, the select is used.
    """
    one_minus, exact_slope = x.dtype.type(1 - slope), x.dtype.type(slope)
    if one_minus + exact_slope != 1:
        return np.where(x > 0, g, g * exact_slope)
    multiplier = (x > 0).astype(x.dtype)
    multiplier *= one_minus
    multiplier += exact_slope
    return g * multiplier


class Tensor:
    """An n-dimensional array of float32 or float64 numbers with reverse-mode autodiff.

    Attributes:
        data: the np.ndarray of values.
        grad: an np.ndarray of dL/d(self) after ``backward()``, or None.
        requires_grad: whether gradients are computed for this tensor.

    Gradient semantics (like PyTorch's for leaves): ``backward()`` *adds* into ``.grad``, so two
    backward passes accumulate; clear it with ``zero_grad()`` (or an optimizer's
    ``zero_grad()``) before the next step. Tensors computed by ops (not leaves) also receive
    ``.grad`` during ``backward()``, accumulated the same way, so a student can inspect every
    intermediate gradient in a debugger or with ``tinygan.render_graph`` (those are read-only).

    Each recorded op keeps the input arrays it computed with, so replacing ``p.data`` with a new
    array (as the optimizers do) after a forward pass does not change that graph's gradients,
    with ``backward()``, ``grad()`` and ``grad(..., create_graph=True)`` alike.
    Writing *into* ``p.data`` (``p.data -= ...``) while a graph that used it still awaits
    ``backward()`` would: update parameters after the backward pass, or through an optimizer.

    Comparisons return NumPy bool arrays (no gradient); a Tensor hashes by identity, so it can
    be a dict key or a set member (optimizers keep their state that way).
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_parents", "_saved", "_backward", "_op",
                 "_fresh_grads")
    # NumPy must not treat a Tensor as an array of objects: with this, ``ndarray * Tensor``
    # returns NotImplemented and Python calls ``Tensor.__rmul__`` instead.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _to_float_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._parents = ()
        self._saved = ()
        self._backward = None
        self._op = None
        self._fresh_grads = False

    # The private name of ``record`` before it was public; kept so older code still runs.
    _result = staticmethod(record)

    # ----------------------------------------------------------------------------- basics

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._backward is None, doc="True when no op produced this.")

    def __len__(self):
        return len(self.data)

    def __bool__(self):
        """Truth of a one-element tensor; for more elements NumPy's ValueError (ambiguous)."""
        return bool(self.data)

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extras = ""
        if self.data.dtype != dtypes.get_default_dtype():
            extras += f", dtype={self.data.dtype}"
        if self._backward is not None:
            extras += f", op={self._op}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    def item(self):
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor of shape {self.shape} has {self.data.size} elements")
        return self.data.item()

    def numpy(self):
        """The underlying ndarray (shared, not copied)."""
        return self.data

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """A tensor sharing this data, cut from the graph: gradients stop here."""
        return Tensor(self.data)

    def requires_grad_(self, requires_grad=True):
        """Mark a leaf as needing gradients (in place); returns self."""
        if not self.is_leaf:
            raise ValueError("requires_grad_: only leaf tensors can change requires_grad")
        self.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self):
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    def backward(self, gradient=None):
        """Backpropagate from this tensor: every tensor it depends on gets ``.grad += dL/dt``.

        ``gradient`` is dL/d(self); it defaults to 1 when self is a scalar (the loss). For a
        non-scalar output it must be given, with self's shape.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no input required grad, or it "
                "was computed under no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: output has shape {self.shape}, not a scalar; pass "
                    f"gradient=<array of shape {self.shape}> (dL/d(output))"
                )
            gradient = np.ones_like(self.data)
        else:
            gradient = _to_float_array(gradient.data if isinstance(gradient, Tensor) else gradient,
                                       self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(
                    f"backward: gradient shape {gradient.shape} differs from output {self.shape}"
                )
        backpropagate([self], [gradient], deliver=_accumulate_grad)

    def _saved_inputs(self):
        """The inputs of the op that computed self, with the values it saved, as Tensors.

        For a recorded backward pass (``create_graph=True``): an input whose ``.data`` is still
        the saved array is passed as itself; one whose ``.data`` was replaced since (an optimizer
        step) is passed as an identity op on the saved array, through which gradients still
        reach it. So both modes of backpropagation compute with the same values.
        """
        return tuple([parent if parent.data is saved
                      else record(saved, (parent,), _identity_backward, "saved")
                      for parent, saved in zip(self._parents, self._saved, strict=True)])

    def render_graph(self, max_nodes=200):
        """The graph that computed this tensor, as text (see ``tinygan.render_graph``)."""
        return _render_graph(self, max_nodes=max_nodes)

    # ---------------------------------------------------------- comparisons (no gradient)
    #
    # ``x > 0`` is a NumPy bool array, not a Tensor: a comparison is piecewise constant, so it
    # has no gradient to record, and Tensors hold floats only. A bool array is what ``where``
    # and indexing take as a mask, and ``(x > 0).mean()`` is the fraction that holds.
    # ``==`` compares values; defining it would make Tensors unhashable, so hashing is set back
    # to identity: a Tensor stays usable as a dict key (optimizer state) or in a set, and
    # containers that need identity compare ``id()`` (``x in list`` would compare values).

    __hash__ = object.__hash__

    def __lt__(self, other):
        return _compare(np.less, self, other)

    def __le__(self, other):
        return _compare(np.less_equal, self, other)

    def __gt__(self, other):
        return _compare(np.greater, self, other)

    def __ge__(self, other):
        return _compare(np.greater_equal, self, other)

    def __eq__(self, other):
        return _compare(np.equal, self, other)

    def __ne__(self, other):
        return _compare(np.not_equal, self, other)

    # --------------------------------------------------------------- elementwise arithmetic

    def __add__(self, other):
        a, b = self, _constant(other, self)
        data = _broadcasting("add", np.add, a, b)

        def backward(g, out, a_, b_):
            return sum_to(g, a_.shape), sum_to(g, b_.shape)

        return record(data, (a, b), backward, "add")

    def __sub__(self, other):
        a, b = self, _constant(other, self)
        data = _broadcasting("sub", np.subtract, a, b)

        def backward(g, out, a_, b_):
            return sum_to(g, a_.shape), sum_to(-g, b_.shape)

        return record(data, (a, b), backward, "sub")

    def __mul__(self, other):
        a, b = self, _constant(other, self)
        data = _broadcasting("mul", np.multiply, a, b)

        def backward(g, out, a_, b_):
            return sum_to(g * b_, a_.shape), sum_to(g * a_, b_.shape)

        return record(data, (a, b), backward, "mul")

    def __truediv__(self, other):
        a, b = self, _constant(other, self)
        data = _broadcasting("div", np.divide, a, b)
        needs_b = b.requires_grad

        def backward(g, out, a_, b_):
            # d(a/b)/da = 1/b,  d(a/b)/db = -a/b^2 = -out/b
            grad_a = sum_to(g / b_, a_.shape)
            grad_b = sum_to(-g * out / b_, b_.shape) if needs_b else None
            return grad_a, grad_b

        return record(data, (a, b), backward, "div")

    def __pow__(self, exponent):
        if isinstance(exponent, int | float):
            p = exponent
            data = self.data**p

            def backward(g, out, a_):
                if p == 0:  # x^0 = 1 is constant; p x^(p-1) would be 0 * inf = nan at x = 0
                    return (g * 0,)
                if p == 1:
                    return (g,)
                return (g * (p * a_ ** (p - 1)),)

            return record(data, (self,), backward, f"pow {p}")

        a, b = self, _constant(exponent, self)
        data = _broadcasting("pow", np.power, a, b)
        needs_b = b.requires_grad

        def backward_tensor_exponent(g, out, a_, b_):
            grad_a = sum_to(g * b_ * a_ ** (b_ - 1), a_.shape)
            # d a^b / db = a^b log a; where a = 0 the product a^b log a tends to 0 (for b > 0)
            grad_b = None
            if needs_b:
                safe_log = _log_of(_where(_array(a_) == 0, 1.0, a_))
                grad_b = sum_to(g * out * safe_log, b_.shape)
            return grad_a, grad_b

        return record(data, (a, b), backward_tensor_exponent, "pow")

    def __neg__(self):
        data = -self.data

        def backward(g, out, a_):
            return (-g,)

        return record(data, (self,), backward, "neg")

    def __radd__(self, other):
        return _constant(other, self) + self

    def __rsub__(self, other):
        return _constant(other, self) - self

    def __rmul__(self, other):
        return _constant(other, self) * self

    def __rtruediv__(self, other):
        return _constant(other, self) / self

    def __rpow__(self, other):
        return _constant(other, self) ** self

    # ------------------------------------------------------------------ matrix product

    def __matmul__(self, other):
        """Matrix product with NumPy's rules: (..., m, k) @ (..., k, n) -> (..., m, n).

        Leading (batch) axes broadcast. A 1-D operand is treated as a row (left) or a column
        (right) vector, and that axis is removed from the result, as in NumPy.
        """
        a, b = self, _constant(other, self)
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: operands must have at least 1 dimension, got "
                             f"{a.shape} @ {b.shape}")
        if a.ndim == 1:  # (k,) -> (1, k), then drop the row axis again
            product = a.reshape(1, -1) @ b
            if b.ndim == 1:  # vector @ vector: the product is (1,); the dot product is 0-d
                return product.reshape(())
            return product.reshape(product.shape[:-2] + product.shape[-1:])
        if b.ndim == 1:  # (k,) -> (k, 1), then drop the column axis again
            product = a @ b.reshape(-1, 1)
            return product.reshape(product.shape[:-1])
        if a.shape[-1] != b.shape[-2]:
            raise ValueError(
                f"matmul: {a.shape} @ {b.shape}: inner dimensions {a.shape[-1]} and "
                f"{b.shape[-2]} differ"
            )
        try:
            data = _matmul_kernel(a.data, b.data)
        except ValueError as error:  # batch axes that do not broadcast
            message = str(error)  # the kernel layer's matmul names itself and the shapes
            if not message.startswith("matmul: "):
                message = f"matmul: {a.shape} @ {b.shape}: {message}"
            raise ValueError(message) from None
        needs_a, needs_b = a.requires_grad, b.requires_grad

        def backward(g, out, a_, b_):
            # out = a b  =>  dL/da = g b^T,  dL/db = a^T g   (summed over broadcast batch axes)
            grad_a = sum_to(_matmul(g, b_.swapaxes(-1, -2)), a_.shape) if needs_a else None
            grad_b = sum_to(_transposed_a_times_g(a_, g, like=b_), b_.shape) if needs_b else None
            return grad_a, grad_b

        return record(data, (a, b), backward, "matmul")

    def __rmatmul__(self, other):
        return _constant(other, self) @ self

    # ------------------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (an int, a tuple, or None for all axes)."""
        shape = self.shape
        axis = _checked_axes("sum", axis, shape)
        data = self.data.sum(axis=axis, keepdims=keepdims)

        def backward(g, out, a_):
            # every summed element contributed with weight 1: copy g back along the summed axes
            return (_expand(keep_reduced_axes(g, shape, axis, keepdims), shape),)

        return record(data, (self,), backward, "sum")

    def mean(self, axis=None, keepdims=False):
        """Mean over ``axis``: the sum divided by the number of elements reduced."""
        axis = _checked_axes("mean", axis, self.shape)
        count = math.prod(self.shape[a] for a in reduced_axes(self.ndim, axis))
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / count if count else np.nan)

    def max(self, axis=None, keepdims=False):
        """Maximum over ``axis``. Where several elements tie for the maximum, the gradient is
        shared equally among them (the average of the one-sided derivatives)."""
        shape = self.shape
        axis = _checked_axes("max", axis, shape)
        data = self.data.max(axis=axis, keepdims=keepdims)

        def backward(g, out, a_):
            a = _array(a_)
            is_max = a == keep_reduced_axes(_array(out), shape, axis, keepdims)
            share = is_max / is_max.sum(axis=axis, keepdims=True)
            return (_expand(keep_reduced_axes(g, shape, axis, keepdims), shape) * share,)

        return record(data, (self,), backward, "max")

    def min(self, axis=None, keepdims=False):
        """Minimum over ``axis``: ``-max(-x)``, with the same tie rule."""
        return -(-self).max(axis=axis, keepdims=keepdims)

    # ---------------------------------------------------------------------- shape changes

    def reshape(self, *shape):
        """The same elements in a new shape (one axis may be -1, as in NumPy)."""
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        input_shape = self.shape
        try:
            data = self.data.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape {input_shape} ({self.data.size} elements) "
                f"into {tuple(shape)}"
            ) from None

        def backward(g, out, a_):
            return (g.reshape(input_shape),)

        return record(data, (self,), backward, "reshape")

    def transpose(self, *axes):
        """Permute the axes (reverse them when none are given), as ``np.transpose``."""
        axes = axes[0] if len(axes) == 1 and isinstance(axes[0], tuple | list) else axes
        ndim = self.data.ndim
        if axes:
            axes = tuple(arguments.axis("transpose", a, ndim, self.shape) for a in axes)
        else:
            axes = tuple(range(ndim - 1, -1, -1))
        if sorted(axes) != list(range(ndim)):
            raise ValueError(f"transpose: {axes} is not a permutation of the axes of {self.shape}")
        data = self.data.transpose(axes)
        inverse = [0] * ndim  # axis axes[i] of the input became axis i of the output
        for i, axis in enumerate(axes):
            inverse[axis] = i

        def backward(g, out, a_):
            return (g.transpose(inverse),)

        return record(data, (self,), backward, "transpose")

    permute = transpose

    def swapaxes(self, axis1, axis2):
        axis1 = arguments.axis("swapaxes", axis1, self.ndim, self.shape)
        axis2 = arguments.axis("swapaxes", axis2, self.ndim, self.shape)
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(axes)

    T = property(lambda self: self.transpose(), doc="All axes reversed (the matrix transpose).")
    mT = property(lambda self: self.swapaxes(-1, -2), doc="The last two axes swapped.")

    def flatten(self, start_dim=0):
        """Merge the axes from ``start_dim`` on: (N, C, H, W).flatten(1) -> (N, C*H*W)."""
        if self.ndim:  # a 0-d tensor flattens to shape (1,), whatever start_dim (NumPy's rule)
            start_dim = arguments.axis("flatten", start_dim, self.ndim, self.shape)
        return self.reshape(*self.shape[:start_dim], math.prod(self.shape[start_dim:]))

    def broadcast_to(self, shape):
        """This tensor repeated along new or size-1 axes to ``shape`` (NumPy's rules)."""
        input_shape = self.shape
        try:
            data = np.broadcast_to(self.data, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast {input_shape} to {shape}") from None

        def backward(g, out, a_):
            return (sum_to(g, input_shape),)

        return record(data, (self,), backward, "broadcast_to")

    def __getitem__(self, index):
        """Indexing and slicing as in NumPy (basic and integer-array indexing)."""
        index = _plain_index(index, self.shape)
        input_shape = self.shape
        data = self.data[index]

        def backward(g, out, a_):
            return (_scatter_add(g, index, input_shape),)

        return record(data, (self,), backward, "getitem")

    def astype(self, dtype):
        """A copy converted to float32 or float64; the gradient is converted back."""
        dtype = dtypes.float_dtype(dtype)
        input_dtype = self.dtype
        if dtype == input_dtype:
            return self
        data = self.data.astype(dtype)

        def backward(g, out, a_):
            return (g.astype(input_dtype),)

        return record(data, (self,), backward, "astype")

    # ----------------------------------------------------------- elementwise functions

    def exp(self):
        data = np.exp(self.data)

        def backward(g, out, a_):
            return (g * out,)  # d e^x / dx = e^x

        return record(data, (self,), backward, "exp")

    def log(self):
        data = np.log(self.data)

        def backward(g, out, a_):
            return (g / a_,)  # d log x / dx = 1/x

        return record(data, (self,), backward, "log")

    def sqrt(self):
        data = np.sqrt(self.data)

        def backward(g, out, a_):
            return (g / (out * 2),)  # d sqrt(x) / dx = 1 / (2 sqrt(x))

        return record(data, (self,), backward, "sqrt")

    def abs(self):
        data = np.abs(self.data)

        def backward(g, out, a_):
            return (g * np.sign(_array(a_)),)

        return record(data, (self,), backward, "abs")

    def tanh(self):
        data = np.tanh(self.data)

        def backward(g, out, a_):
            return (g * (1 - out * out),)  # tanh' = 1 - tanh^2

        return record(data, (self,), backward, "tanh")

    def sigmoid(self):
        """sigma(x) = 1 / (1 + e^-x), computed as exp(-softplus(-x)): it never overflows and
        keeps full relative precision far into the left tail (sigma(-30) = 9.4e-14)."""
        data = _np_sigmoid(self.data)

        def backward(g, out, a_):
            return (g * out * (1 - out),)  # sigma' = sigma (1 - sigma)

        return record(data, (self,), backward, "sigmoid")

    def relu(self):
        data = np.maximum(self.data, 0)

        def backward(g, out, a_):
            return (g * (_array(out) > 0),)

        return record(data, (self,), backward, "relu")

    def leaky_relu(self, negative_slope=0.01):
        """x for x > 0, negative_slope * x otherwise."""
        slope = negative_slope
        data = _leaky_relu_of(self.data, slope)

        def backward(g, out, a_):
            if isinstance(g, Tensor):  # a recorded backward (create_graph): the formula itself
                return (_where(_array(a_) > 0, g, g * slope),)
            return (_leaky_relu_grad_of(a_, g, slope),)

        return record(data, (self,), backward, "leaky_relu")

    def softplus(self):
        """log(1 + e^x), computed as logaddexp(0, x) so large x does not overflow."""
        data = np.logaddexp(0, self.data)

        def backward(g, out, a_):
            return (g * _sigmoid_of(a_),)  # d softplus / dx = sigma(x)

        return record(data, (self,), backward, "softplus")

    def logsigmoid(self):
        """log sigma(x) = -softplus(-x), stable for large |x| (the heart of stable BCE)."""
        data = -np.logaddexp(0, -self.data)

        def backward(g, out, a_):
            return (g * _sigmoid_of(-a_),)  # d log sigma(x) / dx = 1 - sigma(x) = sigma(-x)

        return record(data, (self,), backward, "logsigmoid")

    def clip(self, min=None, max=None):  # noqa: A002 (NumPy's and PyTorch's argument names)
        """Values limited to [min, max]; the gradient is 0 where a value was clipped."""
        data = np.clip(self.data, min, max)

        def backward(g, out, a_):
            a = _array(a_)
            inside = np.ones(a.shape, dtype=bool)
            if min is not None:
                inside &= a >= min
            if max is not None:
                inside &= a <= max
            return (g * inside,)

        return record(data, (self,), backward, "clip")


# ------------------------------------------------------------------ ops on several tensors


def concatenate(tensors, axis=0):
    """Join tensors along an existing axis; the gradient is cut back into the pieces."""
    tensors = _several("concatenate", tensors)
    axis = arguments.axis("concatenate", axis, tensors[0].ndim, tensors[0].shape)
    try:
        data = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        raise ValueError(f"concatenate: shapes {[t.shape for t in tensors]} differ outside "
                         f"axis {axis}") from None
    bounds = np.cumsum([0] + [t.shape[axis] for t in tensors])

    def backward(g, out, *inputs):
        before = (slice(None),) * axis
        return tuple(g[before + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:]))

    return record(data, tensors, backward, "concatenate")


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis; input i gets the gradient's slice i."""
    tensors = _several("stack", tensors)
    axis = arguments.axis("stack", axis, tensors[0].ndim + 1)  # the new axis may be the last
    shapes = [t.shape for t in tensors]
    if len(set(shapes)) > 1:
        raise ValueError(f"stack: tensors must all have the same shape, got {shapes}")
    data = np.stack([t.data for t in tensors], axis=axis)
    count = len(tensors)

    def backward(g, out, *inputs):
        before = (slice(None),) * axis
        return tuple(g[before + (i,)] for i in range(count))

    return record(data, tensors, backward, "stack")


def _several(op, tensors):
    """The tensors joined by concatenate/stack, as Tensors; at least one, with >= 1 axis for
    concatenate."""
    if isinstance(tensors, Tensor | np.ndarray):
        raise TypeError(f"{op}: expected a sequence of tensors, got one {type(tensors).__name__}")
    tensors = tuple(as_tensor(t) for t in tensors)
    if not tensors:
        raise ValueError(f"{op}: expected at least one tensor, got none")
    if op == "concatenate" and tensors[0].ndim == 0:
        raise ValueError("concatenate: 0-d tensors have no axis to join along (use stack)")
    return tensors


def where(condition, a, b):
    """Elementwise choice: a where condition holds, b elsewhere (the condition is a constant)."""
    condition = np.asarray(condition.data if isinstance(condition, Tensor) else condition, bool)
    a = as_tensor(a)
    b = _constant(b, a)
    try:
        data = np.where(condition, a.data, b.data)
    except ValueError:
        raise ValueError(f"where: condition {condition.shape}, a {a.shape} and b {b.shape} "
                         "cannot be broadcast together") from None

    def backward(g, out, a_, b_):
        return sum_to(g * condition, a_.shape), sum_to(g * ~condition, b_.shape)

    return record(data, (a, b), backward, "where")


# ------------------------------------------------------------------------------ creation


def tensor(data, dtype=None, requires_grad=False, name=None):
    """A new leaf Tensor from a list, a number, an ndarray or a Tensor (its data is copied).

    Python numbers, lists and integer arrays become the default dtype (float32); float32 and
    float64 arrays keep theirs unless ``dtype`` is given.
    """
    if isinstance(data, Tensor):
        data = data.data
    result = Tensor(data, requires_grad=requires_grad, dtype=dtype, name=name)
    if isinstance(data, np.ndarray) and np.may_share_memory(result.data, data):
        result.data = result.data.copy()  # a new leaf never aliases the caller's array
    return result


def as_tensor(value, dtype=None):
    """``value`` itself when it is already a Tensor (of the given dtype), else a new constant."""
    if isinstance(value, Tensor) and (dtype is None or value.dtype == dtype):
        return value
    return Tensor(value.data if isinstance(value, Tensor) else value, dtype=dtype)


def _to_float_array(data, dtype=None):
    try:
        array = np.asarray(data)
    except ValueError as error:  # NumPy refuses ragged nested lists ("inhomogeneous shape")
        raise ValueError(f"tensor: the nested lists must form a rectangular array (every row "
                         f"the same length), got {_abbreviated(data)}: {error}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"tensor: cannot make a float tensor from data of dtype {array.dtype}")
    if dtype is not None:
        return array.astype(dtypes.float_dtype(dtype), copy=False)
    if array.dtype.kind == "f" and isinstance(data, np.ndarray | np.generic):
        # NumPy floats keep their precision; Python numbers get the default. A float64 in the
        # other byte order ('>f8' read from a file) or a long double is float64 *precision*,
        # so it becomes native float64 (astype converts the bytes), not the float32 default.
        if array.dtype.itemsize >= 8:
            return array.astype(np.float64, copy=False)
        if array.dtype.itemsize == 4:
            return array.astype(np.float32, copy=False)
    return array.astype(dtypes.get_default_dtype())  # bool, int, unsigned, float16, Python


def _abbreviated(data, limit=60):
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + "..."


def _constant(value, like):
    """The other operand of a binary op: Tensors pass through; numbers take ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, int | float) and not isinstance(value, np.generic):
        return Tensor(np.asarray(value, dtype=like.data.dtype))  # Python numbers: "weak" types
    return Tensor(value)


def _compare(function, tensor, other):
    """A comparison's bool array; NotImplemented for a value that is not a number, an array or
    a Tensor (then ``==`` falls back to identity: ``x == None`` is False)."""
    if isinstance(other, Tensor):
        other = other.data
    elif not isinstance(other, int | float | np.ndarray | np.generic | list | tuple):
        return NotImplemented
    return function(tensor.data, other)


def _accumulate_grad(node, g, owned=False):
    """``backward()``'s delivery: add dL/d(node) into ``node.grad``.

    A leaf's gradient is copied the first time, because ``g`` may be shared with other tensors or
    be a read-only broadcast view, and optimizers or users may change ``.grad`` in place; unless
    the backward pass says nothing else refers to g (``owned``: a sum the pass made, or a new
    array from an op recorded with ``fresh_grads``). An intermediate tensor's gradient is only
    there to be looked at: a read-only view, no copy.
    """
    if node.grad is None and node.is_leaf:
        if owned and g.dtype == node.data.dtype and g.shape == node.data.shape:
            node.grad = g  # an ndarray: the pass owns only those (autograd._own)
        else:  # a writable array of the leaf's dtype, also for a NumPy scalar (a 0-d gradient)
            node.grad = np.array(g, dtype=node.data.dtype)
        return
    total = g if node.grad is None else node.grad + g
    if node.is_leaf:  # 0-d: array + scalar is a NumPy scalar; .grad stays a writable array
        total = np.asarray(total)
    else:  # may be shared with other nodes' gradients: a read-only view
        total = np.asarray(total).view()
        total.flags.writeable = False
    node.grad = total


# ------------------------------------------------------------ checks of the forward passes


def _checked_axes(op, axis, shape):
    """A reduction's ``axis`` (None, an int, or a tuple or list of ints), each checked against
    ``shape`` (an out-of-range axis is an error, not reduced modulo ndim); lists become tuples."""
    if axis is None:
        return None
    if isinstance(axis, tuple | list):
        return tuple(arguments.axis(op, a, len(shape), shape) for a in axis)
    return arguments.axis(op, axis, len(shape), shape)


def _broadcasting(name, function, a, b):
    """Apply a NumPy binary function; a shape mismatch names the op and both shapes."""
    try:
        return function(a.data, b.data)
    except ValueError:
        raise ValueError(
            f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None


def _plain_index(index, shape=None):
    """Indices made of Tensors become NumPy integer arrays.

    The subtle case: a Tensor always holds floats, so ``tensor(mask)`` of a bool mask holds
    0.0 and 1.0, and used as an index it would *gather* rows 1 and 0 instead of masking: a
    silent wrong answer. A Tensor index of only 0s and 1s shaped like the leading axes of the
    indexed tensor (the shape a mask has) is therefore refused as ambiguous; give a mask as a
    NumPy bool array, and integer indices as a list or an integer array.
    """
    if isinstance(index, Tensor):
        values = index.data
        if not np.all(np.mod(values, 1) == 0):
            raise IndexError("getitem: a Tensor used as an index must hold whole numbers, got "
                             f"{values.ravel()[:5]}")
        if (shape is not None and values.ndim and values.shape == tuple(shape[:values.ndim])
                and np.all((values == 0) | (values == 1))):
            raise IndexError(
                f"getitem: a Tensor of 0s and 1s of shape {values.shape} used as an index of a "
                f"tensor of shape {tuple(shape)} is ambiguous (a Tensor holds floats, so a bool "
                "mask became 0./1.): mask with a NumPy bool array (x[mask.numpy() > 0]), or "
                "gather rows with a list or an integer array"
            )
        return values.astype(np.intp)
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _has_array_index(index):
    """True when the index holds integer arrays, which may name the same element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)
