"""Against PyTorch (skipped when torch is not installed): the same architectures give the same
outputs and gradients once weights are copied through state dicts — both ways, in train and eval
mode — and the optimizers follow torch.optim's trajectories. Run with ``-s`` to see the largest
differences."""

import numpy as np
import pytest

import tinygan
import tinygan.functional as F
from tinygan import nn, optim
from tinygan.models import dcgan_init_

torch = pytest.importorskip("torch")


def mlp_spec():
    return [("Dense", (4, 16)), ("BatchNorm1d", (16,)), ("LeakyReLU", (0.2,)),
            ("Dense", (16, 8)), ("BatchNorm1d", (8,)), ("LeakyReLU", (0.2,)), ("Dense", (8, 1))]


def dcgan_spec():
    """A small generator (z (N, 8, 1, 1) -> (N, 1, 16, 16) image) followed by a discriminator."""
    return [
        ("ConvTranspose2d", (8, 6, 4, 1, 0), {"bias": False}), ("BatchNorm2d", (6,)),
        ("ReLU", ()),
        ("ConvTranspose2d", (6, 4, 3, 2, 1), {"output_padding": 1}), ("BatchNorm2d", (4,)),
        ("ReLU", ()),
        ("ConvTranspose2d", (4, 1, 4, 2, 1)), ("Tanh", ()),
        ("Conv2d", (1, 4, 4, 2, 1)), ("LeakyReLU", (0.2,)),
        ("Conv2d", (4, 8, (3, 2), 2, 1), {"bias": False}), ("BatchNorm2d", (8,)),
        ("LeakyReLU", (0.2,)), ("Flatten", ()), ("Dense", (8 * 4 * 5, 1)), ("Sigmoid", ()),
    ]


def build(spec, library):
    layers = []
    for entry in spec:
        name, args, kwargs = entry if len(entry) == 3 else (*entry, {})
        if library is torch.nn and name == "Dense":
            name = "Linear"
        layers.append(getattr(library, name)(*args, **kwargs))
    return library.Sequential(*layers)


def to_torch(state):
    return {k: torch.from_numpy(v) for k, v in state.items()}


def from_torch(state):
    return {k: v.detach().numpy().copy() for k, v in state.items()}


def run_both(ours, theirs, x, upstream):
    """Forward, then backward of sum(output * upstream), in both libraries."""
    x_ours = tinygan.tensor(x, requires_grad=True)
    out_ours = ours(x_ours)
    (out_ours * tinygan.tensor(upstream)).sum().backward()
    x_theirs = torch.from_numpy(x.copy()).requires_grad_(True)
    out_theirs = theirs(x_theirs)
    (out_theirs * torch.from_numpy(upstream)).sum().backward()
    return (out_ours.data, x_ours.grad), (out_theirs.detach().numpy(), x_theirs.grad.numpy())


def max_difference(ours, theirs, x, upstream):
    """Largest |difference| over outputs, input gradients, parameter gradients and buffers."""
    (out_a, gx_a), (out_b, gx_b) = run_both(ours, theirs, x, upstream)
    differences = {"output": np.abs(out_a - out_b).max(), "input grad": np.abs(gx_a - gx_b).max()}
    theirs_params = dict(theirs.named_parameters())
    differences["param grads"] = max(
        np.abs(p.grad - theirs_params[name].grad.numpy()).max()
        for name, p in ours.named_parameters())
    theirs_state = from_torch(theirs.state_dict())
    differences["state"] = max(np.abs(v - theirs_state[k]).max()
                               for k, v in ours.state_dict().items())
    return differences


@pytest.mark.parametrize("spec, input_shape", [(mlp_spec, (6, 4)), (dcgan_spec, (5, 8, 1, 1))])
@pytest.mark.parametrize("direction", ["tinygan->torch", "torch->tinygan"])
def test_same_outputs_and_gradients_as_torch(spec, input_shape, direction):
    tinygan.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = build(spec(), nn), build(spec(), torch.nn)
    if direction == "tinygan->torch":
        dcgan_init_(ours)  # any weights but torch's own: N(0, 0.02), gamma ~ N(1, 0.02)
        result = theirs.load_state_dict(to_torch(ours.state_dict()), strict=True)
        assert not result.missing_keys and not result.unexpected_keys
    else:
        ours.load_state_dict(from_torch(theirs.state_dict()), strict=True)
    assert list(ours.state_dict()) == list(theirs.state_dict())

    rng = np.random.default_rng(1)
    for mode in ("train", "eval", "train"):  # train twice: running stats move on
        ours.train(mode == "train")
        theirs.train(mode == "train")
        ours.zero_grad()
        theirs.zero_grad()
        x = rng.standard_normal(input_shape).astype(np.float32)
        upstream = rng.standard_normal((input_shape[0], 1)).astype(np.float32)
        differences = max_difference(ours, theirs, x, upstream)
        print(f"\n{spec.__name__} {direction} {mode}: " + ", ".join(
            f"{k} {v:.2e}" for k, v in differences.items()))
        assert max(differences.values()) < 1e-4, differences


