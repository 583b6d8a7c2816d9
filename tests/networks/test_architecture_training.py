"""Architectures and training: shapes, validation, determinism, stacked = alone."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.networks

from defendability.errors import ParameterError  # noqa: E402
from defendability.networks.architecture import Architecture  # noqa: E402
from defendability.networks.tasks import synthetic_task  # noqa: E402
from defendability.networks.training import TrainingSettings, fit_network, fit_stacked, stacked_labels  # noqa: E402

MLP = Architecture("mlp", (1, 8, 8), 4, (16,))
CNN = Architecture("cnn", (1, 8, 8), 4, (12,), (4, 8))


@pytest.mark.parametrize("arch", [MLP, CNN, Architecture("mlp", (3, 4, 4), 10, (5, 7))])
def test_forward_shapes_match_the_declared_layers(arch):
    weights = arch.initial(0)
    assert {n: tuple(t.shape) for n, t in weights.items()} == arch.shapes()
    x = torch.rand(5, *arch.input_shape)
    logits, captured = arch.forward(weights, x, capture=arch.layers)
    assert logits.shape == (5, arch.classes)
    for layer in arch.layers:
        assert captured[layer].shape == (5, arch.layer_width(layer)), layer
    assert torch.equal(captured["logits"], logits)
    assert arch.parameter_count() == sum(t.numel() for t in weights.values())


@pytest.mark.parametrize("kwargs,message", [
    (dict(kind="rnn", input_shape=(1, 8, 8), classes=4, hidden=(4,)), "kind must be one of"),
    (dict(kind="mlp", input_shape=(8, 8), classes=4, hidden=(4,)), "input_shape must be (C, H, W)"),
    (dict(kind="mlp", input_shape=(1, 8, 8), classes=1, hidden=(4,)), "classes must be an integer in [2, 255]"),
    (dict(kind="mlp", input_shape=(1, 8, 8), classes=4, hidden=()), "at least one hidden layer"),
    (dict(kind="mlp", input_shape=(1, 8, 8), classes=4, hidden=(4.0,)), "hidden must be a tuple of integers"),
    (dict(kind="cnn", input_shape=(1, 6, 6), classes=4, hidden=(4,), channels=(2, 2)), "divisible by 4"),
    (dict(kind="mlp", input_shape=(1, 8, 8), classes=4, hidden=(4,), channels=(2,)), "an mlp has no channels"),
])
def test_bad_architectures_are_refused_in_one_line(kwargs, message):
    with pytest.raises(ParameterError, match=None) as err:
        Architecture(**kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_description_round_trips():
    for arch in (MLP, CNN):
        assert Architecture.from_description(arch.describe()) == arch
    with pytest.raises(ParameterError, match="keys kind"):
        Architecture.from_description({"kind": "mlp"})


def test_training_learns_and_is_a_function_of_its_seed():
    task = synthetic_task()
    settings = TrainingSettings(epochs=5)
    a = fit_network(MLP, task.X_train, task.y_train, settings, seed=3)
    b = fit_network(MLP, task.X_train, task.y_train, settings, seed=3)
    c = fit_network(MLP, task.X_train, task.y_train, settings, seed=4)
    assert all(np.array_equal(a[n], b[n]) for n in a)
    assert not all(np.array_equal(a[n], c[n]) for n in a)
    stacked = {n: torch.tensor(w)[None] for n, w in a.items()}
    accuracy = np.mean(stacked_labels(MLP, stacked, task.X_test)[0] == task.y_test)
    assert accuracy > 0.9


@pytest.mark.parametrize("arch", [MLP, CNN])
def test_a_stacked_network_trains_as_it_would_alone(arch):
    task = synthetic_task()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(task.X_train), size=(3, 200))
    X, y = task.X_train[rows], task.y_train[rows]
    settings = TrainingSettings(epochs=3)
    together = fit_stacked(arch, X, y, settings, seeds=[11, 12, 13])
    for j, seed in enumerate((11, 12, 13)):
        alone = fit_stacked(arch, X[j:j + 1], y[j:j + 1], settings, seeds=[seed])
        for name in arch.shapes():
            np.testing.assert_allclose(together[name][j].numpy(), alone[name][0].numpy(), rtol=0, atol=2e-5)
    # negative control: the same check tells apart networks trained from other seeds
    other = fit_stacked(arch, X[:1], y[:1], settings, seeds=[99])
    assert not np.allclose(together["logits.weight"][0].numpy(), other["logits.weight"][0].numpy(), atol=2e-5)


def test_training_settings_and_data_are_validated():
    with pytest.raises(ParameterError, match="epochs"):
        TrainingSettings(epochs=0)
    with pytest.raises(ParameterError, match="lr"):
        TrainingSettings(lr=-1.0)
    task = synthetic_task()
    with pytest.raises(ParameterError, match="labels must be in"):
        fit_network(MLP, task.X_train[:4], np.array([0, 1, 2, 9]), TrainingSettings(epochs=1), seed=0)
    with pytest.raises(ParameterError, match="X must have shape"):
        fit_network(MLP, task.X_train[:4, :, :4], task.y_train[:4], TrainingSettings(epochs=1), seed=0)
