"""tinygan.models: the DCGAN players (Radford et al.) and their conditional variants: shapes for
28x28x1 and 64x64x3, the paper's initialisation, a few training steps, the label's effect."""

import numpy as np
import pytest

import tinygan as tg
import tinygan.functional as F
from tinygan import nn, optim
from tinygan.models import Discriminator, Generator, dcgan, dcgan_init_
from tinygan.models.dcgan import _with_label, start_size


def test_dcgan_init():
    model = nn.Sequential(nn.ConvTranspose2d(16, 64, 4), nn.BatchNorm2d(64), nn.ReLU(),
                          nn.Conv2d(64, 64, 3), nn.Flatten(), nn.Dense(64, 64))
    assert dcgan_init_(model) is model
    for index in (0, 3, 5):
        weight = model[index].weight.data
        assert abs(weight.mean()) < 0.002 and abs(weight.std() - 0.02) < 0.002
        np.testing.assert_array_equal(model[index].bias.data, 0.0)
    gamma = model[1].weight.data
    assert abs(gamma.mean() - 1) < 0.01 and 0.01 < gamma.std() < 0.03
    np.testing.assert_array_equal(model[1].bias.data, 0.0)


def feature_map_shapes(model, x, *label):
    """The output shape of every layer of model.net (the label enters before the first)."""
    shapes = []
    h = model.net[0](x if not label else _with_label(model, x, *label, "x"))
    shapes.append(h.shape)
    for layer in list(model.net)[1:]:
        h = layer(h)
        shapes.append(h.shape)
    return shapes


def test_mnist_dcgan_is_the_common_pytorch_architecture():
    G, D = dcgan()  # 28x28x1, z = 100
    z = tg.randn(3, 100)
    shapes = feature_map_shapes(G, z)
    assert shapes[1] == (3, 128, 7, 7) and (3, 64, 14, 14) in shapes
    assert shapes[-1] == (3, 1, 28, 28)
    x = G(z)
    assert np.all(np.abs(x.data) <= 1)  # tanh
    shapes = feature_map_shapes(D, x)
    assert (3, 64, 14, 14) in shapes and (3, 128, 7, 7) in shapes
    assert D(x).shape == (3,)  # logits, no sigmoid
    assert isinstance(D.net[1], nn.LeakyReLU) and D.net[1].negative_slope == 0.2
    assert not any(isinstance(m, nn.MaxPool2d) for m in D.modules())  # strided convs only
    # batch norm everywhere but G's output and D's input
    assert not isinstance(D.net[1], nn.BatchNorm2d) and isinstance(G.net[-1], nn.Tanh)


def test_radford_64x64_rgb_architecture():
    G, D = dcgan(image_size=64, channels=3, base_channels=128)
    z = tg.randn(1, 100)  # one sample: batch norm still sees 16 or more values per channel
    shapes = feature_map_shapes(G, z)
    for expected in [(1, 1024, 4, 4), (1, 512, 8, 8), (1, 256, 16, 16), (1, 128, 32, 32),
                     (1, 3, 64, 64)]:
        assert expected in shapes
    shapes = feature_map_shapes(D, G(z))
    for expected in [(1, 128, 32, 32), (1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4),
                     (1, 1)]:
        assert expected in shapes


def dcgan_steps(G, D, n, steps, labels=None):
    """D step on real + detached fakes (BCE with logits), then the non-saturating G step."""
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = tg.rand(n, *D.image_shape) * 2 - 1
    extra = () if labels is None else (labels,)
    losses = []
    for _ in range(steps):
        fake = G(tg.randn(n, G.latent_dim), *extra)
        loss_d = (F.binary_cross_entropy_with_logits(D(real, *extra), np.ones(n))
                  + F.binary_cross_entropy_with_logits(D(fake.detach(), *extra), np.zeros(n)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(D(fake, *extra), np.ones(n))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        losses.append((loss_d.item(), loss_g.item()))
    return losses


@pytest.mark.parametrize("image_size, channels, base, conditional", [
    (28, 1, 64, False), (28, 1, 16, True), (64, 3, 16, False)])
def test_a_few_dcgan_steps_change_both_players(image_size, channels, base, conditional):
    G, D = dcgan(image_size, channels, base_channels=base, num_classes=10 if conditional else None)
    before = {name: p.data.copy() for model in (G, D) for name, p in
              [(f"{type(model).__name__}.{k}", p) for k, p in model.named_parameters()]}
    labels = np.arange(4) if conditional else None
    losses = dcgan_steps(G, D, 4, 2, labels)
    assert np.all(np.isfinite(losses))
    after = {f"{type(m).__name__}.{k}": p.data for m in (G, D) for k, p in m.named_parameters()}
    unchanged = [name for name in before if np.array_equal(before[name], after[name])]
    assert not unchanged, unchanged


def test_conditional_generator_output_depends_on_the_label():
    G, D = dcgan(num_classes=10, base_channels=16)
    G.eval()
    z = tg.randn(1, 100).data.repeat(10, axis=0)  # one z, ten labels
    images = G(z, np.arange(10)).data
    assert images.shape == (10, 1, 28, 28)
    differences = np.abs(images[:, None] - images[None]).max(axis=(2, 3, 4))
    assert np.all(differences[~np.eye(10, dtype=bool)] > 1e-4)
    x = tg.tensor(images[:1].repeat(2, axis=0))
    logits = D(x, np.array([0, 1])).data
    assert logits[0] != logits[1]  # the same image judged under two labels


def test_label_errors_say_how_to_call_the_model():
    G, D = dcgan(base_channels=8)
    with pytest.raises(ValueError, match=r"unconditional; call it as G\(z\) without a label"):
        G(tg.randn(2, 100), np.array([0, 1]))
    Gc, Dc = dcgan(base_channels=8, num_classes=10)
    with pytest.raises(ValueError, match=r"conditional \(10 classes\); call it as D\(x, y\)"):
        Dc(tg.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"labels y must have shape \(2,\), got \(3,\)"):
        Gc(tg.randn(2, 100), np.array([0, 1, 2]))
    with pytest.raises(IndexError, match=r"0..9"):
        Gc(tg.randn(2, 100), np.array([0, 10]))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 100\), got \(2, 64\)"):
        G(tg.randn(2, 64))
    with pytest.raises(ValueError, match=r"x must have shape \(N, \*\(1, 28, 28\)\), got"):
        D(tg.zeros(2, 3, 28, 28))


def test_image_sizes():
    assert start_size(28) == (7, 2) and start_size(64) == (4, 4) and start_size(32) == (4, 3)
    with pytest.raises(ValueError, match=r"s \* 2\^k with 4 <= s <= 7.*got 30 = 15 \* 2\^1"):
        Generator(image_size=30)
    with pytest.raises(ValueError, match="image_size must be an int >= 8"):
        Discriminator(image_size=4)


def test_conditional_players_gradients_reach_the_label_embeddings():
    G, D = dcgan(image_size=8, latent_dim=3, base_channels=2, num_classes=3)
    G.double()
    D.double()
    labels = np.array([2, 0, 2])
    z = tg.tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)
    assert tg.gradcheck(lambda z, e: G(z, labels), [z, G.label_embedding.weight])
    x = tg.tensor(np.random.default_rng(1).uniform(-1, 1, (3, 1, 8, 8)), requires_grad=True)
    assert tg.gradcheck(lambda x, e: D(x, labels), [x, D.label_embedding.weight])


