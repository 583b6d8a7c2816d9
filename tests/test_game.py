"""The referee's rules (THEORY.md §1): rule checks, invalid policies, seeding."""

from __future__ import annotations

import numpy as np
import pytest

from scripted import Coin, Indicator, Scripted
from toys import ToySets
from defendability import Game, stats
from defendability.attackers.base import Attacker
from defendability.errors import ParameterError
from defendability.game import check_distance, default_distance_samples, referee_distribution
from defendability.spaces import FiniteDistribution, Gaussian, UniformDiscrete


def _game(mode, eps=0.2, **kw):
    return Game(ToySets(8, 4), Scripted(mode), Coin(0.3), eps, **kw)


def test_honest_backdoor_is_valid_every_round():
    r = _game("honest").play(rounds=200, seed=1)
    assert r.valid_rounds == 200 and r.invalid_rounds == 0


@pytest.mark.parametrize("mode,reason", [("far", "too_far"), ("no-flip", "no_flip"),
                                         ("outside", "not_a_member"), ("foreign", "not_a_member"),
                                         ("none", "no_backdoor")])
def test_cheating_attackers_are_caught_every_round(mode, reason):
    r = _game(mode).play(rounds=200, seed=2)
    assert r.invalid_reasons == {reason: 200}
    assert r.valid_rounds == 0
    # defender_wins: no miss is ever counted, the clean side is still played
    assert r.beta == 0.0 and r.alpha > 0.0


def test_void_policy_drops_rounds_and_counts_them():
    r = _game("none", invalid_policy="void").play(rounds=50, seed=3)
    assert r.void_rounds == 50 and r.invalid_reasons == {"no_backdoor": 50}


def test_distance_budget_is_exact_on_finite_support():
    # the honest flip costs exactly 1/8: valid at eps = 1/8, invalid just below
    assert _game("honest", eps=1 / 8).play(rounds=50, seed=4).valid_rounds == 50
    assert _game("honest", eps=0.1249).play(rounds=50, seed=4).invalid_reasons == {"too_far": 50}


def test_coin_defender_rates_match_its_coin_within_ci():
    # 99.9% intervals from the counts (the result's own are 95%): three checks, no flakes
    r = _game("honest").play(rounds=2000, seed=5)
    n = r.rounds
    assert stats.wilson(round(r.alpha * n), n, 0.999)[0] <= 0.3 <= stats.wilson(round(r.alpha * n), n, 0.999)[1]
    assert stats.wilson(round(r.beta * n), n, 0.999)[0] <= 0.7 <= stats.wilson(round(r.beta * n), n, 0.999)[1]
    rej, acc = round(r.alpha * n), round(r.beta * n)
    lo, hi = stats.sum_interval(rej, n, acc, n, 0.999)
    assert lo <= 1.0 <= hi  # alpha + beta = 0.3 + 0.7
    assert r.alpha_ci == stats.wilson(rej, n) and r.error_sum_ci == stats.sum_interval(rej, n, acc, n)
    assert r.win_ci == pytest.approx((1 - r.error_sum_ci[1] / 2, 1 - r.error_sum_ci[0] / 2))


def test_results_do_not_depend_on_how_rounds_are_split():
    g = _game("honest")
    whole = g.play_rounds(7, range(300))
    parts = g.play_rounds(7, range(0, 120)) + g.play_rounds(7, range(120, 300))
    assert whole == parts
    again = _game("honest").play(rounds=300, seed=7)
    assert again.alpha == g.summarise(whole, 7, 0.0).alpha


def test_seeds_change_results():
    a = _game("honest").play(rounds=300, seed=1)
    b = _game("honest").play(rounds=300, seed=2)
    assert a.clean_scores != b.clean_scores


def test_estimated_distance_uses_one_sided_bound():
    cls = ToySets(8, 3)
    rng = np.random.default_rng(0)

    class Threshold(Indicator):
        def __init__(self, t):
            self.elements, self.M, self.t = (), 0, t

        def __call__(self, x):
            return (np.asarray(x) > self.t).astype(np.uint8)

    dist = Gaussian(0)
    near, far = Threshold(3.0), Threshold(2.0)  # mass between: about 0.0214
    chk = check_distance(cls, near, far, dist, 0.03, rng, samples=200_000)
    assert not chk.exact and chk.samples == 200_000 and chk.upper >= chk.value and chk.ok
    assert not check_distance(cls, near, far, dist, 0.02, rng, samples=200_000).ok
    assert default_distance_samples(0.001) == 30_000


def test_exact_distance_via_support():
    cls = ToySets(8, 3)
    chk = check_distance(cls, Indicator([0], 8), Indicator([0, 1, 2], 8), UniformDiscrete(8), 0.25,
                         np.random.default_rng(0))
    assert chk.exact and chk.value == 0.25 and chk.ok


