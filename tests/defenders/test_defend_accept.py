"""The accept baseline."""

from __future__ import annotations

import numpy as np

from defendability.classes.base import Counted
from defendability.defenders.accept import Accept
from defendability.registry import build
from defendability.spaces import Sampler, UniformDiscrete
from toys import Labelling, ToySets


def test_accepts_everything_at_no_cost():
    g, sampler = Counted(Labelling([1, 0, 1])), Sampler(UniformDiscrete(3), np.random.default_rng(0))
    detector = build("defenders", "accept").fit(ToySets(3, 1), g, sampler, 0.1, np.random.default_rng(0))
    scores, decisions = detector.score_and_decide(np.arange(3))
    np.testing.assert_array_equal(scores, np.zeros(3))
    assert not decisions.any() and g.evaluations == 0 and sampler.drawn == 0
    assert Accept.graded is False and Accept().guarantee(ToySets(3, 1), 0.1) == {"alpha": 0.0, "beta": 1.0}
