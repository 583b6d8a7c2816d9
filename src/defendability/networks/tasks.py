"""Image classification tasks for networks: bundled digits, synthetic tasks, and loaders.

An :class:`ImageTask` is a train and a test split of images ``(n, C, H, W)`` float32 in
[0, 1] with integer labels in [0, classes). Nothing is downloaded:

- :func:`digits_task`: scikit-learn's bundled 8x8 digits, ten classes, optionally
  upsampled (``nearest`` or ``bilinear``, :func:`~defendability.data.digits.upsample_images`);
- :func:`synthetic_task`: bars and blobs drawn from a seed (a task any size, for tests
  and sweeps);
- :func:`load_task`: a user's files, read without pickle: MNIST's IDX files, CIFAR-10's
  binary batches, or an ``.npz`` of plain arrays (:mod:`.loaders`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, check
from .backend import DTYPE

#: Largest image side (bounds memory: a 256x256x3 image is 196,608 inputs).
MAX_SIDE = 256


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: tasks are cached, arrays are large
class ImageTask:
    """Images and labels, split in two.

    ``X_train`` ``(n_train, C, H, W)`` and ``X_test`` ``(n_test, C, H, W)``: float32,
    finite, in [0, 1]; ``y_train``, ``y_test``: uint8 labels in [0, ``classes``).
    Validated on construction (``ParameterError``, one line); the arrays are copied and
    made read-only.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int
    description: str

    def __post_init__(self) -> None:
        check(type(self.classes) is int and 2 <= self.classes <= 255,
              f"task: classes must be an integer in [2, 255], got {self.classes!r}")
        shape = None
        for split in ("train", "test"):
            X, y = np.asarray(getattr(self, f"X_{split}")), np.asarray(getattr(self, f"y_{split}"))
            if X.ndim != 4 or len(X) == 0 or min(X.shape[1:]) < 1 or max(X.shape[2:]) > MAX_SIDE:
                raise ParameterError(f"task: X_{split} must have shape (n, C, H, W) with n >= 1 and sides up to "
                                     f"{MAX_SIDE}, got {X.shape}")
            if shape is not None and X.shape[1:] != shape:
                raise ParameterError(f"task: X_train has images {shape} but X_test {X.shape[1:]}")
            shape = X.shape[1:]
            if not (np.issubdtype(X.dtype, np.number) and not np.iscomplexobj(X)):
                raise ParameterError(f"task: X_{split} must hold real numbers, got dtype {X.dtype}")
            X = X.astype(DTYPE)
            bad = np.count_nonzero(~np.isfinite(X))
            if bad:
                raise ParameterError(f"task: X_{split} has {bad} non-finite values")
            if X.min() < 0.0 or X.max() > 1.0:
                raise ParameterError(f"task: X_{split} has values in [{X.min():g}, {X.max():g}], outside [0, 1]")
            if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
                raise ParameterError(f"task: y_{split} must be ({len(X)},) integers, got {y.shape} {y.dtype}")
            if len(y) and (y.min() < 0 or y.max() >= self.classes):
                raise ParameterError(f"task: y_{split} has labels outside [0, {self.classes})")
            X, y = np.ascontiguousarray(X), y.astype(np.uint8)
            X.setflags(write=False)
            y.setflags(write=False)
            object.__setattr__(self, f"X_{split}", X)
            object.__setattr__(self, f"y_{split}", y)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(v) for v in self.X_train.shape[1:])  # type: ignore[return-value]

    def __repr__(self) -> str:
        return (f"ImageTask({self.description}; train={len(self.X_train)}, test={len(self.X_test)}, "
                f"image={list(self.image_shape)}, classes={self.classes})")


@functools.lru_cache(maxsize=8)
def digits_task(upsample: int = 1, method: str = "nearest", seed: int = 0) -> ImageTask:
    """scikit-learn's digits as ten classes: images ``(1, 8u, 8u)`` on the 8-bit grid
    (17 grey levels mapped to k/255), a split stratified by digit with
    ``random_state=seed`` (1,347 training and 450 test images). Cached (the task is
    immutable)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from ..data.digits import STEP, upsample_images

    check(type(seed) is int and seed >= 0, f"digits: seed must be an integer >= 0, got {seed!r}")
    bunch = load_digits()
    images = upsample_images(np.rint(bunch.images * 255.0 / 16.0) * STEP, upsample, method)[:, None]
    X_train, X_test, y_train, y_test = train_test_split(images, bunch.target, test_size=0.25, random_state=seed,
                                                        stratify=bunch.target)
    side = 8 * upsample
    how = "" if upsample == 1 else f", upsampled x{upsample} ({method})"
    return ImageTask(X_train, y_train, X_test, y_test, 10, f"digits {side}x{side}{how}, split seed {seed}")


@functools.lru_cache(maxsize=8)
def synthetic_task(side: int = 8, classes: int = 4, train: int = 800, test: int = 400, noise: float = 0.1,
                   seed: int = 0) -> ImageTask:
    """A synthetic task: class c is a bright horizontal bar at row c * side // classes
    on a noisy background, shifted by up to (side // classes - 1) // 2 rows (so that
    classes never share a row); images ``(1, side, side)``.
    Learnable by any of the architectures in a few epochs; for tests and sweeps that
    need a task of a given size."""
    check(type(side) is int and 4 <= side <= MAX_SIDE, f"synthetic: side must be an integer in [4, {MAX_SIDE}]")
    check(type(classes) is int and 2 <= classes <= side,
          f"synthetic: classes must be an integer in [2, side={side}], got {classes!r}")
    check(type(train) is int and type(test) is int and train >= classes and test >= 1,
          "synthetic: train must be >= classes and test >= 1")
    check(isinstance(noise, float) and 0.0 <= noise <= 0.5, f"synthetic: noise must be in [0, 0.5], got {noise!r}")
    rng = np.random.default_rng(seed)

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.arange(n) % classes
        rng.shuffle(y)
        X = rng.uniform(0.0, noise, size=(n, 1, side, side))
        jitter = (side // classes - 1) // 2  # bars of different classes never share a row
        rows = np.clip(y * side // classes + rng.integers(-jitter, jitter + 1, size=n), 0, side - 1)
        X[np.arange(n), 0, rows, :] = rng.uniform(0.7, 1.0, size=(n, 1))
        return X, y

    X_train, y_train = draw(train)
    X_test, y_test = draw(test)
    return ImageTask(X_train, y_train, X_test, y_test, classes,
                     f"synthetic bars {side}x{side}, {classes} classes, noise {noise}, seed {seed}")
