"""models: trainable models and their backdoored twins (THEORY.md §6.2)."""

from .rff import CLWEBackdooredRFF, RFFClassifier, RFFKey
from .sparse_pca import RandomReLUClassifier, ReLUKey, SparsePCABackdooredReLU

__all__ = [
    "CLWEBackdooredRFF", "RFFClassifier", "RFFKey", "RandomReLUClassifier", "ReLUKey", "SparsePCABackdooredReLU",
]