def test_bce_losses_match_torch():
    rng = np.random.default_rng(0)
    logits = np.concatenate([rng.standard_normal(6) * 3, [1000.0, -1000.0]])
    target = np.array([1, 0, 1, 0, 0.3, 1, 0, 1], dtype=np.float64)
    weight, pos_weight = rng.random(8), np.full(8, 2.5)
    cases = [
        ("bce_with_logits", lambda l, t: F.binary_cross_entropy_with_logits(
            l, t, weight, "mean", pos_weight),
         lambda l, t: torch.nn.functional.binary_cross_entropy_with_logits(
             l, t, torch.from_numpy(weight), reduction="mean",
             pos_weight=torch.from_numpy(pos_weight))),
        ("bce", lambda l, t: F.binary_cross_entropy(l.sigmoid(), t, reduction="sum"),
         lambda l, t: torch.nn.functional.binary_cross_entropy(l.sigmoid(), t, reduction="sum")),
        ("mse", lambda l, t: F.mse_loss(l, t), lambda l, t: torch.nn.functional.mse_loss(l, t)),
    ]
    for name, ours, theirs in cases:
        l_ours = tinygan.tensor(logits, requires_grad=True)
        loss_ours = ours(l_ours, target)
        loss_ours.backward()
        l_theirs = torch.from_numpy(logits.copy()).requires_grad_(True)
        loss_theirs = theirs(l_theirs, torch.from_numpy(target))
        loss_theirs.backward()
        d_loss = abs(loss_ours.item() - loss_theirs.item())
        d_grad = np.abs(l_ours.grad - l_theirs.grad.numpy()).max()
        print(f"\n{name}: loss {d_loss:.2e}, grad {d_grad:.2e}")
        assert d_loss < 1e-10 * max(1.0, abs(loss_theirs.item())) and d_grad < 1e-12


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=2e-4, betas=(0.5, 0.999))),
    ("Adam", dict(lr=1e-2, betas=(0.9, 0.99), eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=5e-5)),
    ("RMSprop", dict(lr=1e-2, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, settings", OPTIMIZERS)
def test_optimizer_trajectories_match_torch(name, settings, dtype):
    rng = np.random.default_rng(0)
    start = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)]
    ours = [nn.Parameter(v.copy()) for v in start]
    theirs = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in start]
    optimizer_ours = getattr(optim, name)(ours, **settings)
    optimizer_theirs = getattr(torch.optim, name)(theirs, **settings)
    largest = 0.0
    for _ in range(5):
        grads = [rng.standard_normal(v.shape).astype(dtype) for v in start]
        optimizer_ours.zero_grad()
        optimizer_theirs.zero_grad()
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = g.copy(), torch.from_numpy(g.copy())
        optimizer_ours.step()
        optimizer_theirs.step()
        largest = max(largest, *(np.abs(p.data - q.detach().numpy()).max()
                                 for p, q in zip(ours, theirs)))
    print(f"\n{name} {settings} {np.dtype(dtype).name}: max |difference| {largest:.2e}")
    assert largest < (1e-6 if dtype == np.float32 else 1e-14)


@pytest.mark.parametrize("kernel, stride, padding",
                         [(2, None, 0), (3, 2, 1), ((3, 2), (2, 1), (1, 0))])
def test_max_pool2d_matches_torch(kernel, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 7, 9)).astype(np.float32)
    x[0, 0, :2, :2] = 1.5  # a tie: both libraries send the gradient to the first maximum
    ours = tinygan.tensor(x, requires_grad=True)
    out = nn.MaxPool2d(kernel, stride, padding)(ours)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    out.backward(upstream)
    theirs = torch.from_numpy(x.copy()).requires_grad_(True)
    out_theirs = torch.nn.MaxPool2d(kernel, stride, padding)(theirs)
    out_theirs.backward(torch.from_numpy(upstream))
    np.testing.assert_array_equal(out.data, out_theirs.detach().numpy())
    # the same elements receive gradients; where windows overlap, sums may round differently
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_embedding_and_cross_entropy_match_torch():
    rng = np.random.default_rng(0)
    labels = np.array([3, 1, 3, 0, 2])
    ours = nn.Embedding(4, 6)
    theirs = torch.nn.Embedding(4, 6)
    theirs.load_state_dict(to_torch(ours.state_dict()))
    matrix = rng.standard_normal((6, 4)).astype(np.float32)
    logits_ours = ours(labels) @ tinygan.tensor(matrix)
    logits_theirs = theirs(torch.from_numpy(labels)) @ torch.from_numpy(matrix)
    loss_ours = F.cross_entropy(logits_ours, labels)
    loss_theirs = torch.nn.functional.cross_entropy(logits_theirs, torch.from_numpy(labels))
    loss_ours.backward()
    loss_theirs.backward()
    assert abs(loss_ours.item() - loss_theirs.item()) < 1e-6
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), atol=1e-6)