@pytest.mark.parametrize("eps", [0.0, 1.0, -0.1, 2])
def test_eps_outside_unit_interval_is_refused(eps):
    with pytest.raises(ParameterError, match="eps"):
        _game("honest", eps=eps)


def test_bad_policy_is_refused():
    with pytest.raises(ParameterError, match="invalid_policy"):
        _game("honest", invalid_policy="resample")


class _Rigged(UniformDiscrete):
    """Claims to be uniform on [8] but always puts 5 first (as the trigger)."""

    def sample(self, rng, size):
        out = super().sample(rng, size)
        out[0] = 5
        return out


class _RiggedAttacker(Scripted):
    def setup(self, cls, eps, rng):
        return _Rigged(8), Indicator([0], 8)


class _Opaque(Gaussian):
    """A subclass of a trusted type without a finite support: the referee will not use it."""


class _OpaqueAttacker(Scripted):
    def setup(self, cls, eps, rng):
        return _Opaque(0), Indicator([0], 8)


def test_the_referee_never_runs_an_attackers_sampling_code():
    game = Game(ToySets(8, 4), _RiggedAttacker("honest"), Coin(0.3), 0.2)
    triggers = [game.play_round(3, i) for i in range(200)]
    assert all(t.status == "valid" for t in triggers)
    # the referee samples the support the attacker declared: x* = 5 only about 1/8 of the time
    assert referee_distribution(_Rigged(8)).__class__ is FiniteDistribution
    r = game.play(rounds=400, seed=4)
    assert r.valid_rounds == 400
    assert r.invalid_reasons == {}
    opaque = Game(ToySets(8, 4), _OpaqueAttacker("honest"), Coin(0.3), 0.2).play(rounds=20, seed=1)
    assert opaque.invalid_reasons == {"bad_distribution": 20} and opaque.void_rounds == 20


def test_triggers_follow_the_declared_distribution():
    game = Game(ToySets(8, 4), _RiggedAttacker("honest"), Coin(0.3), 0.2)
    fives = 0
    for i in range(800):
        rng = np.random.default_rng(np.random.SeedSequence(9, spawn_key=(i, 1)))
        x_star, _ = referee_distribution(_Rigged(8)).sample(rng, 2)
        fives += int(x_star == 5)
    lo, hi = stats.wilson(fives, 800, 0.999)
    assert lo <= 1 / 8 <= hi
    assert game.play_round(0, 0).status == "valid"


def test_no_rounds_kept_gives_json_null_not_nan():
    import json

    r = _game("none", invalid_policy="void").play(rounds=5, seed=1)
    text = json.dumps(r.to_dict(), allow_nan=False)
    assert json.loads(text)["alpha"] is None


def test_tiny_eps_is_refused_with_a_reason():
    with pytest.raises(ParameterError, match="float resolution"):
        _game("honest", eps=1e-300)


def test_numpy_floats_are_accepted_as_eps():
    assert Game(ToySets(8, 4), Scripted("honest"), Coin(0.3), np.float32(0.25)).eps == pytest.approx(0.25)


def test_objects_of_the_wrong_kind_are_named():
    with pytest.raises(ParameterError, match="attacker must be an Attacker"):
        Game(ToySets(8, 4), 5, Coin(0.3), 0.2)


class _Mutator(Attacker):
    """After seeing x*, edits the f it was handed (in place) to agree with its f*
    (``mutate=False``: the same attacker without the edit)."""

    name = "mutator"

    def __init__(self, mutate: bool = True):
        self.mutate = mutate

    def setup(self, cls, eps, rng):
        from defendability.classes.subsets import SubsetFunction

        return cls.default_distribution(), SubsetFunction(np.array([0]), cls.N)

    def backdoor(self, cls, dist, f, x_star, eps, rng):
        from defendability.classes.subsets import SubsetFunction

        if self.mutate:
            flipped = sorted(set(f.elements.tolist()) ^ {int(x_star)})
            f.elements = np.array(flipped, dtype=np.int64)  # the referee's f, if it kept the same object
            f._mask[:] = 0
            f._mask[f.elements] = 1
        return SubsetFunction(np.array([0]), cls.N) if int(x_star) != 0 else SubsetFunction(np.array([], int), cls.N)


def test_an_attacker_cannot_edit_f_after_seeing_the_trigger():
    """The attacker keeps the object it made and the referee its own copy: an edit made
    after x* is drawn changes no verdict. f = {0}; f* = {0} (no flip) unless x* = 0, where
    f* = {} is an honest backdoor; the edit would have made f agree with f* everywhere."""
    mutated = Game("subsets:N=16,d=4", _Mutator(), "accept", 0.1).play_rounds(2, range(80))
    honest = Game("subsets:N=16,d=4", _Mutator(mutate=False), "accept", 0.1).play_rounds(2, range(80))
    assert mutated == honest
    statuses = {r.status for r in mutated}
    assert statuses == {"valid", "no_flip"}
