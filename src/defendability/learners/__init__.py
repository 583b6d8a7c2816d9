"""learners: each module registers its components with the registry on import."""

from .base import Learner
from .closure import Closure
from .erm import ERM
from .estimator import Estimator
from .one_inclusion import OneInclusion, Orientation
from .span import Span

__all__ = ["Learner", "Closure", "ERM", "Estimator", "OneInclusion", "Orientation", "Span"]
