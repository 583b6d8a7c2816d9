"""Isolated players (``isolate=True``): the same rounds as in one process, and the holes
that only processes close.

In one process a player that reaches outside what it is handed (a module global, the
referee's stack frames) can still cheat; these tests show two such cheats winning in
one process (the negative controls) and losing with ``isolate=True``.
"""

from __future__ import annotations

import subprocess
import sys
import sys as _sys

import numpy as np
import pytest

from defendability import Game, play
from defendability.attackers.base import Attacker
from defendability.classes.subsets import SubsetFunction
from defendability.defenders.base import Defender, Detector
from defendability.errors import ParameterError
from defendability.isolation import PlayerError
from defendability.spaces import UniformDiscrete

ROUNDS = 6


@pytest.mark.parametrize("args, kwargs", [
    (("subsets:N=16,d=4", "shatter", "vote:learner=closure,voters=11", 1 / 4), {}),
    (("parities:n=6", "point-flip", "vote:learner=span,voters=9", 1 / 64), {}),
    (("parities:n=8", "shatter", "key-holder", 1 / 8), {"trace": True}),
    (("subsets:N=32,d=6", "mixture", "boltzmann", 0.05), {"invalid_policy": "void"}),
])
def test_isolated_rounds_equal_rounds_in_one_process(args, kwargs):
    together = Game(*args, **kwargs).play_rounds(11, range(ROUNDS))
    apart = Game(*args, isolate=True, **kwargs).play_rounds(11, range(ROUNDS))
    assert apart == together


_STASH: dict[str, object] = {}


class GlobalHoarder(Defender):
    """Keeps the labels of the function it saw on the clean side in a module global and,
    on the backdoor side, rejects a function that differs: in one process that compares
    f* with f, the cheat fresh copies of the defender cannot stop."""

    name = "global-hoarder"
    graded = False

    def fit(self, cls, g, sampler, eps, rng):
        labels = g(np.arange(8)).tobytes()
        last = _STASH.get("labels")
        differs = last is not None and last != labels
        _STASH["labels"] = labels

        class _D(Detector):
            def score(self, x):
                return np.full(len(x), float(differs))

        return _D()


def test_a_module_global_carries_nothing_between_isolated_decisions():
    args = ("subsets:N=64,d=8", "shatter", GlobalHoarder(), 1 / 8)
    _STASH.clear()
    cheat = Game(*args).play(rounds=60, seed=3)
    assert cheat.beta <= 0.1  # negative control: in one process the global sees f, then f*
    _STASH.clear()
    fair = Game(*args, isolate=True).play(rounds=30, seed=3)
    assert fair.beta == 1.0 and fair.alpha == 0.0  # every process starts without a stash


class FrameReader(Defender):
    """Walks up the call stack to the referee's frame and reads the trigger it drew
    (``side.trigger`` in the round's frame): rejects exactly that input."""

    name = "frame-reader"
    graded = False

    def fit(self, cls, g, sampler, eps, rng):
        frame, trigger = _sys._getframe(), None
        while frame is not None:
            if "side" in frame.f_locals:
                trigger = frame.f_locals["side"].trigger
                break
            frame = frame.f_back

        class _D(Detector):
            def score(self, x):
                if trigger is None:
                    return np.zeros(len(x))
                return np.array([float(np.array_equal(row, trigger)) for row in x])

        return _D()


def test_an_isolated_defender_cannot_read_the_referees_frames():
    """The shattering game at eps = 1/d: every honest defender has alpha + beta = 1."""
    args = ("subsets:N=64,d=8", "shatter", FrameReader(), 1 / 8)
    cheat = Game(*args).play(rounds=60, seed=4)
    assert cheat.beta == 0.0  # negative control: in one process it reads x* off the stack
    fair = Game(*args, isolate=True).play(rounds=30, seed=4)
    assert fair.beta == 1.0 and fair.alpha == 0.0


class Foreign(Attacker):
    """Returns a function of its own type (a lambda-like object the referee must not build)."""

    name = "foreign"

    def setup(self, cls, eps, rng):
        return UniformDiscrete(8), SubsetFunction(np.array([0]), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        return Impostor()


class Impostor(SubsetFunction):
    """A subclass: not a member, and not a type the referee unpickles from a player."""

    def __init__(self):
        super().__init__(np.array([1]), 8)


class Crasher(Foreign):
    name = "crasher"

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        raise RuntimeError("boom")


def test_what_the_referee_will_not_build_is_an_invalid_round_not_a_crash():
    together = Game("subsets:N=8,d=2", Foreign(), "accept", 0.5).play(rounds=4, seed=1)
    apart = Game("subsets:N=8,d=2", Foreign(), "accept", 0.5, isolate=True).play(rounds=4, seed=1)
    assert together.invalid_reasons == apart.invalid_reasons == {"not_a_member": 4}


def test_a_player_that_raises_is_named():
    with pytest.raises(PlayerError, match="attacker raised in its process: RuntimeError: boom"):
        Game("subsets:N=8,d=2", Crasher(), "accept", 0.5, isolate=True).play(rounds=1, seed=1)


def test_a_player_that_cannot_travel_is_refused_up_front():
    class Local(Foreign):  # defined in a function: cannot be sent by reference
        name = "local"

    with pytest.raises(ParameterError, match="isolate: the attacker .* cannot be sent"):
        Game("subsets:N=8,d=2", Local(), "accept", 0.5, isolate=True)


def test_isolate_from_play_and_the_command_line():
    r = play("subsets:N=16,d=4", "shatter", "accept", 1 / 4, rounds=3, seed=2, isolate=True)
    assert r.rounds == 3
    out = subprocess.run([sys.executable, "-m", "defendability.cli", "play", "--class", "subsets:N=16,d=4",
                          "--attacker", "shatter", "--defender", "accept", "--eps", "0.25", "--rounds", "3",
                          "--isolate", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert '"isolate": true' in out.stdout
