"""GKVZ's signature backdoor around a network (perturbation mode): a member only where the
class allows it, valid in every round, caught by smoothing at one quantisation step and by
the key-holder, not by STRIP."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytestmark = pytest.mark.networks

from defendability import Game, play  # noqa: E402
from defendability.classes.networks import SignedNetwork  # noqa: E402
from defendability.crypto.signatures import TAG_BYTES, Layout, Verifier  # noqa: E402
from defendability.errors import IncompatibleError  # noqa: E402
from defendability.registry import build  # noqa: E402

SIGNED = "networks:upsample=3,hidden=16,epochs=5,signed=true"


@pytest.fixture(scope="module")
def planted():
    cls = build("classes", SIGNED)
    attacker = build("attackers", "signature")
    rng = np.random.default_rng(0)
    dist, f = attacker.setup(cls, 0.05, rng)
    f_star = attacker.plant(cls, dist, f, 0.05, rng)
    return cls, attacker, dist, f, f_star


def test_a_signed_network_is_a_member_only_where_the_class_allows_it(planted):
    cls, _, _, f, f_star = planted
    assert type(f_star) is SignedNetwork and cls.contains(f_star)
    assert not build("classes", "networks:upsample=3,hidden=16,epochs=5").contains(f_star)
    verifier, layout = f_star.verifier, f_star.verifier.layout
    for d, classes in ((layout.d + 8, layout.classes), (layout.d, 2)):  # a layout for other inputs or labels
        other = Verifier(Layout(d, classes, TAG_BYTES["ed25519"], layout.grid), "ed25519", verifier.verification_key)
        assert not cls.contains(SignedNetwork(f_star.base, other))
    rebuilt = cls.rebuild(f_star)
    assert rebuilt.verifier is not f_star.verifier and rebuilt.key() == f_star.key()


def test_the_backdoor_changes_nothing_without_a_tag_and_flips_with_one(planted):
    cls, attacker, dist, f, f_star = planted
    points, _ = dist.support()
    np.testing.assert_array_equal(f_star(points), f(points))  # distance 0 on natural inputs
    x = points[:5]
    for row in x:
        x_act = attacker.activate(cls, f_star, row, np.random.default_rng(1))
        assert f_star(x_act[None])[0] != f(x_act[None])[0] and f_star(x_act[None])[0] != f(row[None])[0]
        assert np.abs(x_act.astype(np.float64) - row).max() <= 1 / 255 + 2 ** -23
        # the logits agree with the label: a detector reading probabilities sees the flip
        assert f_star.probabilities(x_act[None]).argmax() == f_star(x_act[None])[0]


def test_smoothing_and_the_key_holder_catch_it_strip_does_not():
    results = {d: play(SIGNED, "signature", d, eps=0.05, rounds=8, seed=2, mode="perturbation", trace=True)
               for d in ("smoothing:noise=quantise,step=1/255,low=0,high=1", "key-holder:check=trapdoor",
                         "strip:copies=20")}
    assert all(r.valid_rounds == 8 for r in results.values())
    smoothing, key_holder, strip = results.values()
    assert smoothing.auroc == 1.0 and smoothing.beta == 0.0
    assert key_holder.alpha == 0.0 and key_holder.beta == 0.0
    assert strip.beta_valid == 1.0  # superimposing clean images destroys the tag: nothing to see


def test_signature_refuses_networks_that_do_not_allow_it():
    with pytest.raises(IncompatibleError, match="signed=true"):
        Game("networks:upsample=3,hidden=16,epochs=5", "signature", "accept", 0.05, mode="perturbation")
    with pytest.raises(IncompatibleError, match="inputs need at least 516 coordinates"):
        Game("networks:hidden=16,epochs=5,signed=true", "signature", "accept", 0.05, mode="perturbation")
