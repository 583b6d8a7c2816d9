"""attackers: each module registers its components with the registry on import."""

from .mixture import Mixture
from .null import Null
from .point_flip import PointFlip
from .shatter import Shatter
from .worst_case import WorstCase

__all__ = ["Mixture", "Null", "PointFlip", "Shatter", "WorstCase"]
