"""defenders: one module per defender family, each registering its defenders on import.

Nothing is imported here: the registry imports a defender's module when its name is
first looked up, and the names below are imported on first access.
"""

from ..registry import lazy_exports

_EXPORTS = {
    "Defender": "base", "Detector": "base",
    "Accept": "accept", "AcceptDetector": "accept",
    "BehaviourTest": "behaviour_test",
    "Boltzmann": "boltzmann", "BoltzmannDetector": "boltzmann",
    "KeyHolder": "key_holder", "KeyHolderDetector": "key_holder",
    "EvidenceDetector": "model_evidence",
    "Neighbours": "neighbours", "NeighboursDetector": "neighbours",
    "RareWire": "rare_wire", "RareWireDetector": "rare_wire",
    "Smoothing": "smoothing", "SmoothingDetector": "smoothing", "smoothed_predict": "smoothing",
    "smoothed_vote": "smoothing",
    "TreeDepth": "tree_depth", "TreeDepthDetector": "tree_depth",
    "Distill": "vote", "PoolVote": "vote", "Vote": "vote", "VoteDetector": "vote",
    "WeightTest": "weight_test",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
