"""defenders: each module registers its components with the registry on import."""

from .accept import Accept, AcceptDetector
from .boltzmann import Boltzmann, BoltzmannDetector
from .key_holder import KeyHolder, KeyHolderDetector
from .vote import Distill, PoolVote, Vote, VoteDetector

__all__ = ["Accept", "AcceptDetector", "Boltzmann", "BoltzmannDetector", "Distill", "KeyHolder",
           "KeyHolderDetector", "PoolVote", "Vote", "VoteDetector"]
