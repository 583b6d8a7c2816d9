"""The game's three modes (THEORY.md §1, §6): random-trigger (the paper's), perturbation
(the attacker plants f* without a trigger and activates a natural input within a budget
the referee enforces) and static (the defender sees f* with an ordinary input). The
random-trigger numbers do not change when the other modes exist."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from defendability import Game, play
from defendability.attackers.base import Attacker
from defendability.classes.subsets import SubsetFunction
from defendability.defenders.base import Defender, Detector
from defendability.errors import IncompatibleError, ParameterError
from defendability.experiments.config import ConfigError, parse_config
from scripted import SharedLog


class Planter(Attacker):
    """On subsets of [N]: f = {0}; plants f* = {0, N-1}; activates any x to N-1, a move of
    up to N-1 in l_inf. ``cheat`` activates to N-2, where f* does not differ from f."""

    name = "planter"
    modes = ("perturbation", "static")

    def __init__(self, budget: float = 15.0, cheat: bool = False):
        self.budget, self.cheat = budget, cheat

    def setup(self, cls, eps, rng):
        return cls.default_distribution(), SubsetFunction(np.array([0]), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        raise AssertionError("a planting attacker is never asked for a triggered backdoor")

    def plant(self, cls, dist, f, eps, rng):
        return SubsetFunction(np.array([0, cls.N - 1]), cls.N)

    def activate(self, cls, f_star, x, rng):
        return np.asarray(cls.N - 2 if self.cheat else cls.N - 1, dtype=np.asarray(x).dtype)

    def perturbation_budget(self, cls):
        return (self.budget, self.budget)


class Seen(Defender):
    """Accepts everything; records (model key, input) per decision."""

    name = "seen"
    graded = False

    def __init__(self):
        self.log = SharedLog()

    def fit(self, cls, g, sampler, eps, rng):
        log = self.log

        class _D(Detector):
            def score(self, x):
                log.append((g.key(), int(np.asarray(x).reshape(-1)[0])))
                return np.zeros(len(x))

        return _D()


def test_perturbation_round_shows_the_activated_input_to_the_defender():
    seen = Seen()
    r = Game("subsets:N=16,d=4", Planter(), seen, 0.1, mode="perturbation").play(rounds=30, seed=3)
    # f*(15) = 1 must differ from f at 15 (0) and at the natural x: not when x = 0 (f(0) = 1)
    assert r.mode == "perturbation" and r.budget == [15.0, 15.0]
    assert r.valid_rounds >= 25 and set(r.invalid_reasons) <= {"no_flip"}
    backdoor_inputs = [x for key, x in seen.log if key == SubsetFunction(np.array([0, 15]), 16).key()]
    assert backdoor_inputs == [15] * r.valid_rounds and r.beta == r.valid_rounds / 30  # invalid: caught


def test_the_budget_is_enforced():
    # activating x to 15 moves it by 15 - x: a budget of 4 allows it only from x >= 11
    r = Game("subsets:N=16,d=4", Planter(), "accept", 0.1, mode="perturbation", budget=(4, 4)).play(60, seed=4)
    assert r.invalid_reasons.get("too_perturbed", 0) > 0 and r.valid_rounds > 0
    assert r.valid_rounds + r.invalid_reasons["too_perturbed"] == 60
    # the attacker's own declaration is the default
    r2 = Game("subsets:N=16,d=4", Planter(budget=4.0), "accept", 0.1, mode="perturbation").play(60, seed=4)
    assert r2.invalid_reasons == r.invalid_reasons


def test_an_activation_that_does_not_flip_is_invalid():
    r = Game("subsets:N=16,d=4", Planter(cheat=True), "accept", 0.1, mode="perturbation").play(20, seed=5)
    assert r.valid_rounds == 0 and r.invalid_reasons == {"no_flip": 20}


def test_static_mode_shows_the_model_with_an_ordinary_input():
    seen = Seen()
    r = Game("subsets:N=16,d=4", Planter(), seen, 0.1, mode="static").play(rounds=40, seed=6)
    # f*(15) = 1 must differ from f at the natural x: every round but those where x = 0
    assert r.valid_rounds >= 32 and set(r.invalid_reasons) <= {"no_flip"}
    inputs = [x for key, x in seen.log if key == SubsetFunction(np.array([0, 15]), 16).key()]
    assert len(inputs) == r.valid_rounds and len(set(inputs)) > 5  # ordinary draws, not the activated 15
    # a triggered attacker backdoors a referee-drawn x* in static mode, then the defender
    # sees an independent input: a vote defender that catches every trigger is at chance
    trig = play("subsets:N=32,d=8", "shatter", "vote:learner=closure", 1 / 8, rounds=300, seed=7)
    stat = play("subsets:N=32,d=8", "shatter", "vote:learner=closure", 1 / 8, rounds=300, seed=7, mode="static")
    assert stat.valid_rounds == trig.valid_rounds == 300
    assert stat.alpha == trig.alpha  # the clean side is the same draw in both modes


def test_random_trigger_numbers_are_unchanged_by_the_mode_option():
    a = play("parities:n=8", "mixture", "vote:learner=span", 0.05, rounds=80, seed=8)
    b = play("parities:n=8", "mixture", "vote:learner=span", 0.05, rounds=80, seed=8, mode="random-trigger")
    assert (a.alpha, a.beta, a.clean_scores, a.backdoor_scores) == (b.alpha, b.beta, b.clean_scores,
                                                                    b.backdoor_scores)


def test_modes_an_attacker_does_not_play_and_bad_budgets_are_refused():
    with pytest.raises(IncompatibleError, match="plays the modes random-trigger, static, predicate, not 'perturbation'"):
        Game("subsets:N=16,d=4", "shatter", "accept", 0.1, mode="perturbation")
    with pytest.raises(IncompatibleError, match="plays the modes perturbation, static"):
        Game("subsets:N=16,d=4", Planter(), "accept", 0.1)
    with pytest.raises(ParameterError, match="mode must be one of"):
        Game("subsets:N=16,d=4", "shatter", "accept", 0.1, mode="dynamic")
    with pytest.raises(ParameterError, match="budget must be"):
        Game("subsets:N=16,d=4", Planter(), "accept", 0.1, mode="perturbation", budget=(1, -1))


def test_cli_and_config():
    out = subprocess.run([sys.executable, "-m", "defendability.cli", "play", "--class", "subsets:N=32,d=8",
                          "--attacker", "shatter", "--defender", "accept", "--eps", "1/8", "--rounds", "20",
                          "--mode", "static", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["mode"] == "static"
    out = subprocess.run([sys.executable, "-m", "defendability.cli", "play", "--class", "subsets:N=32,d=8",
                          "--attacker", "shatter", "--defender", "accept", "--eps", "1/8", "--mode", "perturbation"],
                         capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "perturbation" in out.stderr
    text = ('name = "m"\nrounds = 10\nclass = "subsets:N=32,d=8"\nattacker = "shatter"\ndefender = "accept"\n'
            'eps = 0.125\nmode = "static"\n')
    (cell,) = parse_config(text).cells()
    assert cell.mode == "static" and cell.params["mode"] == "static"
    plain = parse_config(text.replace('mode = "static"\n', "")).cells()[0]
    assert plain.cell_id != cell.cell_id and "mode" not in plain.params
    with pytest.raises(ConfigError, match="x.toml: mode"):
        parse_config(text.replace('"static"', '"dynamic"'), "x.toml")
    with pytest.raises(ConfigError, match="x.toml: cell .*plays the modes"):
        parse_config(text.replace('"static"', '"perturbation"'), "x.toml")
    with pytest.raises(ConfigError, match="x.toml: cell .*budget applies to an attacker that activates"):
        parse_config(text + "budget = [1, 2]\n", "x.toml")
    with pytest.raises(ConfigError, match="x.toml: budget"):
        parse_config(text + "budget = [1, -2]\n", "x.toml")


class _Cheat(Planter):
    """Misbehaving activations: ``how`` = "edit" overwrites the natural input it is handed
    (hoping the referee measures the move from the edited array), "subclass" returns an
    ndarray subclass, "inf" declares an infinite budget."""

    name = "cheat"

    def __init__(self, how: str):
        super().__init__(budget=1.0)
        self.how = how

    def activate(self, cls, f_star, x, rng):
        if self.how == "edit":
            x[...] = cls.N - 1  # the far point, written into the array it was given
            return x
        return np.asarray(cls.N - 1, dtype=x.dtype).view(type("Fake", (np.ndarray,), {}))

    def perturbation_budget(self, cls):
        return (np.inf, np.inf) if self.how == "inf" else (1.0, 1.0)


def test_activations_cannot_move_the_referees_input_or_fake_an_array():
    for how in ("edit", "subclass"):
        r = Game("subsets:N=16,d=4", _Cheat(how), "accept", 0.1, mode="perturbation").play(rounds=30, seed=9)
        # a move of up to 15 under a budget of 1: only x in {14, 15} could be honest
        assert r.invalid_reasons.get("too_perturbed", 0) >= 20, (how, r.invalid_reasons)
    with pytest.raises(ParameterError, match="two finite numbers"):
        Game("subsets:N=16,d=4", _Cheat("inf"), "accept", 0.1, mode="perturbation")


class _NoOp(Planter):
    """Plants a member that differs from f in representation only, not in behaviour."""

    name = "no-op"

    def plant(self, cls, dist, f, eps, rng):
        return SubsetFunction(np.array([0]), cls.N)  # the same set, a new object

    def activate(self, cls, f_star, x, rng):
        return np.array(x, copy=True)


def test_static_mode_asks_a_planted_backdoor_to_work():
    r = Game("subsets:N=16,d=4", _NoOp(), "accept", 0.1, mode="static").play(rounds=20, seed=10)
    assert r.valid_rounds == 0 and r.invalid_reasons == {"no_flip": 20}
