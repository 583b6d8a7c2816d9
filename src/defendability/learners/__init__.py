"""learners: one module per prediction strategy, each registering its learner on import.

Nothing is imported here: the registry imports a learner's module when its name is
first looked up, and the names below are imported on first access.
"""

from ..registry import lazy_exports

_EXPORTS = {
    "Learner": "base", "natural_learner": "base",
    "Closure": "closure", "ERM": "erm", "Estimator": "estimator",
    "OneInclusion": "one_inclusion", "Orientation": "one_inclusion", "Span": "span",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
