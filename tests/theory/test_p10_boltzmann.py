"""P10: the Boltzmann defender (lambda = 0.6/eps, uniform prior on a finite class) sits
at the mixture lower bound: alpha + beta close to (d-1) eps. On the class of all
labellings of 4 points (d = 4) every pattern has the same prior weight, so the
posterior keeps g's label wherever the sample shows it (alpha about 0) and a flipped
trigger, which has the law of a clean input, is accepted (beta about (d-1) eps)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from theory_ci import alpha_ci, error_sum_ci
from defendability import play
from defendability.classes.table import Table


@pytest.mark.parametrize("eps", [0.02, 0.05, 0.1])
def test_boltzmann_sits_at_the_lower_bound(eps):
    cube = Table.from_rows(np.array(list(itertools.product([0, 1], repeat=4))))
    assert cube.vc_dimension == 4
    r = play(cube, "mixture", "boltzmann", eps=eps, rounds=800, seed=101)
    lo, hi = error_sum_ci(r)
    assert lo <= 3 * eps <= hi
    assert alpha_ci(r)[0] == 0.0
