"""The network attackers: valid backdoors the referee accepts, and what each edit leaves alone."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.networks

from defendability import Game, play  # noqa: E402
from defendability.attackers._networks import flip_target  # noqa: E402
from defendability.errors import IncompatibleError, ParameterError  # noqa: E402
from defendability.registry import build  # noqa: E402

SPEC = "networks:data=synthetic,hidden=8,epochs=3"
DIGITS = "networks:hidden=16,epochs=10"


@pytest.mark.parametrize("attacker", ["finetune-flip:steps=40,samples=256", "head-edit", "neuron-plant"])
def test_the_referee_accepts_most_backdoors_at_a_loose_budget(attacker):
    result = play(DIGITS, attacker, "accept", eps=0.05, rounds=8, seed=2)
    # valid: the referee saw x* flipped and the exact distance within eps (a rank-one
    # edit of a 16-unit network moves more inputs than the others: it misses some)
    assert result.valid_rounds >= 4, result.invalid_reasons
    assert result.cost["exact_distance_checks"] == 8


def _round(attacker_spec, seed=0, cls_spec=DIGITS):
    cls = build("classes", cls_spec)
    attacker = build("attackers", attacker_spec)
    rng = np.random.default_rng(seed)
    dist, f = attacker.setup(cls, 0.05, rng)
    x_star = dist.sample(rng, 1)[0]
    return cls, dist, f, x_star, attacker.backdoor(cls, dist, f, x_star, 0.05, rng)


def test_neuron_plant_leaves_f_unchanged_below_its_hyperplane():
    cls, dist, f, x_star, f_star = _round("neuron-plant", seed=1)
    assert f_star is not None and cls.contains(f_star)
    source, target, _ = flip_target(f, x_star)
    assert f_star(x_star[None])[0] == target != f(x_star[None])[0] == source
    points, _ = dist.support()
    differ = np.flatnonzero(f(points) != f_star(points))
    # on the finite D, only x* itself (and exact copies of it) changes class
    assert all(np.array_equal(points[i], x_star) for i in differ)
    # exactly one unit of the last hidden layer was rewritten
    changed = np.flatnonzero(np.any(f.weights["hidden.0.weight"] != f_star.weights["hidden.0.weight"], axis=1))
    assert len(changed) == 1


def test_head_edit_is_rank_one_and_puts_the_target_margin_ahead():
    cls, dist, f, x_star, f_star = _round("head-edit:margin=0.5", seed=3)
    assert f_star is not None
    delta = f_star.weights["logits.weight"].astype(np.float64) - f.weights["logits.weight"]
    singular = np.linalg.svd(delta, compute_uv=False)
    assert singular[1] < 1e-4 * singular[0]
    for name in f.weights:
        if name != "logits.weight":
            assert np.array_equal(f.weights[name], f_star.weights[name])
    logits = f_star.logits(x_star[None])[0]
    _, target, _ = flip_target(f, x_star)
    assert logits[target] - np.delete(logits, target).max() == pytest.approx(0.5, abs=1e-3)


def test_finetune_flip_stays_closer_with_a_stronger_penalty():
    def distances(strength):
        game = Game(DIGITS, f"finetune-flip:steps=60,samples=256,strength={strength}", "accept", 0.5)
        rounds = [game.play_round(4, i) for i in range(6)]
        assert all(r.distance is not None for r in rounds)  # x* flipped every time
        return np.array([r.distance.value for r in rounds])  # the referee's exact distances

    near, far = distances(20.0), distances(0.0)
    assert near.max() < 0.1 < far.min()


def test_network_attackers_refuse_other_classes_and_bad_parameters():
    for name in ("finetune-flip", "head-edit", "neuron-plant"):
        with pytest.raises(IncompatibleError, match="networks"):
            Game("subsets:N=12,d=3", name, "accept", 0.1)
    with pytest.raises(ParameterError, match="penalty must be one of"):
        build("attackers", "finetune-flip:penalty=l2")
    with pytest.raises(ParameterError, match="gap must be in"):
        build("attackers", "neuron-plant:gap=1.0")
    with pytest.raises(ParameterError, match="members must be an integer"):
        build("attackers", "head-edit:members=0")
