"""A dataset for the library's learned models: a train split, a test split, and the grid
its inputs live on.

Inputs are rows (``X_*``: ``(size, d)`` float64), labels are binary (``y_*``: ``(size,)``
uint8 in {0, 1}). ``step`` is the quantisation step of the input grid (``1/255`` for
8-bit images; ``None`` for continuous data) and ``value_range`` the closed interval every
coordinate lies in (``(-inf, inf)`` when unbounded). Both matter downstream: a backdoor
that writes into least significant bits needs the grid, and a noise defence that clips
needs the range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from ..spaces import Empirical

#: How far (in units of ``step``) a coordinate may sit from the grid and still count as
#: on it: float rounding of k * step, never a real off-grid value.
GRID_SLACK = 1e-6


def _as_rows(name: str, X: object) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ParameterError(f"dataset: {name} must have shape (size, d) with size, d >= 1, got {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_) or np.iscomplexobj(X):
        raise ParameterError(f"dataset: {name} must be real numbers, got dtype {X.dtype}")
    X = X.astype(np.float64)
    if not np.all(np.isfinite(X)):
        raise ParameterError(f"dataset: {name} has {int(np.count_nonzero(~np.isfinite(X)))} non-finite values")
    return X


def _as_labels(name: str, y: object, size: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (size,):
        raise ParameterError(f"dataset: {name} must have shape ({size},), one label per row, got {y.shape}")
    if y.dtype != np.uint8 or not np.all(y <= 1):
        raise ParameterError(f"dataset: {name} must be uint8 labels in {{0, 1}}, got dtype {y.dtype} "
                             f"with values {np.unique(y)[:5].tolist()}")
    return y


@dataclass(frozen=True)
class Dataset:
    """A binary classification task with a train and a test split.

    ``X_train`` ``(n_train, d)`` and ``X_test`` ``(n_test, d)``: float64, finite, inside
    ``value_range`` and, when ``step`` is set, on the grid ``step * integers`` (within
    float rounding). ``y_train`` ``(n_train,)`` and ``y_test`` ``(n_test,)``: uint8 in
    {0, 1}. Construction validates all of it and raises ``ParameterError`` (one line)
    on the first violation; the arrays are copied and made read-only.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    step: float | None
    value_range: tuple[float, float]
    description: str

    def __post_init__(self) -> None:
        X_train, X_test = _as_rows("X_train", self.X_train), _as_rows("X_test", self.X_test)
        if X_train.shape[1] != X_test.shape[1]:
            raise ParameterError(f"dataset: X_train has {X_train.shape[1]} columns but X_test has {X_test.shape[1]}")
        y_train = _as_labels("y_train", self.y_train, len(X_train))
        y_test = _as_labels("y_test", self.y_test, len(X_test))
        low, high = (float(v) for v in self.value_range)
        if math.isnan(low) or math.isnan(high) or low >= high:
            raise ParameterError(f"dataset: value_range must be (low, high) with low < high, got {self.value_range}")
        step = None if self.step is None else float(self.step)
        if step is not None and not (math.isfinite(step) and step > 0):
            raise ParameterError(f"dataset: step must be a finite number > 0 or None, got {self.step}")
        for name, X in (("X_train", X_train), ("X_test", X_test)):
            if X.min() < low or X.max() > high:
                raise ParameterError(f"dataset: {name} has values in [{X.min():g}, {X.max():g}], "
                                     f"outside value_range [{low:g}, {high:g}]")
            if step is not None:
                off = np.abs(X / step - np.rint(X / step))
                if off.max() > GRID_SLACK:
                    raise ParameterError(f"dataset: {name} has values off the grid of step {step:g} "
                                         f"(largest offset {off.max():.3g} steps)")
        arrays = {"X_train": X_train, "y_train": y_train.copy(), "X_test": X_test, "y_test": y_test.copy()}
        for name, value in arrays.items():
            value.setflags(write=False)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "value_range", (low, high))
        object.__setattr__(self, "description", str(self.description))

    @property
    def d(self) -> int:
        """Number of coordinates of an input."""
        return int(self.X_train.shape[1])

    def distribution(self) -> Empirical:
        """The empirical distribution of the training inputs (uniform over the rows of
        ``X_train``), a library distribution the referee samples as it is."""
        return Empirical(self.X_train)

    def __repr__(self) -> str:
        step = "continuous" if self.step is None else f"step={self.step:.6g}"
        return (f"Dataset({self.description}; train={len(self.X_train)}, test={len(self.X_test)}, "
                f"d={self.d}, {step}, range=[{self.value_range[0]:g}, {self.value_range[1]:g}])")
