"""render_graph: the computation graph as text, with each node's op, shape, dtype and |grad|."""

import re

import numpy as np

import tinygan as tg


def grad_norm_text(grad):
    return f"grad |{np.linalg.norm(np.asarray(grad, np.float64)):.4g}|"


def _small_graph():
    x = tg.tensor([[1.0, 2.0, -1.0]], requires_grad=True, name="x")
    w = tg.tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True, name="w")
    h = (x @ w.T).tanh()
    loss = (h * h).sum()
    return x, w, h, loss


def test_lines_name_each_op_with_shape_dtype_and_grad_norm():
    x, w, h, loss = _small_graph()
    loss.backward()
    text = tg.render_graph(loss)
    lines = text.splitlines()
    assert lines[0].startswith("sum")
    for op in ("sum", "mul", "tanh", "matmul", "transpose"):
        assert re.search(rf"\b{op}\b", text), f"{op} missing from\n{text}"
    for node in (loss, h, x, w):
        expected = [str(node.shape), str(node.dtype), grad_norm_text(node.grad)]
        assert any(all(part in line for part in expected) for line in lines), \
            f"no line with {expected} in\n{text}"
    for leaf in (x, w):
        line = next(line for line in lines if re.search(rf"─ {leaf.name}\b", line))
        assert line.endswith("leaf") and grad_norm_text(leaf.grad) in line, line
        assert str(leaf.shape) in line, line
    assert tg.render_graph(loss) == loss.render_graph()


def test_grad_norms_match_numpy():
    x = tg.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    y.backward()
    text = tg.render_graph(y)
    assert f"grad |{np.linalg.norm(x.grad):.4g}|" in text  # |(2, 4)| = 4.472
    assert "grad |4.472|" in text
    assert "grad |1.414|" in text  # mul's gradient: ones(2)


def test_a_shared_node_is_drawn_once_then_shown_above():
    x = tg.tensor([1.0, 2.0], requires_grad=True, name="x")
    y = (x * x).sum()
    lines = tg.render_graph(y).splitlines()
    x_lines = [line for line in lines if re.search(r"\bx\b", line)]
    assert len(x_lines) == 2
    assert "(shown above)" not in x_lines[0] and "(shown above)" in x_lines[1]


def test_before_backward_there_are_no_grads_and_constants_are_marked():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor([3.0, 4.0])
    text = tg.render_graph((x * c).sum())
    assert "grad |" not in text
    assert "leaf (constant)" in text
    assert re.search(r"leaf$", text, re.MULTILINE)


def test_a_10000_deep_graph_renders_truncated_without_recursion():
    x = tg.tensor(1.0, requires_grad=True, name="x")
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    text = tg.render_graph(y, max_nodes=50)
    lines = text.splitlines()
    assert len(lines) == 51
    assert re.fullmatch(r"\.\.\. \(\d+ more branches; raise max_nodes to see them\)", lines[-1])
    assert lines[0].startswith("add")
    assert len(tg.render_graph(y).splitlines()) == 201  # the default max_nodes is 200
    # the text is cut after max_nodes nodes, wherever that lands in a 40,001-node graph
    deeper = tg.render_graph(y, max_nodes=2_000).splitlines()
    assert len(deeper) == 2_001 and "more branches" in deeper[-1]