def test_packed_discriminator_judges_consecutive_images_together():
    D = Discriminator(base_channels=8, pack=2).eval()  # eval: no batch statistics coupling
    x = tg.randn(4, 1, 28, 28).data
    logits = D(x).data
    assert logits.shape == (2,)
    changed = x.copy()
    changed[3] += 1.0  # the second pack only
    again = D(changed).data
    assert again[0] == logits[0] and again[1] != logits[1]
    swapped = D(x[[1, 0, 2, 3]]).data  # order within a pack matters: the channels differ
    assert swapped[0] != logits[0]
    with pytest.raises(ValueError, match="a batch of 3 images cannot be cut into packs of 2"):
        D(x[:3])
    with pytest.raises(ValueError, match="pack must be an int >= 1, got 0"):
        Discriminator(pack=0)
    Dc = Discriminator(base_channels=8, pack=2, num_classes=10).eval()
    assert Dc(x, np.array([0, 1, 2, 3])).shape == (2,)


def test_eval_mode_samples_match_training_mode_samples_after_training():
    """tinygan sample draws G(z) in eval mode (batch norm with its running statistics). Trained
    with the recipe's schedule (the learning rates fall linearly to 0 over the second half, so the
    running statistics catch up with the weights), the same z gives nearly the same image in both
    modes: 45x closer than two different z (measured; without the decay only 4x: the weights
    move faster than the running averages follow), and D rates both alike."""
    from tinygan import gan
    from tinygan.runs import TrainConfig

    tg.manual_seed(0)
    G, D = dcgan(base_channels=8, latent_dim=16)
    opt_G = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_D = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    # Real data: bright squares at random places on a dark background.
    real = -np.ones((256, 1, 28, 28), np.float32)
    for image, (r, c) in zip(real, rng.integers(2, 18, (256, 2))):
        image[0, r:r + 8, c:c + 8] = 1.0

    def batches():
        while True:
            yield tg.tensor(real[rng.integers(0, 256, 64)])

    steps = 120
    gan.fit(G, D, opt_G, opt_D, batches(), lambda n: tg.randn(n, 16), steps, progress=False,
            lr_schedule=gan.linear_decay(steps, TrainConfig().lr_decay_start))
    z, other = tg.randn(64, 16), tg.randn(64, 16)
    with tg.no_grad():
        G.train()
        training, training_other = G(z).data, G(other).data
        G.eval()
        evaluation = G(z).data
        D.eval()
        d_training = F.sigmoid(D(tg.tensor(training))).data.mean()
        d_evaluation = F.sigmoid(D(tg.tensor(evaluation))).data.mean()
    modes = np.abs(evaluation - training).mean()
    between_z = np.abs(training - training_other).mean()
    assert modes < 0.1 * between_z, (modes, between_z)
    assert abs(d_training - d_evaluation) < 0.02, (d_training, d_evaluation)


def test_infogan_discriminator_has_a_code_head_on_the_same_features():
    G, D = dcgan(image_size=8, latent_dim=3, base_channels=4, codes=5)
    assert G.num_classes == 5 and D.num_classes is None and D.codes == 5
    D.eval()
    x = tg.randn(6, 1, 8, 8).data
    logits, code_logits = D.judge_and_decode(x)
    assert logits.shape == (6,) and code_logits.shape == (6, 5)
    np.testing.assert_array_equal(logits.data, D(x).data)  # D(x) is the same head
    assert G(tg.randn(6, 3), np.arange(6) % 5).shape == (6, 1, 8, 8)
    with pytest.raises(ValueError, match="no code head; build it with codes=K"):
        Discriminator(image_size=8).judge_and_decode(x)
    with pytest.raises(ValueError, match="work with pack = 1 and no num_classes, got pack = 2"):
        Discriminator(image_size=8, pack=2, codes=3)
    with pytest.raises(ValueError, match="codes must be an int >= 0, got -1"):
        Discriminator(image_size=8, codes=-1)
