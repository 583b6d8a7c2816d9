"""attackers: one module per attacker family, each registering its attackers on import.

Nothing is imported here (the attackers need scipy, scikit-learn and cryptography, which
``import defendability`` should not pay for): the registry imports an attacker's module
when its name is first looked up, and the names below are imported on first access.
"""

from ..registry import lazy_exports

_EXPORTS = {
    "Attacker": "base",
    "HangingJunta": "hanging_junta", "IsolatingChain": "isolating_chain", "JuntaFlip": "junta_flip",
    "Mixture": "mixture", "Null": "null", "PointFlip": "point_flip", "PRFFlip": "prf_flip",
    "RFFCLWE": "rff_clwe", "ReLUSparsePCA": "relu_sparse_pca", "Shatter": "shatter",
    "Signature": "signature", "WorstCase": "worst_case",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
