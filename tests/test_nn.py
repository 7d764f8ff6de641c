"""tinygan.nn: Module bookkeeping (registration, state dicts, modes, dtypes, repr), default
initialisation, gradient checks of every layer in train and eval mode, and two small classifiers
trained end to end."""

import math
from collections import OrderedDict

import numpy as np
import pytest

import tinygan
import tinygan.functional as F
from tinygan import nn, optim, tensor


def check_module(module, *input_shape, training=True, seed=None):
    """gradcheck of module(x) with respect to x and every parameter, in float64.

    The parameters are passed to gradcheck as inputs; since they are the module's own Parameter
    objects, perturbing them perturbs the module. ``seed`` re-seeds before every call, so a
    Dropout draws the same mask each time.
    """
    module.double().train(training)
    x = tensor(np.random.default_rng(1).standard_normal(input_shape), dtype=np.float64,
               requires_grad=True)
    params = list(module.parameters())

    def fn(x, *params):
        if seed is not None:
            tinygan.manual_seed(seed)
        return module(x)

    assert tinygan.gradcheck(fn, [x, *params])


# --------------------------------------------------------------------------- registration


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Dense(3, 4)
        self.norm = nn.BatchNorm1d(4)
        self.out = nn.Dense(4, 1, bias=False)
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.not_a_parameter = tinygan.zeros(2)

    def forward(self, x):
        return self.out(F.relu(self.norm(self.hidden(x)))) * self.scale


