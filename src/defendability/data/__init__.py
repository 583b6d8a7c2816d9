"""data: datasets for learned models (bundled digits, synthetic Gaussian tasks, user arrays)."""

from .arrays import load_arrays
from .dataset import Dataset
from .digits import digits, upsample_images
from .gaussian import linear_threshold, two_gaussians

__all__ = ["Dataset", "digits", "linear_threshold", "load_arrays", "two_gaussians", "upsample_images"]
