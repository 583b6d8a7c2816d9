"""The digits task (scikit-learn's bundled 8x8 digits on the 8-bit grid) and the dataset container."""

from __future__ import annotations

import math

import numpy as np
import pytest

import defendability.data  # noqa: F401  (the package re-exports)
from defendability.data import Dataset, digits, upsample_images
from defendability.data.digits import STEP
from defendability.errors import ParameterError
from defendability.spaces import Empirical


def _reference(label: str):
    """The whole bundled dataset mapped as documented: rows on the 8-bit grid, labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    X = np.rint(bunch.data * 255 / 16) * STEP
    y = (bunch.target >= 5) if label == "high" else (bunch.target % 2 == 1)
    return X, y.astype(np.uint8)


def _sorted_rows(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    rows = np.column_stack([X, y])
    return rows[np.lexsort(rows.T[::-1])]


@pytest.fixture(scope="module")
def base() -> Dataset:
    return digits()


@pytest.mark.parametrize("label, ones", [("high", 896), ("odd", 906)])
def test_the_split_partitions_all_1797_images_with_their_binary_labels(label, ones):
    data = digits(label=label)
    assert data.X_train.shape == (1347, 64) and data.X_test.shape == (450, 64)
    assert data.y_train.dtype == np.uint8 and data.y_test.dtype == np.uint8
    X, y = _reference(label)
    got = _sorted_rows(np.vstack([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test]))
    np.testing.assert_array_equal(got, _sorted_rows(X, y))
    assert int(data.y_train.sum() + data.y_test.sum()) == ones
    # stratified by digit: each side keeps the label balance to within a few images
    assert abs(data.y_test.mean() - ones / 1797) < 0.01


def test_pixels_lie_on_the_8_bit_grid_in_the_unit_interval(base):
    assert base.step == STEP == 1 / 255 and base.value_range == (0.0, 1.0)
    for X in (base.X_train, base.X_test):
        assert X.dtype == np.float64 and X.min() == 0.0 and X.max() == 1.0
        np.testing.assert_array_equal(np.rint(X * 255) * STEP, X)  # exactly k * (1/255)
    # the 17 grey levels v map to round(255 v / 16) / 255
    levels = np.unique(np.rint(base.X_train * 255)).astype(int)
    np.testing.assert_array_equal(levels, np.rint(np.arange(17) * 255 / 16).astype(int))


def test_the_split_is_fixed_by_the_seed(base):
    again, other = digits(), digits(seed=1)
    np.testing.assert_array_equal(base.X_train, again.X_train)
    np.testing.assert_array_equal(base.y_test, again.y_test)
    assert not np.array_equal(base.X_train, other.X_train)
    assert digits(test_fraction=0.5).X_test.shape == (899, 64)


def test_nearest_upsampling_repeats_each_pixel_in_a_block(base):
    big = digits(upsample=3)
    assert big.d == 576 and big.step == STEP  # >= 516: enough carriers for a signature
    images = big.X_train.reshape(-1, 24, 24)
    small = base.X_train.reshape(-1, 8, 8)  # same seed: same split, same order
    for i in range(3):
        for j in range(3):
            np.testing.assert_array_equal(images[:, i::3, j::3], small)


def test_bilinear_upsampling_interpolates_between_pixel_centres_on_the_grid(base):
    big = digits(upsample=3, method="bilinear")
    images, small = big.X_train.reshape(-1, 24, 24), base.X_train.reshape(-1, 8, 8)
    np.testing.assert_array_equal(images[:, 1::3, 1::3], small)  # block centres are the pixels
    np.testing.assert_array_equal(np.rint(images * 255) * STEP, images)
    assert images.min() >= 0.0 and images.max() <= 1.0
    # by hand: a 0 | 255 edge; centres at 1 and 4, a third and two thirds between, edges replicated
    edge = np.array([[[0.0, 255 * STEP], [0.0, 255 * STEP]]])
    row = upsample_images(edge, 3, "bilinear")[0, 0] * 255
    np.testing.assert_array_equal(row, [0, 0, 85, 170, 255, 255])
    assert not np.array_equal(images, digits(upsample=3).X_train.reshape(-1, 24, 24))


@pytest.mark.parametrize("kwargs, message", [
    ({"label": "prime"}, "label must be one of high, odd"), ({"upsample": 0}, "upsample must be"),
    ({"upsample": 1.5}, "upsample must be"), ({"upsample": 33}, "upsample must be"),
    ({"upsample": 2, "method": "cubic"}, "method must be one of nearest, bilinear"),
    ({"test_fraction": 1.0}, "test_fraction must be"), ({"seed": -1}, "seed must be"),
])
def test_bad_parameters_are_one_line_errors(kwargs, message):
    with pytest.raises(ParameterError, match=message) as err:
        digits(**kwargs)
    assert str(err.value).startswith("digits: ") and "\n" not in str(err.value)


# -- the dataset container ---------------------------------------------------------------

def _parts(**changes):
    parts = {"X_train": np.zeros((4, 3)), "y_train": np.array([0, 1, 0, 1], dtype=np.uint8),
             "X_test": np.ones((2, 3)) * 0.5, "y_test": np.array([1, 0], dtype=np.uint8), "step": 0.5,
             "value_range": (0.0, 1.0), "description": "toy"}
    parts.update(changes)
    return parts


@pytest.mark.parametrize("changes, message", [
    ({"X_train": np.zeros(4)}, "X_train must have shape"), ({"X_test": np.zeros((2, 2))}, "columns"),
    ({"y_train": np.array([0, 1, 0], dtype=np.uint8)}, r"y_train must have shape \(4,\)"),
    ({"y_test": np.array([1, 2], dtype=np.uint8)}, "y_test must be uint8 labels"),
    ({"y_test": np.array([1, 0])}, "y_test must be uint8"),
    ({"X_train": np.full((4, 3), np.nan)}, "non-finite"), ({"X_test": np.full((2, 3), 0.3)}, "off the grid"),
    ({"X_test": np.full((2, 3), 1.5)}, "outside value_range"), ({"value_range": (1.0, 0.0)}, "low < high"),
    ({"step": 0.0}, "step must be"), ({"X_train": np.array([["a"] * 3] * 4)}, "real numbers"),
])
def test_dataset_validates_its_arrays(changes, message):
    with pytest.raises(ParameterError, match=message) as err:
        Dataset(**_parts(**changes))
    assert str(err.value).startswith("dataset: ") and "\n" not in str(err.value)


def test_dataset_is_read_only_and_gives_its_empirical_distribution(base):
    data = Dataset(**_parts(step=None, value_range=(-math.inf, math.inf)))
    assert data.d == 3 and data.step is None and "toy" in repr(data)
    with pytest.raises(ValueError):
        data.X_train[0, 0] = 1.0
    dist = base.distribution()
    assert isinstance(dist, Empirical) and dist.point_shape == (64,)
    draws = dist.sample(np.random.default_rng(0), 50)
    rows = {r.tobytes() for r in base.X_train}
    assert all(r.tobytes() in rows for r in draws)