def test_attribute_assignment_registers_parameters_modules_and_buffers():
    model = TwoLayer()
    assert [name for name, _ in model.named_children()] == ["hidden", "norm", "out"]
    assert [name for name, _ in model.named_parameters()] == [
        "scale", "hidden.weight", "hidden.bias", "norm.weight", "norm.bias", "out.weight"]
    assert len(list(model.parameters())) == 6
    assert [name for name, _ in model.named_buffers()] == [
        "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]
    assert [type(m).__name__ for m in model.modules()] == ["TwoLayer", "Dense", "BatchNorm1d",
                                                           "Dense"]
    assert model.out.bias is None
    with pytest.raises(TypeError, match="Parameter or None"):
        model.hidden.weight = tinygan.zeros(4, 3)
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        model.missing  # noqa: B018


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Dense(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_shared_parameter_listed_once():
    layer = nn.Dense(2, 2)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(model.parameters())) == 2


def test_parameter_is_a_tensor_and_ops_return_tensors():
    p = nn.Parameter(np.ones((2, 2), np.float32))
    assert isinstance(p, tinygan.Tensor) and p.requires_grad and p.is_leaf
    y = (p * 2) @ p.T
    assert type(y) is tinygan.Tensor
    y.sum().backward()
    np.testing.assert_allclose(p.grad, np.full((2, 2), 8.0))
    assert repr(p).startswith("Parameter containing:\ntensor(")


def test_sequential_indexing_len_iteration_and_keys():
    model = nn.Sequential(nn.Dense(2, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Dense(3, 1))
    assert len(model) == 4
    assert isinstance(model[0], nn.Dense) and model[-1] is model[3]
    assert [type(m).__name__ for m in model] == ["Dense", "BatchNorm1d", "ReLU", "Dense"]
    assert isinstance(model[1:3], nn.Sequential) and len(model[1:3]) == 2
    with pytest.raises(IndexError):
        model[4]  # noqa: B018
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
        "1.num_batches_tracked", "3.weight", "3.bias"]
    named = nn.Sequential(OrderedDict(fc=nn.Dense(2, 2), act=nn.Tanh()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"]
    assert named.append(nn.Sigmoid())[2].__class__ is nn.Sigmoid


def test_repr_like_pytorch():
    model = nn.Sequential(
        nn.Dense(2, 128), nn.LeakyReLU(0.2),
        nn.Sequential(nn.Conv2d(1, 8, 4, 2, 1, bias=False), nn.BatchNorm2d(8)),
        nn.ConvTranspose2d(8, 4, (3, 2), stride=2, output_padding=1), nn.Flatten(),
        nn.Unflatten(1, (4, 2)), nn.Dropout(0.3), nn.Tanh())
    assert repr(model) == """Sequential(
  (0): Dense(in_features=2, out_features=128, bias=True)
  (1): LeakyReLU(negative_slope=0.2)
  (2): Sequential(
    (0): Conv2d(1, 8, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1), bias=False)
    (1): BatchNorm2d(8, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  )
  (3): ConvTranspose2d(8, 4, kernel_size=(3, 2), stride=(2, 2), output_padding=(1, 1))
  (4): Flatten(start_dim=1, end_dim=-1)
  (5): Unflatten(dim=1, unflattened_size=(4, 2))
  (6): Dropout(p=0.3)
  (7): Tanh()
)"""


def test_train_eval_are_recursive():
    model = nn.Sequential(nn.Dense(2, 2), nn.Sequential(nn.Dropout(), nn.BatchNorm1d(2)))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_and_requires_grad():
    model = TwoLayer()
    model(tinygan.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_to_double_float():
    model = TwoLayer()
    weight = model.hidden.weight
    model.double()
    assert model.hidden.weight is weight  # same Parameter objects, new data
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model.norm.running_mean.dtype == np.float64
    assert model.norm.num_batches_tracked.dtype == np.int64
    assert model(tinygan.randn(4, 3, dtype=np.float64)).dtype == np.float64
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    with pytest.raises(TypeError):
        model.to(np.int32)


def test_layers_use_the_default_dtype():
    assert nn.Dense(2, 2).weight.dtype == np.float32
    previous = tinygan.set_default_dtype(np.float64)
    try:
        assert nn.Conv2d(1, 1, 2).weight.dtype == np.float64
    finally:
        tinygan.set_default_dtype(previous)


# ---------------------------------------------------------------------------- state dicts


def test_state_dict_holds_copies_of_parameters_and_buffers():
    model = nn.Sequential(nn.Dense(2, 3), nn.BatchNorm1d(3))
    state = model.state_dict()
    assert isinstance(state, OrderedDict)
    assert all(isinstance(v, np.ndarray) for v in state.values())
    assert state["1.num_batches_tracked"].dtype == np.int64
    assert state["1.num_batches_tracked"].shape == ()
    state["0.weight"][...] = 7.0
    assert not np.any(model[0].weight.data == 7.0)


def test_load_state_dict_round_trip_and_cast():
    source = nn.Sequential(nn.Dense(2, 3), nn.BatchNorm1d(3))
    source(tinygan.randn(5, 2))  # moves the running stats
    target = nn.Sequential(nn.Dense(2, 3), nn.BatchNorm1d(3))
    weight = target[0].weight.data
    state = {k: v.astype(np.float64) if v.dtype.kind == "f" else v
             for k, v in source.state_dict().items()}
    assert target.load_state_dict(state) == ([], [])
    assert target[0].weight.data is weight and weight.dtype == np.float32  # in place, cast
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key], value)
    assert int(target[1].num_batches_tracked) == 1


def test_load_state_dict_errors_name_the_keys_and_shapes():
    model = nn.Sequential(nn.Dense(2, 3), nn.BatchNorm1d(3))
    state = model.state_dict()
    missing = {k: v for k, v in state.items() if k != "1.running_var"}
    with pytest.raises(RuntimeError, match=r"missing key\(s\): '1.running_var'"):
        model.load_state_dict(missing)
    with pytest.raises(RuntimeError, match=r"unexpected key\(s\): 'extra.weight'"):
        model.load_state_dict({**state, "extra.weight": np.zeros(1)})
    before = model[0].bias.data.copy()
    wrong = {**state, "0.weight": np.zeros((4, 2)), "0.bias": np.ones(3)}
    with pytest.raises(RuntimeError, match=r"'0.weight'.*\(4, 2\).*\(3, 2\)"):
        model.load_state_dict(wrong)
    np.testing.assert_array_equal(model[0].bias.data, before)  # nothing was copied


def test_load_state_dict_not_strict_returns_the_differences():
    model = nn.Sequential(nn.Dense(2, 3))
    result = model.load_state_dict({"0.weight": np.ones((3, 2)), "head.bias": np.ones(1)},
                                   strict=False)
    assert result.missing_keys == ["0.bias"] and result.unexpected_keys == ["head.bias"]
    np.testing.assert_array_equal(model[0].weight.data, 1.0)
    with pytest.raises(RuntimeError, match="size mismatch"):  # shapes are checked regardless
        model.load_state_dict({"0.weight": np.ones((2, 2))}, strict=False)


def test_non_persistent_buffer_is_not_saved():
    module = nn.Module()
    module.register_buffer("saved", np.zeros(2))
    module.register_buffer("scratch", np.zeros(2), persistent=False)
    assert list(module.state_dict()) == ["saved"]
    module.saved = np.ones(2)
    np.testing.assert_array_equal(module.state_dict()["saved"], 1.0)


# ------------------------------------------------------------------------- initialisation


@pytest.mark.parametrize("layer, fan_in", [
    (lambda: nn.Dense(50, 400), 50),
    (lambda: nn.Conv2d(6, 200, (3, 2)), 6 * 3 * 2),
    (lambda: nn.ConvTranspose2d(300, 5, 4), 5 * 4 * 4),  # PyTorch's rule: from weight dim 1
])
def test_default_initialisation_is_uniform_one_over_sqrt_fan_in(layer, fan_in):
    layer = layer()
    bound = 1 / math.sqrt(fan_in)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound
        # U(-b, b): the extremes come close to the bound and the std is b / sqrt(3)
        assert np.abs(values).max() > 0.9 * bound
    np.testing.assert_allclose(layer.weight.data.std(), bound / math.sqrt(3), rtol=0.05)


def test_batchnorm_initialisation_and_buffers():
    bn = nn.BatchNorm2d(3)
    np.testing.assert_array_equal(bn.weight.data, 1.0)
    np.testing.assert_array_equal(bn.bias.data, 0.0)
    np.testing.assert_array_equal(bn.running_mean, 0.0)
    np.testing.assert_array_equal(bn.running_var, 1.0)
    plain = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert list(plain.parameters()) == [] and plain.state_dict() == OrderedDict()


def test_initialisation_is_reproducible_from_the_seed():
    tinygan.manual_seed(5)
    a = nn.Dense(3, 3).weight.data.copy()
    tinygan.manual_seed(5)
    np.testing.assert_array_equal(nn.Dense(3, 3).weight.data, a)


def test_init_functions():
    init = nn.init
    w = nn.Parameter(np.empty((300, 200), np.float32))
    assert init.normal_(w, 1.0, 0.5) is w
    assert abs(w.data.mean() - 1.0) < 0.01 and abs(w.data.std() - 0.5) < 0.01
    init.uniform_(w, -2, 3)
    assert w.data.min() >= -2 and w.data.max() <= 3 and abs(w.data.mean() - 0.5) < 0.02
    init.constant_(w, 0.25)
    np.testing.assert_array_equal(w.data, 0.25)
    init.zeros_(w)
    assert not w.data.any()
    init.ones_(w)
    np.testing.assert_array_equal(w.data, 1.0)
    init.xavier_uniform_(w, gain=2.0)
    bound = 2.0 * math.sqrt(6 / 500)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 200)
    assert np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.99 * bound
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    assert np.abs(w.data).max() <= math.sqrt(6 / 300)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))


