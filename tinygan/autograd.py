"""Reverse-mode differentiation over the graph that Tensor ops record.

Every op on Tensors that require gradients records a node: its inputs (``_parents``) and a
``_backward`` function that maps the gradient of the loss L with respect to the op's output,
``g = dL/d(out)``, to the gradients with respect to its inputs (the chain rule, one op at a time).
Backpropagation visits the nodes from the output back to the leaves, each node after every node
that uses it, so that when a node's backward runs its gradient is complete.

Two modes:

- ``Tensor.backward()`` and ``grad(..., create_graph=False)``: gradients are plain ndarrays and the
  backward functions run on ndarrays, with no bookkeeping (fast).
- ``grad(..., create_graph=True)``: gradients are Tensors and the backward functions run on
  Tensors, so the backward pass is itself recorded as a graph and can be differentiated again
  (second derivatives, the WGAN-GP penalty ``(||grad_x D(x)|| - 1)^2``).

Both modes hand every backward function the input values its op saved when it ran, so they
compute the same numbers even when a parameter's ``.data`` was replaced in between.

This module knows nothing of the Tensor class: it walks nodes through ``_parents``, ``_saved``,
``_backward`` and ``_saved_inputs()``. Its two entry points are ``Tensor.backward()``
(``tinygan/engine.py``) and ``tinygan.grad`` (``tinygan/gradients.py``).
"""

import numpy as np


class _GradMode:
    enabled = True


class no_grad:
    """Context manager (and decorator) in which ops record no graph.

    Use it for evaluation and for parameter updates::

        with tinygan.no_grad():
            fake = G(z)      # fake.requires_grad is False: nothing to backpropagate into
    """

    _enable = False

    def __init__(self):
        self._previous = []  # a stack, so one object can be entered again while in use

    def __enter__(self):
        self._previous.append(_GradMode.enabled)
        _GradMode.enabled = self._enable

    def __exit__(self, *exc_info):
        _GradMode.enabled = self._previous.pop()

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with self.__class__():
                return function(*args, **kwargs)

        wrapper.__name__, wrapper.__doc__ = function.__name__, function.__doc__
        return wrapper


class enable_grad(no_grad):
    """Context manager that records the graph again (inside a ``no_grad`` block)."""

    _enable = True


def is_grad_enabled():
    return _GradMode.enabled


def toposort(roots):
    """The nodes that require grad and lead to ``roots``, every node after all of its inputs.

    Iterative depth-first search with an explicit stack, so a graph 100,000 ops deep does not hit
    Python's recursion limit. Each stack entry is (node, inputs_done): a node is appended to the
    order the second time it is popped, after all of its inputs.
    """
    order, seen = [], set()
    stack = [(root, False) for root in roots if root.requires_grad]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in seen:
                stack.append((parent, False))
    return order


def backpropagate(roots, root_grads, *, create_graph=False, targets=None, deliver=None):
    """Run the chain rule from ``roots`` (seeded with ``root_grads``) back through the graph.

    For every node reached, ``deliver(node, g, owned)`` receives the total gradient dL/d(node);
    ``owned`` is True when nothing else refers to the array g: a sum this pass made (``_sum``),
    or a gradient an op recorded with ``fresh_grads`` made (``record``). The receiver may keep
    it without copying it.
    With ``targets``, only nodes that lie on a path to a target are visited.
    With ``create_graph``, gradients are Tensors and the backward functions are recorded.
    """
    order = toposort(roots)
    if targets is not None:
        order = _on_path_to(order, targets)
    grads = {}
    owned = set()  # ids of the arrays in `grads` nothing else refers to (see above)
    for root, g in zip(roots, root_grads, strict=True):
        if root.requires_grad:
            grads[id(root)] = g if id(root) not in grads else grads[id(root)] + g
    visiting = {id(node) for node in order}

    with (enable_grad() if create_graph else no_grad()):
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            is_owned = id(g) in owned
            owned.discard(id(g))  # from here on the receiver's (an id may be reused once freed)
            deliver(node, g, is_owned)
            if node._backward is None:
                continue
            if create_graph:  # Tensors holding the saved values, still linked to the inputs
                input_grads = node._backward(g, node, *node._saved_inputs())
            else:
                input_grads = node._backward(g, node.data, *node._saved)
            fresh = node._fresh_grads and not create_graph  # new arrays: see record()
            for parent, parent_grad in zip(node._parents, input_grads, strict=True):
                if parent_grad is None or id(parent) not in visiting:
                    continue
                if parent_grad.dtype != parent.data.dtype:
                    parent_grad = parent_grad.astype(parent.data.dtype)
                previous = grads.get(id(parent))
                if previous is None:
                    grads[id(parent)] = parent_grad
                    if fresh:
                        _own(owned, parent_grad)
                else:
                    grads[id(parent)] = _sum(previous, parent_grad, owned, create_graph)


def _sum(previous, g, owned, create_graph):
    """previous + g, the gradient of a node used more than once (dL/dx adds up over x's uses).

    The first sum is a new array, and this pass owns it (``owned`` holds its id): nothing else
    refers to it, so the next use's gradient is added into it in place, and the receiver of the
    total may keep it as it is. Measured on the image recipe's D step (``python
    benchmarks/bench_dcgan.py --recipe``), where D's 6272 x 1024 Dense weight gets one gradient
    from the real batch and one from the fakes: ``backward()`` stores the sum as the weight's
    .grad instead of copying all 25 MB of it once more.
    """
    if create_graph:  # Tensors: the sum is an op of the recorded graph
        return previous + g
    if id(previous) in owned and previous.shape == g.shape and previous.dtype == g.dtype:
        previous += g
        return previous
    total = previous + g
    _own(owned, total)
    return total


def _own(owned, g):
    """Mark g as the pass's own: only an ndarray. Two 0-d gradients add up to a NumPy scalar,
    which is immutable (``+=`` on it makes a new object) and is no writable ``.grad``."""
    if type(g) is np.ndarray:
        owned.add(id(g))


def _on_path_to(order, targets):
    """Keep the nodes of ``order`` from which some target can be reached going backwards."""
    relevant = {id(t) for t in targets}
    for node in order:  # inputs come before the nodes that use them
        if any(id(p) in relevant for p in node._parents):
            relevant.add(id(node))
    return [node for node in order if id(node) in relevant]
