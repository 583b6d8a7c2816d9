"""The command line: the JSON contract, the table, `list`, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CONTRACT = {"alpha", "beta", "win_rate", "alpha_ci", "beta_ci", "win_ci", "rounds", "invalid_rounds", "eps",
            "vc_dimension", "seed", "seconds", "auroc"}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "defendability.cli", *args], capture_output=True, text=True)


def test_play_json_has_the_contract_fields():
    out = cli("play", "--class", "subsets:N=64,d=16", "--attacker", "mixture", "--defender",
              "vote:learner=closure", "--eps", "0.004", "--rounds", "200", "--seed", "1", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert CONTRACT <= set(data)
    assert data["rounds"] == 200 and data["seed"] == 1 and data["eps"] == 0.004 and data["vc_dimension"] == 16
    for key in ("alpha_ci", "beta_ci", "win_ci"):
        lo, hi = data[key]
        assert 0.0 <= lo <= hi <= 1.0
    assert data["win_rate"] == pytest.approx(1 - (data["alpha"] + data["beta"]) / 2)
    assert data["auroc"] is not None


def test_play_json_is_reproducible():
    args = ("play", "--class", "parities:n=6", "--attacker", "shatter", "--defender", "vote:learner=span",
            "--eps", "1/6", "--rounds", "100", "--seed", "3", "--json")
    a, b = json.loads(cli(*args).stdout), json.loads(cli(*args).stdout)
    a.pop("seconds"), b.pop("seconds"), a.pop("cost"), b.pop("cost")
    assert a == b


def test_play_table():
    out = cli("play", "--class", "subsets:N=20,d=5", "--attacker", "mixture", "--defender", "accept",
              "--eps", "0.05", "--rounds", "100")
    assert out.returncode == 0
    assert "win rate" in out.stdout and "alpha + beta >=" in out.stdout


def test_list_shows_every_kind():
    out = cli("list")
    assert out.returncode == 0
    for name in ("subsets", "parities", "shatter", "mixture", "worst-case", "vote", "boltzmann", "one-inclusion"):
        assert name in out.stdout


@pytest.mark.parametrize("args,fragment", [
    (("--class", "subset"), "unknown class 'subset'; valid:"),
    (("--class", "subsets:N=4,d=10"), "d"),
    (("--class", "subsets:M=3"), "unknown parameter 'M'"),
    (("--attacker", "mixtur"), "unknown attacker 'mixtur'; valid:"),
    (("--defender", "vote:learner=nope"), "unknown learner 'nope'"),
    (("--defender", "vote:voters=0"), "voters"),
    (("--eps", "1.5"), "eps must be in (0, 1)"),
    (("--eps", "abc"), "--eps 'abc' is not a number"),
    (("--defender", "vote:learner"), "not key=value"),
    (("--class", "keyed-hash", "--attacker", "shatter"), "no shattered set"),
    (("--class", "parities:n=6", "--defender", "vote:learner=closure"), "not intersection-closed"),
    (("--rounds", "0"), "rounds must be an integer >= 1"),
    (("--invalid-policy", "resample"), "invalid_policy must be one of"),
])
def test_bad_input_is_one_line_with_status_2(args, fragment):
    base = {"--class": "subsets:N=20,d=5", "--attacker": "mixture", "--defender": "accept", "--eps": "0.05"}
    base.update(dict(zip(args[::2], args[1::2])))
    base.setdefault("--rounds", "10")
    argv = ["play"] + [x for kv in base.items() for x in kv]
    out = cli(*argv)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert fragment in lines[0]
    assert "Traceback" not in out.stderr


def test_unknown_list_kind():
    out = cli("list", "widgets")
    assert out.returncode == 2 and "valid: classes, attackers, defenders, learners" in out.stderr


@pytest.mark.parametrize("argv,fragment", [
    (("play", "--rounds", "abc"), "Invalid value for '--rounds'"),
    (("play", "--class", "subsets"), "Missing option"),
    (("frobnicate",), "No such command"),
])
def test_usage_errors_are_one_line_too(argv, fragment):
    out = cli(*argv)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]


def test_help_still_works():
    out = cli("play", "--help")
    assert out.returncode == 0 and "--attacker" in out.stdout
