"""defenders: each module registers its components with the registry on import."""

from .accept import Accept, AcceptDetector
from .boltzmann import Boltzmann, BoltzmannDetector
from .key_holder import KeyHolder, KeyHolderDetector
from .neighbours import Neighbours, NeighboursDetector
from .rare_wire import RareWire, RareWireDetector
from .smoothing import Smoothing, SmoothingDetector, smoothed_predict, smoothed_vote
from .tree_depth import TreeDepth, TreeDepthDetector
from .vote import Distill, PoolVote, Vote, VoteDetector

__all__ = [
    "Accept",
    "AcceptDetector",
    "Boltzmann",
    "BoltzmannDetector",
    "Distill",
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
    "smoothed_predict",
    "smoothed_vote",
]