# ------------------------------------------------------------- every layer, gradient-checked


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Dense(3, 2), (4, 3)),
    (lambda: nn.Dense(3, 2, bias=False), (2, 5, 3)),
    (lambda: nn.Conv2d(2, 3, (2, 3), stride=(2, 1), padding=(1, 2)), (2, 2, 4, 5)),
    (lambda: nn.Conv2d(1, 2, 3, bias=False), (1, 1, 4, 4)),
    (lambda: nn.ConvTranspose2d(2, 2, (3, 2), stride=2, padding=1, output_padding=1),
     (2, 2, 2, 3)),
    (lambda: nn.ConvTranspose2d(2, 1, 2, stride=(1, 2), padding=(0, 1)), (1, 2, 3, 2)),
    (lambda: nn.BatchNorm1d(3), (5, 3)),
    (lambda: nn.BatchNorm1d(2), (3, 2, 3)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 3)),
    (lambda: nn.BatchNorm2d(2, affine=False, track_running_stats=False), (2, 2, 2, 2)),
    (lambda: nn.ReLU(), (3, 4)),
    (lambda: nn.LeakyReLU(0.2), (3, 4)),
    (lambda: nn.Tanh(), (3, 4)),
    (lambda: nn.Sigmoid(), (3, 4)),
    (lambda: nn.Flatten(), (2, 2, 3)),
    (lambda: nn.Unflatten(1, (2, 3)), (2, 6)),
    (lambda: nn.Dropout(0.4), (4, 5)),
    (lambda: nn.MaxPool2d(2), (2, 2, 4, 5)),
    (lambda: nn.MaxPool2d((3, 2), stride=(2, 1), padding=(1, 1)), (1, 2, 5, 4)),
])
def test_layer_gradients(make, shape, training):
    layer = make()
    if isinstance(layer, nn.BatchNorm1d | nn.BatchNorm2d) and layer.track_running_stats:
        layer.running_mean[...] = 0.3  # non-trivial statistics for eval mode
        layer.running_var[...] = 1.7
    check_module(layer, *shape, training=training, seed=7)


