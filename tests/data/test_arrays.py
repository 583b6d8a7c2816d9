"""Loading a user's .npz arrays: a validated dataset, or a one-line error naming the file and the array."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.data.arrays import load_arrays
from defendability.errors import ParameterError


def _save(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def _sorted_rows(X, y):
    rows = np.column_stack([X, y])
    return rows[np.lexsort(rows.T[::-1])]


def test_loads_and_splits_with_a_fixed_seed(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (200, 5))
    y = rng.random(200) < 0.3  # bool labels are fine
    path = _save(tmp_path, X=X, y=y)
    data = load_arrays(path)
    assert data.X_train.shape == (150, 5) and data.X_test.shape == (50, 5)
    assert data.X_train.dtype == np.float64 and data.y_train.dtype == np.uint8
    got = _sorted_rows(np.vstack([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test]))
    np.testing.assert_array_equal(got, _sorted_rows(X.astype(float), y.astype(np.uint8)))
    for seed in range(10):  # stratified by label: the test side keeps a quarter of the 1s, to rounding
        assert abs(int(load_arrays(path, seed=seed).y_test.sum()) - 0.25 * int(y.sum())) <= 1
    again, other = load_arrays(str(path)), load_arrays(path, seed=1)
    np.testing.assert_array_equal(data.X_train, again.X_train)
    assert not np.array_equal(data.X_train, other.X_train)
    assert "data.npz" in data.description
    gridded = load_arrays(path, step=1.0, value_range=(0.0, 255.0))
    assert gridded.step == 1.0 and gridded.value_range == (0.0, 255.0)


def test_a_given_test_split_is_used_as_it_is(tmp_path):
    X, y = np.arange(12.0).reshape(6, 2), np.array([0, 1, 0, 1, 1, 0])
    Xt, yt = np.array([[0.5, 0.25]]), np.array([1.0])
    data = load_arrays(_save(tmp_path, X=X, y=y, X_test=Xt, y_test=yt))
    np.testing.assert_array_equal(data.X_train, X)
    np.testing.assert_array_equal(data.y_train, y)
    np.testing.assert_array_equal(data.X_test, Xt)
    np.testing.assert_array_equal(data.y_test, [1])


def test_tiny_and_one_label_files_split_without_stratifying(tmp_path):
    data = load_arrays(_save(tmp_path, X=np.arange(8.0).reshape(4, 2), y=np.ones(4)))
    assert len(data.X_train) == 3 and len(data.X_test) == 1 and data.y_train.tolist() == [1, 1, 1]
    data = load_arrays(_save(tmp_path, X=np.arange(8.0).reshape(4, 2), y=np.array([0, 1, 0, 1])))
    assert len(data.X_test) == 1


GOOD_X, GOOD_Y = np.zeros((10, 3)), np.array([0, 1] * 5)


@pytest.mark.parametrize("arrays, array, message", [
    ({"y": GOOD_Y}, "X", "missing"),
    ({"X": GOOD_X}, "y", "missing"),
    ({"X": np.zeros(10), "y": GOOD_Y}, "X", r"shape \(size, d\)"),
    ({"X": np.zeros((10, 3, 2)), "y": GOOD_Y}, "X", r"shape \(size, d\)"),
    ({"X": np.zeros((0, 3)), "y": np.zeros(0)}, "X", r"shape \(size, d\)"),
    ({"X": GOOD_X, "y": GOOD_Y[:9]}, "y", r"shape \(10,\)"),
    ({"X": GOOD_X, "y": GOOD_Y.reshape(10, 1)}, "y", r"shape \(10,\)"),
    ({"X": GOOD_X, "y": np.arange(10)}, "y", r"binary labels 0 and 1, found \[2, 3, 4\]"),
    ({"X": GOOD_X, "y": np.full(10, 0.5)}, "y", "binary labels"),
    ({"X": GOOD_X, "y": np.array(["a"] * 10)}, "y", "labels 0 and 1, got dtype"),
    ({"X": np.full((10, 3), np.nan), "y": GOOD_Y}, "X", "30 non-finite values"),
    ({"X": np.array([["a"] * 3] * 10), "y": GOOD_Y}, "X", "real numbers"),
    ({"X": GOOD_X.astype(bool), "y": GOOD_Y}, "X", "real numbers"),
    ({"X": GOOD_X.astype(complex), "y": GOOD_Y}, "X", "real numbers"),
    ({"X": GOOD_X, "y": GOOD_Y, "X_test": np.zeros((2, 3))}, "y_test", "missing: X_test and y_test go together"),
    ({"X": GOOD_X, "y": GOOD_Y, "y_test": np.zeros(2)}, "X_test", "missing"),
    ({"X": GOOD_X, "y": GOOD_Y, "X_test": np.zeros((2, 4)), "y_test": np.zeros(2)}, "X_test", "4 columns"),
    ({"X": GOOD_X, "y": GOOD_Y, "X_test": np.zeros((2, 3)), "y_test": np.full(2, 7)}, "y_test", "binary"),
    ({"X": GOOD_X, "y": GOOD_Y, "X_test": np.full((2, 3), np.inf), "y_test": np.zeros(2)}, "X_test",
     "non-finite"),
])
def test_every_problem_is_one_line_naming_the_file_and_the_array(tmp_path, arrays, array, message):
    path = _save(tmp_path, "user.npz", **arrays)
    with pytest.raises(ParameterError, match=message) as err:
        load_arrays(path)
    text = str(err.value)
    assert text.startswith(f"arrays: {path}: ") and f"'{array}'" in text and "\n" not in text


def test_unreadable_files_are_one_line_errors(tmp_path):
    cases = {tmp_path / "absent.npz": "no such file"}
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip archive")
    cases[corrupt] = "not a readable .npz archive"
    single = tmp_path / "single.npz"
    with open(single, "wb") as fh:
        np.save(fh, GOOD_X)
    cases[single] = "not a .npz archive"
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, X=np.array([object()] * 10, dtype=object).reshape(10, 1), y=GOOD_Y)
    cases[pickled] = "array 'X' holds Python objects"
    text = tmp_path / "text.npz"
    text.write_text("X,y\n1,0\n")
    cases[text] = "not a .npz archive"
    for path, message in cases.items():
        with pytest.raises(ParameterError, match=message) as err:
            load_arrays(path)
        assert str(err.value).startswith(f"arrays: {path}: ") and "\n" not in str(err.value)


def test_the_grid_and_range_are_checked_against_the_data(tmp_path):
    path = _save(tmp_path, X=np.full((10, 3), 0.3), y=GOOD_Y)
    with pytest.raises(ParameterError, match=r"arrays: .*data.npz: X_train has values off the grid"):
        load_arrays(path, step=0.25)
    with pytest.raises(ParameterError, match=r"arrays: .*data.npz: X_train has values .* outside value_range"):
        load_arrays(path, value_range=(0.5, 1.0))
    few = _save(tmp_path, "few.npz", X=np.zeros((1, 2)), y=np.zeros(1))
    with pytest.raises(ParameterError, match="too few"):
        load_arrays(few)
    with pytest.raises(ParameterError, match="test_fraction must be"):
        load_arrays(path, test_fraction=0)
