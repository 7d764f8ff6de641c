"""Instance normalization: standardise each channel of each image on its own.

For an input x of shape (N, C, H, W), channel c of image n is normalised with the mean and the
variance of its own H x W values:

    mean_nc = mean_{i,j} x[n, c, i, j]        var_nc = mean_{i,j} (x[n, c, i, j] - mean_nc)^2
    y[n, c] = (x[n, c] - mean_nc) / sqrt(var_nc + eps) * weight_c + bias_c

(Ulyanov, Vedaldi & Lempitsky 2016). Unlike batch normalization, one image's output does not
depend on the other images of its batch, and training and evaluation compute the same thing, so
there are no running statistics. It is the normalization of image-to-image translation networks
(CycleGAN, Zhu et al. 2017): the contrast of each image is normalised away and the network
learns its "style" itself. It is composed of engine ops, so its gradient (and its second
derivative) come from theirs, as ``batch_norm``'s do.
"""

from ..engine import as_tensor


def instance_norm(input, weight=None, bias=None, eps=1e-5):
    """Normalise every (image, channel) of ``input`` (N, C, H, W) over its H x W values.

    Args:
        input: Tensor of shape (N, C, H, W) with H * W > 1.
        weight, bias: Tensors of shape (C,) (a learned scale and shift), or None for 1 and 0.
        eps: added to the variance, so a constant channel does not divide by zero.
    Returns:
        A Tensor of the input's shape (see the module docstring for the formula).
    """
    input = as_tensor(input)
    if input.ndim != 4:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, H, W), got "
                         f"{input.shape}")
    channels = input.shape[1]
    if input.shape[2] * input.shape[3] <= 1:
        raise ValueError(f"instance_norm: expected more than 1 value per channel, got input of "
                         f"shape {input.shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and tuple(value.shape) != (channels,):
            raise ValueError(f"instance_norm: {name} of shape {tuple(value.shape)} does not match "
                             f"input of shape {input.shape} (expected ({channels},))")
    mean = input.mean(axis=(2, 3), keepdims=True)  # (N, C, 1, 1)
    centered = input - mean
    var = (centered * centered).mean(axis=(2, 3), keepdims=True)  # biased: divide by H W
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight.reshape(1, channels, 1, 1)
    if bias is not None:
        out = out + bias.reshape(1, channels, 1, 1)
    return out