def test_small_model_gradients_train_and_eval():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.BatchNorm2d(2),
                          nn.LeakyReLU(0.2), nn.Flatten(), nn.Dense(8, 2), nn.BatchNorm1d(2),
                          nn.Tanh())
    check_module(model, 3, 1, 4, 4, training=True)
    check_module(model, 3, 1, 4, 4, training=False)


# ---------------------------------------------------------------------------- layer details


def test_batchnorm_running_stats_in_train_and_eval():
    bn = nn.BatchNorm1d(2, momentum=0.5)
    x = tensor([[1.0, 10.0], [3.0, 20.0], [5.0, 30.0]])
    bn(x)
    np.testing.assert_allclose(bn.running_mean, [1.5, 10.0])
    np.testing.assert_allclose(bn.running_var, [0.5 + 0.5 * 4.0, 0.5 + 0.5 * 100.0])
    assert int(bn.num_batches_tracked) == 1
    bn.eval()
    y = bn(x)
    np.testing.assert_allclose(y.data[:, 0], (x.data[:, 0] - 1.5) / np.sqrt(2.5 + 1e-5),
                               rtol=1e-6)
    assert int(bn.num_batches_tracked) == 1  # eval mode leaves the buffers alone


def test_batchnorm_cumulative_average_with_momentum_none():
    bn = nn.BatchNorm1d(1, momentum=None)
    for value in (2.0, 4.0, 9.0):
        bn(tensor([[value - 1], [value + 1]]))
    np.testing.assert_allclose(bn.running_mean, [5.0])  # the plain mean of the batch means


def test_batchnorm_rejects_wrong_dimensions():
    with pytest.raises(ValueError, match=r"expected 4D input.*\(2, 3\)"):
        nn.BatchNorm2d(3)(tinygan.randn(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D"):
        nn.BatchNorm1d(3)(tinygan.randn(2, 3, 2, 2))


def test_dropout_layer_modes():
    layer = nn.Dropout(0.5)
    x = tinygan.ones(100, 100)
    assert (layer(x).data == 0).mean() > 0.4
    assert layer.eval()(x) is x


def test_conv_output_shapes():
    x = tinygan.randn(2, 3, 16, 16)
    assert nn.Conv2d(3, 8, 4, stride=2, padding=1)(x).shape == (2, 8, 8, 8)
    assert nn.ConvTranspose2d(3, 8, 4, stride=2, padding=1)(x).shape == (2, 8, 32, 32)
    assert nn.ConvTranspose2d(3, 8, 3, stride=2, padding=1, output_padding=1)(x).shape == (
        2, 8, 32, 32)
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=2)


def test_flatten_unflatten():
    x = tinygan.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="cannot be split"):
        nn.Unflatten(1, (7, 2))(nn.Flatten()(x))


