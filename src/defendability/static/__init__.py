"""static: distinguishers a defender runs on the model itself, without a key (THEORY.md
§6, the static mode): tests of the weights against the clean sampler's law, and
behaviour compared with freshly trained clean models (docs/static-detection.md)."""

from .behaviour import accuracy_test, agreement_test, reference_predictions
from .weights import (
                      WEIGHT_TESTS,
                      Evidence,
                      coordinate_ks_test,
                      diagonal_test,
                      energy_test,
                      norm_ks_test,
                      top_eigenvalue_test,
                      weight_tests,
)

__all__ = [
    "WEIGHT_TESTS", "Evidence", "accuracy_test", "agreement_test", "coordinate_ks_test", "diagonal_test",
    "energy_test", "norm_ks_test", "reference_predictions", "top_eigenvalue_test", "weight_tests",
]
