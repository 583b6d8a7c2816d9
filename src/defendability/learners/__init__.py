"""learners: each module registers its components with the registry on import."""

from .base import Learner
from .closure import Closure
from .erm import ERM
from .one_inclusion import OneInclusion, Orientation
from .span import Span

__all__ = ["Learner", "Closure", "ERM", "OneInclusion", "Orientation", "Span"]