# ------------------------------------------------------------------- training end to end


def accuracy(model, x, y):
    model.eval()
    with tinygan.no_grad():
        logits = model(tensor(x, dtype=np.float32)).data.reshape(-1)
    model.train()
    return float(((logits > 0) == (y > 0.5)).mean())


def fit(model, x, y, steps, batch, lr):
    rng = tinygan.random.generator()
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        index = rng.integers(0, len(x), batch)
        logits = model(tensor(x[index], dtype=np.float32)).reshape(-1)  # train in float32
        loss = F.binary_cross_entropy_with_logits(logits, y[index].astype(np.float32))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def two_rings(n, rng):
    labels = rng.integers(0, 2, n)
    angles = rng.uniform(0, 2 * np.pi, n)
    radii = np.where(labels == 1, 1.0, 0.5) + 0.08 * rng.standard_normal(n)
    return np.stack([radii * np.cos(angles), radii * np.sin(angles)], 1), labels


def bars(n, rng):
    """8x8 images of one horizontal (label 0) or vertical (label 1) bar, plus noise."""
    labels = rng.integers(0, 2, n)
    images = 0.3 * rng.standard_normal((n, 1, 8, 8))
    positions = rng.integers(0, 8, n)
    for i in range(n):
        if labels[i]:
            images[i, 0, :, positions[i]] += 1.0
        else:
            images[i, 0, positions[i], :] += 1.0
    return images, labels


def test_mlp_learns_two_rings():
    rng = np.random.default_rng(0)
    x, y = two_rings(1024, rng)
    x_test, y_test = two_rings(1024, rng)
    model = nn.Sequential(nn.Dense(2, 32), nn.ReLU(), nn.Dense(32, 32), nn.ReLU(),
                          nn.Dense(32, 1))
    fit(model, x, y, steps=400, batch=64, lr=1e-2)
    assert accuracy(model, x_test, y_test) > 0.95


def test_conv_net_learns_bars():
    rng = np.random.default_rng(0)
    x, y = bars(512, rng)
    x_test, y_test = bars(512, rng)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Conv2d(4, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Dense(64, 1))
    fit(model, x, y, steps=250, batch=32, lr=1e-2)
    assert accuracy(model, x_test, y_test) > 0.95


def test_deepcopy_gives_an_independent_model():
    import copy

    model = nn.Sequential(nn.Dense(2, 3), nn.BatchNorm1d(3))
    clone = copy.deepcopy(model)
    assert clone[0].weight is not model[0].weight
    assert isinstance(clone[0].weight, nn.Parameter)
    clone[0].weight.data[...] = 0.0
    clone[1].running_mean[...] = 5.0
    assert model[0].weight.data.any() and not model[1].running_mean.any()
    assert list(clone.state_dict()) == list(model.state_dict())


def test_a_shared_module_is_in_the_state_dict_under_each_name():
    shared = nn.Dense(3, 3)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # as torch
    assert len(list(model.parameters())) == 2  # but it is one set of parameters
    model.load_state_dict(model.state_dict())


def test_a_failed_load_changes_nothing():
    model = nn.Sequential(nn.Dense(2, 2), nn.Dense(2, 1))
    before = model.state_dict()
    state = model.state_dict()
    state["0.weight"] = np.full((2, 2), 7.0)
    state["1.weight"] = "not numbers"
    with pytest.raises(RuntimeError, match="cannot convert '1.weight'"):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_dense_with_no_inputs_initialises_like_torch():
    layer = nn.Dense(0, 3)
    assert layer.weight.shape == (3, 0)
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))
