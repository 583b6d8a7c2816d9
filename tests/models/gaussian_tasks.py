"""Synthetic Gaussian tasks for the model tests (points are rows, labels uint8 0/1)."""

from __future__ import annotations

import numpy as np


def two_gaussians(rng: np.random.Generator, n: int, direction: np.ndarray,
                  separation: float) -> tuple[np.ndarray, np.ndarray]:
    """Balanced labels; class c is N((2c - 1) (separation/2) u, I_d) for the unit vector
    ``direction`` u. The Bayes accuracy is Phi(separation/2)."""
    d = len(direction)
    y = rng.integers(0, 2, size=n).astype(np.uint8)
    x = rng.standard_normal((n, d)) + np.outer((2.0 * y - 1.0) * separation / 2.0, direction)
    return x, y


def concentric_gaussians(rng: np.random.Generator, n: int, d: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """Balanced labels; class 0 is N(0, I_d), class 1 is N(0, rho^2 I_d) (told apart by
    the norm: |x|/sqrt(d) concentrates at 1 and rho)."""
    y = rng.integers(0, 2, size=n).astype(np.uint8)
    x = rng.standard_normal((n, d)) * np.where(y == 1, rho, 1.0)[:, None]
    return x, y
