"""Shape errors say which op failed and on which shapes, so a student can find the bad line."""

import re

import numpy as np
import pytest

import tinygan as tg


def test_matmul_inner_dimension_mismatch_message():
    x, w = tg.zeros(64, 784), tg.zeros(28, 10)
    with pytest.raises(ValueError) as caught:
        x @ w
    assert str(caught.value) == "matmul: (64, 784) @ (28, 10): inner dimensions 784 and 28 differ"


def test_matmul_batched_inner_dimension_mismatch_message():
    with pytest.raises(ValueError, match=re.escape(
            "matmul: (2, 3, 4) @ (2, 5, 2): inner dimensions 4 and 5 differ")):
        tg.zeros(2, 3, 4) @ tg.zeros(2, 5, 2)


def test_matmul_batch_axes_that_do_not_broadcast_name_both_shapes():
    with pytest.raises(ValueError, match=re.escape("matmul: (2, 3, 4) @ (5, 4, 2)")):
        tg.zeros(2, 3, 4) @ tg.zeros(5, 4, 2)


def test_matmul_of_a_0d_operand_is_refused():
    with pytest.raises(ValueError, match=r"matmul: operands must have at least 1 dimension"):
        tg.tensor(2.0) @ tg.zeros(2, 2)


@pytest.mark.parametrize("name, op", [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a ** b),
])
def test_broadcast_failure_names_the_op_and_both_shapes(name, op):
    a, b = tg.ones(2, 3), tg.ones(4)
    with pytest.raises(ValueError) as caught:
        op(a, b)
    assert str(caught.value) == f"{name}: shapes (2, 3) and (4,) cannot be broadcast together"


def test_broadcast_failure_with_an_ndarray_on_the_left_names_the_shapes():
    with pytest.raises(ValueError, match=re.escape("(4,) and (2, 3)")):
        np.ones(4) - tg.ones(2, 3)


def test_where_broadcast_failure_names_the_op():
    with pytest.raises(ValueError, match=r"^where: .*\(2,\).*\(3,\)"):
        tg.where(np.array([True, False]), tg.ones(3), tg.ones(3))


def test_broadcast_to_failure_names_both_shapes():
    message = "broadcast_to: cannot broadcast (3,) to (2, 4)"
    with pytest.raises(ValueError, match=re.escape(message)):
        tg.ones(3).broadcast_to((2, 4))


def test_reshape_failure_names_shape_size_and_target():
    with pytest.raises(ValueError) as caught:
        tg.ones(2, 3).reshape(4, 2)
    assert str(caught.value) == "reshape: cannot reshape (2, 3) (6 elements) into (4, 2)"


def test_transpose_with_axes_that_are_not_a_permutation():
    with pytest.raises(ValueError, match=r"transpose: \(0, 0\) is not a permutation.*\(2, 3\)"):
        tg.ones(2, 3).transpose(0, 0)


def test_item_of_a_tensor_with_several_elements():
    with pytest.raises(ValueError, match=r"item: tensor of shape \(2,\) has 2 elements"):
        tg.ones(2).item()
