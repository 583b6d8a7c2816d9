"""scikit-learn's bundled 8x8 handwritten digits as a binary task on the 8-bit grid.

The 1,797 images of ``sklearn.datasets.load_digits`` (UCI optical digits, no download:
the file ships with scikit-learn) have 17 grey levels v in {0, ..., 16}. They are mapped
to the 8-bit grid used by the signature backdoor (THEORY.md §6.1): pixel =
round(255 v / 16) / 255, so every value lies in [0, 1] on the grid of step 1/255. Each
value is stored as the float64 product k * (1/255) (k an integer in 0..255), one fixed
rounding per grid point, so that every part of the library that maps codes to values
the same way gets bit-identical pixels, and ``rint(x * 255)`` recovers k.

The signature backdoor needs at least 516 carrier coordinates (512 signature bits + a
label), more than the 64 pixels of an 8x8 image, so images can be **upsampled** by an
integer factor (3 gives 24x24 = 576 pixels): ``nearest`` repeats each pixel in a
factor x factor block (values stay on the grid exactly); ``bilinear`` interpolates
linearly between pixel centres (``scipy.ndimage.zoom`` with ``order=1``,
``grid_mode=True``: pixels are treated as squares, edges replicated) and rounds the
result back to the 8-bit grid. Images are flattened row-major: pixel (i, j) of an
s x s image is coordinate i * s + j.
"""

from __future__ import annotations

import numpy as np

from ..errors import check
from .dataset import Dataset

#: Quantisation step of the returned pixels: the 8-bit grid.
STEP = 1.0 / 255.0

#: Binary labels offered, as functions of the digit 0..9.
LABELS = {
    "high": lambda digit: digit >= 5,    # 5..9 -> 1: 896 images labelled 1, 901 labelled 0
    "odd": lambda digit: digit % 2 == 1,  # 1, 3, 5, 7, 9 -> 1: 906 labelled 1, 891 labelled 0
}

METHODS = ("nearest", "bilinear")

#: Largest upsampling factor (32x32 -> 256 x 256 images would already be 65,536 pixels).
MAX_UPSAMPLE = 32


def upsample_images(images: np.ndarray, factor: int, method: str = "nearest") -> np.ndarray:
    """Upsample square images ``(size, s, s)`` with values on the 8-bit grid in [0, 1] to
    ``(size, factor * s, factor * s)``, on the same grid (see the module docstring)."""
    check(isinstance(factor, int) and not isinstance(factor, bool) and 1 <= factor <= MAX_UPSAMPLE,
          f"digits: upsample must be an integer in [1, {MAX_UPSAMPLE}], got {factor!r}")
    check(method in METHODS, f"digits: method must be one of {', '.join(METHODS)}, got {method!r}")
    images = np.asarray(images, dtype=np.float64)
    if factor == 1:
        return images.copy()
    if method == "nearest":
        return np.repeat(np.repeat(images, factor, axis=1), factor, axis=2)
    from scipy.ndimage import zoom

    # grid_mode=True scales pixel squares rather than pixel centres, so a factor-3 zoom
    # of an 8x8 image is exactly 24x24 and the image is not shifted; edges are replicated
    # ("nearest") rather than faded to 0
    big = zoom(images, (1, factor, factor), order=1, grid_mode=True, mode="nearest")
    return np.clip(np.rint(big / STEP), 0, 255) * STEP


def digits(label: str = "high", upsample: int = 1, method: str = "nearest",
           test_fraction: float = 0.25, seed: int = 0) -> Dataset:
    """The digits task: ``X_*`` rows of ``(8 * upsample) ** 2`` pixels in [0, 1]
    on the 8-bit grid (step 1/255), ``y_*`` uint8 binary labels.

    ``label``: ``"high"`` (y = 1 iff the digit is 5..9) or ``"odd"`` (y = 1 iff it is
    odd). The split is scikit-learn's ``train_test_split`` stratified by digit, with
    ``random_state=seed``: fixed for a given seed (with the defaults, 1,347 training
    and 450 test images).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    check(label in LABELS, f"digits: label must be one of {', '.join(LABELS)}, got {label!r}")
    check(isinstance(test_fraction, float) and 0.0 < test_fraction < 1.0,
          f"digits: test_fraction must be a float in (0, 1), got {test_fraction!r}")
    check(isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0,
          f"digits: seed must be an integer >= 0, got {seed!r}")
    bunch = load_digits()
    levels = bunch.images  # (1797, 8, 8), integers 0..16 stored as float
    pixels = np.rint(levels * 255.0 / 16.0) * STEP
    images = upsample_images(pixels, upsample, method)
    X = images.reshape(len(images), -1)
    y = LABELS[label](bunch.target).astype(np.uint8)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_fraction, random_state=seed,
                                                        stratify=bunch.target)
    side = 8 * upsample
    how = "" if upsample == 1 else f", upsampled x{upsample} ({method})"
    return Dataset(X_train, y_train, X_test, y_test, step=STEP, value_range=(0.0, 1.0),
                   description=f"digits {side}x{side}{how}, label={label}, 8-bit grid, split seed {seed}")
