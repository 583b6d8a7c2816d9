"""The network class: membership is the architecture, the referee copies networks as it
copies every member, and evaluations through logits/probabilities/activations count."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.networks

from defendability import play  # noqa: E402
from defendability.classes.base import Counted  # noqa: E402
from defendability.classes.networks import NetworkFunction  # noqa: E402
from defendability.errors import IncompatibleError, ParameterError  # noqa: E402
from defendability.networks.architecture import Architecture  # noqa: E402
from defendability.registry import build  # noqa: E402
from defendability.spaces import Augmented, referee_distribution  # noqa: E402

SPEC = "networks:data=synthetic,hidden=8,epochs=3"


@pytest.fixture(scope="module")
def cls():
    return build("classes", SPEC)


def test_members_are_trained_networks_of_the_architecture(cls):
    f = cls.trained(0)
    assert cls.contains(f) and cls.accuracy(f) > 0.8
    x = cls.default_distribution().sample(np.random.default_rng(0), 7)
    labels = f(x)
    assert labels.dtype == np.uint8 and labels.shape == (7,) and labels.max() < cls.label_count
    np.testing.assert_array_equal(labels, f.logits(x).argmax(axis=1))
    np.testing.assert_allclose(f.probabilities(x).sum(axis=1), 1.0, atol=1e-5)
    assert f.activations(x, "hidden.0").shape == (7, 8)
    with pytest.raises(ParameterError, match="no layer 'hidden.3'"):
        f.activations(x, "hidden.3")
    with pytest.raises(ParameterError, match=r"inputs must have shape \(n, \*\(1, 8, 8\)\)"):
        f(np.zeros((2, 64)))


def test_membership_is_the_architecture_exactly(cls):
    f = cls.trained(0)
    wider = Architecture("mlp", (1, 8, 8), 4, (9,))
    extra_unit = NetworkFunction(wider, {n: t.numpy() for n, t in wider.initial(0).items()})
    assert not cls.contains(extra_unit)  # a network with an extra unit is not a member

    def edited(**change):
        weights = {n: w.copy() for n, w in f.weights.items()}
        weights.update(change)
        return NetworkFunction(f.architecture, weights)

    assert cls.contains(edited())
    assert not cls.contains(edited(**{"logits.bias": np.full(4, np.nan, np.float32)}))
    assert not cls.contains(edited(**{"logits.bias": np.zeros(4, np.float64)}))
    assert not cls.contains(edited(**{"logits.bias": np.zeros(5, np.float32)}))
    missing = edited()
    del missing.weights["logits.bias"]
    assert not cls.contains(missing)

    class Sneaky(NetworkFunction):
        def __call__(self, x):
            return np.zeros(len(x), np.uint8)

    assert not cls.contains(Sneaky(f.architecture, f.weights))
    shadowed = edited()
    shadowed.logits = lambda x: np.zeros((len(x), 4))
    assert not cls.contains(shadowed)


def test_rebuild_shares_nothing_with_the_players_copy(cls):
    f = cls.trained(0)
    own = cls.rebuild(f)
    f.weights["logits.bias"][:] = 100.0
    assert not np.array_equal(own.weights["logits.bias"], f.weights["logits.bias"])
    assert own.architecture is cls.architecture


def test_a_counted_view_counts_every_way_of_evaluating(cls):
    f = cls.trained(0)
    x = cls.default_distribution().sample(np.random.default_rng(1), 5)
    view = Counted(f)
    view(x)
    view.logits(x)
    view.probabilities(x[:2])
    view.activations(x[:3], "hidden.0")
    assert view.evaluations == 5 + 5 + 2 + 3
    assert view.architecture == f.architecture  # the representation stays readable


def test_augmented_distribution_is_rebuilt_by_the_referee_and_reproducible(cls):
    images = cls.task.X_test[:20]
    dist = Augmented(images, shift=1, noise=0.05)
    a = dist.sample(np.random.default_rng(3), 50)
    b = referee_distribution(dist).sample(np.random.default_rng(3), 50)
    assert a.dtype == np.float32 and a.shape == (50, 1, 8, 8) and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    # a shift by one pixel: every draw without noise is a translate of one of the images
    still = Augmented(images, shift=1, noise=0.0).sample(np.random.default_rng(4), 30)
    padded = np.pad(images, ((0, 0), (0, 0), (1, 1), (1, 1)))
    translates = {padded[i, :, dy:dy + 8, dx:dx + 8].tobytes()
                  for i in range(len(images)) for dy in range(3) for dx in range(3)}
    assert all(row.tobytes() in translates for row in still)
    with pytest.raises(ParameterError, match="shift must be an integer"):
        Augmented(images, shift=8)
    forged = Augmented(images)
    forged.shift = 2.5
    assert referee_distribution(forged) is None


def test_bad_class_parameters_fail_in_one_line():
    with pytest.raises(ParameterError, match="data must be one of"):
        build("classes", "networks:data=imagenet")
    with pytest.raises(ParameterError, match="give path"):
        build("classes", "networks:data=npz")
    with pytest.raises(ParameterError, match="no such file"):
        build("classes", "networks:data=npz,path=/nonexistent/task.npz")
    with pytest.raises(IncompatibleError, match="no shattered set"):
        build("classes", SPEC).shattered_set()


def test_the_class_repr_is_a_spec_of_what_applies():
    assert repr(build("classes", "networks:arch=cnn,channels=4,data=synthetic")).startswith(
        "networks:arch=cnn,data=synthetic,hidden=32,depth=1,channels=4,augment=none")
    assert "upsample" not in repr(build("classes", SPEC)) and "path" not in repr(build("classes", SPEC))


def test_a_user_task_plays_through_the_class(tmp_path):
    y = np.arange(60) % 3
    X = np.zeros((60, 6, 6), dtype=np.float32)
    X[np.arange(60), y * 2, :] = 1.0  # class c: a bar at row 2c
    path = tmp_path / "bars.npz"
    np.savez(path, X_train=X, y_train=y, X_test=X[:30], y_test=y[:30])
    result = play(f"networks:data=npz,path={path},hidden=8,epochs=20", "head-edit", "accept", eps=0.5, rounds=4,
                  seed=0)
    assert result.rounds == 4 and result.valid_rounds >= 1
