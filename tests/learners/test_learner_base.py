"""The helpers every learner shares live in learners/base.py."""

from __future__ import annotations

import numpy as np
import pytest

from defendability.classes.parities import Parities
from defendability.learners import base, closure, erm, one_inclusion, span


def test_shared_helpers_are_defined_once_in_base():
    for module in (closure, erm, one_inclusion, span):
        assert module.check_batch is base.check_batch, module
    for module in (closure, one_inclusion, span):
        assert module.pac_sample_size is base.pac_sample_size, module
    assert base.check_batch.__module__ == base.pac_sample_size.__module__ == "defendability.learners.base"


def test_check_batch_names_the_wrong_shape():
    cls = Parities(3)
    X, Y, Q = np.zeros((2, 4, 3)), np.zeros((2, 4)), np.zeros((5, 3))
    base.check_batch(cls, X, Y, Q)
    with pytest.raises(ValueError, match="X must have shape"):
        base.check_batch(cls, np.zeros((2, 4, 2)), Y, Q)
    with pytest.raises(ValueError, match="Y must have shape"):
        base.check_batch(cls, X, np.zeros((2, 3)), Q)
    with pytest.raises(ValueError, match="queries must have shape"):
        base.check_batch(cls, X, Y, np.zeros((5, 4)))


def test_pac_sample_size_from_base():
    assert base.pac_sample_size(3, 0.1) == 29
    assert base.pac_sample_size(20, 0.1) == 199
