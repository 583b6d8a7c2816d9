"""User-supplied data: a ``.npz`` file of arrays ``X`` ``(size, d)`` and ``y`` ``(size,)``.

The file is read with ``numpy.load(..., allow_pickle=False)``, so it can hold only plain
arrays, never code. If it also holds ``X_test`` and ``y_test``, those are the test split;
otherwise ``X``/``y`` are split by scikit-learn's ``train_test_split`` (stratified by
label, ``random_state=seed``). Every problem is a one-line ``ParameterError`` naming the
file and the array: a missing file or array, a wrong shape, a non-numeric or non-finite
value, a label other than 0 and 1.
"""

from __future__ import annotations

import math
import os
import zipfile

import numpy as np

from ..errors import ParameterError, check
from .dataset import Dataset


def _fail(path: str, message: str) -> ParameterError:
    return ParameterError(f"arrays: {path}: {message}")


def _rows(path: str, name: str, X: np.ndarray) -> np.ndarray:
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise _fail(path, f"array {name!r} must have shape (size, d) with size, d >= 1, got {X.shape}")
    if X.dtype == np.bool_ or not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise _fail(path, f"array {name!r} must hold real numbers, got dtype {X.dtype}")
    X = X.astype(np.float64)
    bad = np.count_nonzero(~np.isfinite(X))
    if bad:
        raise _fail(path, f"array {name!r} has {bad} non-finite values (nan or inf)")
    return X


def _labels(path: str, name: str, y: np.ndarray, size: int) -> np.ndarray:
    if y.shape != (size,):
        raise _fail(path, f"array {name!r} must have shape ({size},), one label per row, got {y.shape}")
    if y.dtype != np.bool_ and (not np.issubdtype(y.dtype, np.number) or np.iscomplexobj(y)):
        raise _fail(path, f"array {name!r} must hold labels 0 and 1, got dtype {y.dtype}")
    values = np.unique(y)
    if not np.all((values == 0) | (values == 1)):
        odd = [v for v in values.tolist() if v not in (0, 1)][:3]
        raise _fail(path, f"array {name!r} must hold binary labels 0 and 1, found {odd}")
    return y.astype(np.uint8)


def load_arrays(path: str | os.PathLike, test_fraction: float = 0.25, seed: int = 0,
                step: float | None = None, value_range: tuple[float, float] | None = None) -> Dataset:
    """Load and validate a user ``.npz`` dataset.

    ``X`` ``(size, d)`` real and finite, ``y`` ``(size,)`` in {0, 1} (any integer, float
    or bool dtype; returned as uint8). Optional ``X_test`` ``(size', d)`` and ``y_test``
    ``(size',)`` give the test split; otherwise ``test_fraction`` of the rows are held
    out with ``seed``. ``step`` (the inputs' quantisation step, if any) and
    ``value_range`` (default: unbounded) are checked against the data by
    :class:`Dataset`.
    """
    from sklearn.model_selection import train_test_split

    name = os.fspath(path)
    check(isinstance(test_fraction, float) and 0.0 < test_fraction < 1.0,
          f"arrays: test_fraction must be a float in (0, 1), got {test_fraction!r}")
    check(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0,
          f"arrays: seed must be an integer >= 0, got {seed!r}")
    if not os.path.isfile(name):
        raise _fail(name, "no such file")
    try:
        archive = np.load(name, allow_pickle=False)
    except ValueError:  # numpy reads any file without the zip or .npy magic as a pickle
        raise _fail(name, "not a .npz archive (numpy would need pickle to read it)") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise _fail(name, f"not a readable .npz archive ({type(err).__name__})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a .npy file gives one bare array
        raise _fail(name, "not a .npz archive (a single .npy array?); save with numpy.savez(path, X=..., y=...)")
    arrays = {}
    with archive:
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError:  # object arrays need pickle, refused so that loading runs no code
                raise _fail(name, f"array {key!r} holds Python objects; save plain numeric arrays") from None
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise _fail(name, f"array {key!r} cannot be read ({type(err).__name__})") from None
    for key in ("X", "y"):
        if key not in arrays:
            raise _fail(name, f"array {key!r} missing (found {', '.join(sorted(arrays)) or 'none'})")
    has_test = ("X_test" in arrays, "y_test" in arrays)
    if has_test[0] != has_test[1]:
        raise _fail(name, f"array {'y_test' if has_test[0] else 'X_test'!r} missing: X_test and y_test go together")
    X = _rows(name, "X", arrays["X"])
    y = _labels(name, "y", arrays["y"], len(X))
    if all(has_test):
        X_test = _rows(name, "X_test", arrays["X_test"])
        if X_test.shape[1] != X.shape[1]:
            raise _fail(name, f"array 'X_test' has {X_test.shape[1]} columns, 'X' has {X.shape[1]}")
        y_test = _labels(name, "y_test", arrays["y_test"], len(X_test))
        X_train, y_train = X, y
    else:
        n_test = math.ceil(test_fraction * len(X))  # scikit-learn's rounding of test_size
        if n_test >= len(X):
            raise _fail(name, f"array 'X' has {len(X)} rows: too few to hold out {test_fraction:g} of them "
                              "and keep a training row")
        counts = np.bincount(y, minlength=2)
        # stratify only when both labels can appear on both sides: scikit-learn refuses
        # a stratified split with a lone label or a side smaller than the label count
        stratify = y if counts.min() >= 2 and min(n_test, len(X) - n_test) >= 2 else None
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_fraction, random_state=seed,
                                                            stratify=stratify)
    if value_range is None:
        value_range = (-math.inf, math.inf)
    try:
        return Dataset(X_train, y_train, X_test, y_test, step=step, value_range=value_range,
                       description=f"arrays from {os.path.basename(name)}")
    except ParameterError as err:
        raise _fail(name, str(err).removeprefix("dataset: ")) from None
