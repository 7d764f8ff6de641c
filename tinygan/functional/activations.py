"""Activation functions: thin wrappers over the Tensor methods that define them.

Each op (forward and backward) lives in ``tinygan/engine.py``; these names exist so that code
reads like PyTorch's ``torch.nn.functional`` (``F.leaky_relu(x, 0.2)``).
All of them act elementwise: the output has the input's shape.
"""


def relu(input):
    """max(x, 0)."""
    return input.relu()


def leaky_relu(input, negative_slope=0.01):
    """x for x > 0, negative_slope * x otherwise (DCGAN's discriminator uses 0.2)."""
    return input.leaky_relu(negative_slope)


def tanh(input):
    """(e^x - e^-x) / (e^x + e^-x), in (-1, 1): the DCGAN generator's output layer."""
    return input.tanh()


def sigmoid(input):
    """sigma(x) = 1 / (1 + e^-x), in (0, 1): a probability."""
    return input.sigmoid()


def softplus(input):
    """log(1 + e^x), a smooth relu; -softplus(-x) = log sigma(x)."""
    return input.softplus()


def logsigmoid(input):
    """log sigma(x) = -softplus(-x), finite for every x (log(sigmoid(x)) is -inf below -104)."""
    return input.logsigmoid()
