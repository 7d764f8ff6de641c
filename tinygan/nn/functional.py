"""``tinygan.nn.functional``: PyTorch's spelling of ``tinygan.functional``.

``import tinygan.nn.functional as F`` gives the functions of ``tinygan/functional/`` (activations,
linear, conv2d, batch_norm, dropout, losses) under the name PyTorch code uses. They live there;
this module only names them a second time: every name in ``tinygan.functional.__all__``, so the
two lists cannot drift apart.
"""

from ..functional import *  # noqa: F403 (re-exports exactly tinygan.functional.__all__)
from ..functional import __all__  # noqa: F401
