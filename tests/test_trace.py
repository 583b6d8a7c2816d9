"""Trace access: the referee hands a defender that asks for it the attacker's trace (its
code, its random tape, and on the backdoor side the trigger); replaying the tape
recomputes the attacker's f and f*; the option is off by default, required by
`key-holder`, and reachable from the CLI and from configs without changing the ids and
hashes of runs that do not use it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from defendability import Game, registry
from defendability.classes.base import Function, FunctionClass
from defendability.defenders.base import Defender, Detector
from defendability.errors import IncompatibleError, ParameterError
from defendability.experiments.cell import Cell
from defendability.experiments.config import ConfigError, parse_config
from defendability.spaces import Sampler
from defendability.trace import Trace
from defendability.streams import player_stream
from scripted import SharedLog


class Recorder(Defender):
    """Accepts everything and keeps what the referee handed it."""

    name = "recorder"
    uses_trace = True

    def __init__(self):
        self.seen: list[tuple[Function, Trace | None]] = SharedLog()

    def fit(self, cls: FunctionClass, g: Function, sampler: Sampler, eps: float, rng: np.random.Generator,
            trace: Trace | None = None) -> Detector:
        self.seen.append((g.function, trace))
        return registry.build("defenders", "accept").fit(cls, g, sampler, eps, rng)


@pytest.mark.parametrize("attacker", ["shatter", "mixture"])
def test_replaying_the_tape_recomputes_f_and_f_star(attacker):
    rec = Recorder()
    game = Game("parities:n=8", attacker, rec, 1 / 8 if attacker == "shatter" else 0.1, trace=True)
    rounds = [game.play_round(seed=21, index=i) for i in range(12)]
    assert any(r.status == "valid" for r in rounds)
    for g, trace in rec.seen:
        assert isinstance(trace, Trace) and not hasattr(trace, "seed")  # the tape, not the match's seed
        _, f = trace.replay_setup()
        if trace.x_star is None:  # clean side: the model is the attacker's f
            assert g == f
            with pytest.raises(ValueError, match="no trigger"):
                trace.replay_backdoor()
        else:  # backdoor side: the model is what the attacker's backdoor returns for x*
            assert g == trace.replay_backdoor() and g != f
            assert g(trace.x_star[None])[0] != f(trace.x_star[None])[0]


def test_the_tape_is_the_attackers_stream_of_the_round():
    rec = Recorder()
    Game("parities:n=8", "shatter", rec, 1 / 8, trace=True).play_round(seed=21, index=5)
    first = player_stream(21, 5, "attacker").integers(0, 2**63, 8)
    assert len(rec.seen) == 2
    for _, trace in rec.seen:  # both sides: a fresh copy of the round's attacker stream each time
        assert np.array_equal(trace.tape().integers(0, 2**63, 8), first)
        assert np.array_equal(trace.tape().integers(0, 2**63, 8), first)


def test_no_trace_unless_asked_and_only_to_defenders_that_use_it():
    rec = Recorder()
    rec_plain = Recorder()
    rec_plain.uses_trace = False
    with pytest.raises(IncompatibleError, match="trace access"):
        Game("parities:n=8", "shatter", rec, 1 / 8)
    Game("parities:n=8", "shatter", rec_plain, 1 / 8, trace=True).play(rounds=3, seed=1)
    assert rec_plain.seen and all(t is None for _, t in rec_plain.seen)
    with pytest.raises(ParameterError, match="trace must be"):
        Game("parities:n=8", "shatter", "accept", 1 / 8, trace=1)


def test_the_trace_does_not_change_the_numbers():
    a = Game("subsets:N=32,d=8", "mixture", "vote:learner=closure", 0.05).play(rounds=60, seed=4)
    b = Game("subsets:N=32,d=8", "mixture", "vote:learner=closure", 0.05, trace=True).play(rounds=60, seed=4)
    assert (a.alpha, a.beta, a.clean_scores, a.backdoor_scores) == (b.alpha, b.beta, b.clean_scores,
                                                                    b.backdoor_scores)
    assert not a.trace and b.trace


def test_cli_trace_flag():
    base = [sys.executable, "-m", "defendability.cli", "play", "--class", "parities:n=8", "--attacker", "shatter",
            "--defender", "key-holder", "--eps", "1/8", "--rounds", "40", "--json"]
    out = subprocess.run(base + ["--trace"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["trace"] is True and data["alpha"] == 0.0 and data["beta"] == 0.0 and data["valid_rounds"] == 40
    out = subprocess.run(base, capture_output=True, text=True)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--trace" in out.stderr


CONFIG = """
name = "t"
rounds = 20
{top}
[[sweep]]
class = "parities:n=8"
attacker = "shatter"
defender = "vote:learner=span"
eps = 0.125
[[sweep]]
class = "parities:n=8"
attacker = "shatter"
defender = "key-holder"
eps = 0.125
{second}
"""


def test_config_trace_per_sweep_and_top_level():
    per_sweep = parse_config(CONFIG.format(top="", second="trace = true"))
    plain, keyed = per_sweep.cells()
    assert not plain.trace and keyed.trace and keyed.params["trace"] is True and "trace" not in plain.params
    top = parse_config(CONFIG.format(top="trace = true", second=""))
    assert all(c.trace for c in top.cells())
    off = parse_config(CONFIG.format(top="trace = true", second="trace = false").replace(
        'defender = "key-holder"', 'defender = "accept"'))
    assert [c.trace for c in off.cells()] == [True, False]
    with pytest.raises(ConfigError, match="needs the attacker's trace"):
        parse_config(CONFIG.format(top="", second=""), "x.toml")
    with pytest.raises(ConfigError, match=r"x.toml: sweep\[2\].trace"):
        parse_config(CONFIG.format(top="", second='trace = "yes"'), "x.toml")


def test_runs_without_trace_keep_their_ids_and_hashes():
    # the id a cell had before trace access existed (sha256 of its fields, trace absent)
    cell = Cell(cls="subsets:N=16,d=4", attacker="mixture", defender="vote:learner=closure", eps=0.1, rounds=90,
                seed=5)
    assert cell.cell_id == "d35128c636abfd40"
    with_trace = Cell(cell.cls, cell.attacker, cell.defender, cell.eps, cell.rounds, cell.seed, trace=True)
    assert with_trace.cell_id != cell.cell_id
    text = CONFIG.format(top="", second="").replace('defender = "key-holder"', 'defender = "accept"')
    assert "trace" not in json.dumps(parse_config(text).canonical)
