"""Seeing the computation graph: a plain-text tree of the ops that produced a tensor.

    >>> x = tinygan.tensor([1.0, 2.0], requires_grad=True, name="x")
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> print(tinygan.render_graph(y))
    sum      ()            float32  grad |1|
    └─ mul   (2,)          float32  grad |1.414|
       ├─ x  (2,)          float32  grad |4.472|  leaf
       └─ x  (2,)          float32  (shown above)

Each line is one node: its op (or a leaf's name), shape, dtype and, once ``backward()`` has run,
the Euclidean norm of its gradient. A node used twice is drawn once; later uses say so.
"""

import numpy as np


def render_graph(root, max_nodes=200):
    """The graph that computed ``root`` as text, output at the top and leaves at the bottom."""
    rows, shown = [], set()
    stack = [(root, "", "")]  # (node, prefix of its own line, prefix of its inputs' lines)
    while stack and len(rows) < max_nodes:
        node, line_prefix, child_prefix = stack.pop()
        label = node.name or ("leaf" if node.is_leaf else node._op)
        if id(node) in shown:
            rows.append((line_prefix + label, node, "(shown above)"))
            continue
        shown.add(id(node))
        rows.append((line_prefix + label, node, None))
        parents = node._parents
        for i, parent in reversed(list(enumerate(parents))):
            last = i == len(parents) - 1
            stack.append(
                (parent, child_prefix + ("└─ " if last else "├─ "),
                 child_prefix + ("   " if last else "│  "))
            )
    if stack:
        rows.append((f"... ({len(stack)} more branches; raise max_nodes to see them)", None, None))
    return _format(rows)


def _format(rows):
    width = max(len(label) for label, _, _ in rows) + 2
    lines = []
    for label, node, note in rows:
        if node is None:
            lines.append(label)
            continue
        text = f"{label:<{width}}{str(node.shape):<14}{str(node.dtype):<9}"
        if note:
            text += note
        else:
            if node.grad is not None:
                text += f"grad |{np.linalg.norm(np.asarray(node.grad, np.float64)):.4g}|"
            if node.is_leaf:
                text += "  leaf" + ("" if node.requires_grad else " (constant)")
        lines.append(text.rstrip())
    return "\n".join(lines)
