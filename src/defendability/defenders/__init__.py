"""defenders: each module registers its components with the registry on import."""

from .accept import Accept, AcceptDetector
from .behaviour_test import BehaviourTest
from .boltzmann import Boltzmann, BoltzmannDetector
from .key_holder import KeyHolder, KeyHolderDetector
from .model_evidence import EvidenceDetector
from .neighbours import Neighbours, NeighboursDetector
from .rare_wire import RareWire, RareWireDetector
from .smoothing import Smoothing, SmoothingDetector, smoothed_predict, smoothed_vote
from .tree_depth import TreeDepth, TreeDepthDetector
from .vote import Distill, PoolVote, Vote, VoteDetector
from .weight_test import WeightTest

__all__ = [
    "Accept",
    "AcceptDetector",
    "BehaviourTest",
    "Boltzmann",
    "BoltzmannDetector",
    "Distill",
    "EvidenceDetector",
    "KeyHolder",
    "KeyHolderDetector",
    "Neighbours",
    "NeighboursDetector",
    "PoolVote",
    "RareWire",
    "RareWireDetector",
    "Smoothing",
    "SmoothingDetector",
    "TreeDepth",
    "TreeDepthDetector",
    "Vote",
    "VoteDetector",
    "WeightTest",
    "smoothed_predict",
    "smoothed_vote",
]
