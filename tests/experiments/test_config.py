"""Sweep configurations: expansion to cells, the config hash, and one clean ConfigError
(naming the file and the key) for every malformed config."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defendability import registry
from defendability.errors import UserError
from defendability.experiments.cell import Cell
from defendability.experiments.config import ConfigError, RangeModel, SweepConfig, load_config, parse_config

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BASE = """
name = "t"
seed = 3
rounds = 50
class = "subsets:N=16,d={d}"
attacker = "{attacker}"
defender = "vote:learner=closure"

[grid]
d = [2, 4]
attacker = ["mixture", "shatter"]
eps_times_d = {start = 0.1, stop = 1.6, num = 3, scale = "log"}
"""


def err(text: str, source: str = "x.toml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source)
    message = str(info.value)
    assert message.startswith(f"{source}: ") and "\n" not in message
    return message


# -- expansion ---------------------------------------------------------------------------
def test_grid_expands_in_key_order_with_eps_from_eps_times_d():
    config = parse_config(BASE, "x.toml")
    assert (config.name, config.seed, config.rounds) == ("t", 3, 50)
    assert (config.invalid_policy, config.chunk_rounds, config.description) == ("defender_wins", 500, "")
    cells = config.cells()
    assert len(cells) == 2 * 2 * 3 and all(isinstance(c, Cell) for c in cells)
    # first key slowest, last key fastest
    assert [(c.params["d"], c.attacker, c.params["eps_times_d"]) for c in cells[:4]] == [
        (2, "mixture", 0.1), (2, "mixture", 0.4), (2, "mixture", 1.6), (2, "shatter", 0.1)]
    assert [c.cls for c in cells] == ["subsets:N=16,d=2"] * 6 + ["subsets:N=16,d=4"] * 6
    for c in cells:
        assert c.eps == pytest.approx(c.params["eps_times_d"] / c.params["d"])
        assert (c.seed, c.rounds, c.defender, c.invalid_policy) == (3, 50, "vote:learner=closure", "defender_wins")
        assert set(c.params) == {"d", "attacker", "eps_times_d"}
    assert cells[-1].eps == 0.4  # 1.6 / 4, the range's end exactly
    assert len({c.cell_id for c in cells}) == len(cells)
    assert config.cells() == cells and config.cells() is not config.cells()


def test_cells_share_the_seed_so_comparisons_are_paired():
    config = parse_config(BASE.replace('defender = "vote:learner=closure"', 'defender = "{defender}"')
                          + 'defender = ["vote:learner=closure", "distill:learner=closure"]\n')
    assert {c.seed for c in config.cells()} == {3}
    assert len(config.cells()) == 24


def test_d_is_the_vc_dimension_and_a_grid_d_that_differs_is_kept_apart():
    config = parse_config('name = "h"\nclass = "halfspaces:d={d}"\nattacker = "mixture"\ndefender = "accept"\n'
                          'eps = 0.01\n[grid]\nd = [2, 3]\n')
    cells = config.cells()
    assert [c.params for c in cells] == [{"grid.d": 2, "d": 3, "eps_times_d": 0.03},
                                         {"grid.d": 3, "d": 4, "eps_times_d": 0.04}]
    assert all(c.eps == 0.01 for c in cells)


def test_grid_eps_and_template_keys_in_the_grid():
    config = parse_config('name = "g"\nattacker = "mixture"\ndefender = "accept"\n[grid]\n'
                          'class = ["subsets:N=8,d=2", "parities:n={n}"]\nn = [3]\neps = [0.01, 0.02]\n')
    cells = config.cells()
    assert [(c.cls, c.eps) for c in cells] == [("subsets:N=8,d=2", 0.01), ("subsets:N=8,d=2", 0.02),
                                               ("parities:n=3", 0.01), ("parities:n=3", 0.02)]
    assert cells[2].params == {"class": "parities:n={n}", "n": 3, "eps": 0.01, "d": 3, "eps_times_d": 0.03}


def test_a_grid_key_overrides_the_top_level_template():
    config = parse_config(BASE.replace("[grid]", '[grid]\ndefender = ["accept"]'))
    assert {c.defender for c in config.cells()} == {"accept"}


def test_no_grid_is_one_cell_and_defaults_apply():
    config = parse_config('name = "one"\nclass = "subsets:N=8,d=2"\nattacker = "mixture"\n'
                          'defender = "accept"\neps = 0.1\ninvalid_policy = "void"\nchunk_rounds = 7\n')
    [cell] = config.cells()
    assert (cell.eps, cell.rounds, cell.seed, cell.invalid_policy) == (0.1, 1000, 0, "void")
    assert cell.params == {"d": 2, "eps_times_d": 0.2}
    assert config.chunk_rounds == 7


def test_values_render_into_specs():
    config = parse_config('name = "r"\nclass = "subsets:N={N},d=2"\nattacker = "mixture"\n'
                          'defender = "vote:learner=closure,threshold={t}"\neps = 0.05\n'
                          '[grid]\nN = [8.0]\nt = [0.25, 0]\n')
    assert [(c.cls, c.defender) for c in config.cells()] == [
        ("subsets:N=8.0,d=2", "vote:learner=closure,threshold=0.25"),
        ("subsets:N=8.0,d=2", "vote:learner=closure,threshold=0")]


@pytest.mark.parametrize("rng, expected", [
    ("{start = 1, stop = 9, num = 5}", [1, 3, 5, 7, 9]),  # integral step: ints
    ("{start = 1, stop = 10, num = 4}", [1, 4, 7, 10]),
    ("{start = 1, stop = 4, num = 3}", [1.0, 2.5, 4.0]),  # fractional step: floats
    ("{start = 1.0, stop = 3.0, num = 3}", [1.0, 2.0, 3.0]),  # float ends: floats
    ("{start = 0.1, stop = 0.3, num = 3}", [0.1, 0.2, 0.3]),  # rounded to 12 digits
    ("{start = 1, stop = 100, num = 3, scale = \"log\"}", [1.0, 10.0, 100.0]),
    ("{start = 5, stop = 6, num = 1}", [5]),
])
def test_ranges(rng, expected):
    values = RangeModel.model_validate(tomllib.loads(f"r = {rng}")["r"]).values()
    assert values == expected and [type(v) for v in values] == [type(v) for v in expected]


def test_int_ranges_fill_int_parameters():
    config = parse_config('name = "r"\nclass = "table:N=8,size={s}"\nattacker = "mixture"\n'
                          'defender = "accept"\neps = 0.01\n[grid]\ns = {start = 4, stop = 16, num = 3}\n')
    assert [c.cls for c in config.cells()] == ["table:N=8,size=4", "table:N=8,size=10", "table:N=8,size=16"]


def test_sweeps_inherit_settings_and_concatenate():
    text = ('name = "s"\nseed = 9\nrounds = 20\n'
            '[[sweep]]\nclass = "subsets:N=8,d={d}"\nattacker = "mixture"\ndefender = "vote:learner=closure"\n'
            '[sweep.grid]\nd = [2, 3]\neps = [0.05]\n'
            '[[sweep]]\nclass = "parities:n=4"\nattacker = "mixture"\ndefender = "vote:learner=span"\neps = 0.1\n')
    config = parse_config(text)
    cells = config.cells()
    assert [(c.cls, c.defender, c.eps, c.seed, c.rounds) for c in cells] == [
        ("subsets:N=8,d=2", "vote:learner=closure", 0.05, 9, 20),
        ("subsets:N=8,d=3", "vote:learner=closure", 0.05, 9, 20),
        ("parities:n=4", "vote:learner=span", 0.1, 9, 20)]


@pytest.mark.parametrize("name", ["theorem-4-1", "efficient-parities", "no-valid-backdoor"])
def test_examples_load(name):
    config = load_config(EXAMPLES / f"{name}.toml")
    assert config.name == name and config.cells()
    assert config.source_text == (EXAMPLES / f"{name}.toml").read_text()
    assert all(0 < c.eps < 1 for c in config.cells())


def test_theorem_example_covers_the_claim():
    cells = load_config(EXAMPLES / "theorem-4-1.toml").cells()
    assert len(cells) == 144
    assert {c.attacker for c in cells} == {"shatter", "mixture"}
    assert {c.defender.split(":")[0] for c in cells} == {"vote", "distill", "boltzmann"}
    assert {c.params["d"] for c in cells if c.cls.startswith("subsets:N=64")} == {10, 20}
    assert {c.cls for c in cells if c.defender == "boltzmann"} == {"subsets:N=10,d=10"}
    assert {c.params["eps_times_d"] for c in cells} == {2.0 ** k for k in range(-6, 2)}


def test_efficient_parities_eps_within_the_pac_condition():
    cells = load_config(EXAMPLES / "efficient-parities.toml").cells()
    assert sorted({c.params["d"] for c in cells}) == [8, 12, 16, 20]
    for c in cells:
        m = math.ceil(c.params["d"] / 0.1) - 1
        assert c.eps <= 1 / (4 * m)


# -- the hash ----------------------------------------------------------------------------
def test_hash_ignores_layout_comments_and_key_order():
    a = parse_config(BASE)
    reordered = ('# a comment\n[grid]\nd   = [ 2,4 ]   # again\n'
                 'eps_times_d = {scale = "log", num = 3, stop = 1.6, start = 0.1}\n'
                 'attacker = ["mixture", "shatter"]\n')
    top = ('rounds=50\nattacker="{attacker}"\nseed=3\nname="t"\ndefender="vote:learner=closure"\n'
           'class="subsets:N=16,d={d}"\ninvalid_policy = "defender_wins"\n')
    b = parse_config(top + reordered)
    assert a.config_hash == b.config_hash and len(a.config_hash) == 64
    int(a.config_hash, 16)
    # same cells (as a set; the order follows the grid's key order)
    assert {c.cell_id for c in a.cells()} == {c.cell_id for c in b.cells()}


@pytest.mark.parametrize("old, new", [
    ("seed = 3", "seed = 4"), ("rounds = 50", "rounds = 51"), ('name = "t"', 'name = "u"'),
    ("d = [2, 4]", "d = [2, 3]"), ("num = 3", "num = 4"), ('"mixture", "shatter"', '"shatter", "mixture"'),
    ('scale = "log"', 'scale = "linear"'), ("N=16", "N=17"),
    ('seed = 3', 'seed = 3\nchunk_rounds = 9'), ('seed = 3', 'seed = 3\ndescription = "x"'),
    ('seed = 3', 'seed = 3\ninvalid_policy = "void"'),
])
def test_hash_changes_with_any_value(old, new):
    assert old in BASE
    assert parse_config(BASE.replace(old, new, 1)).config_hash != parse_config(BASE).config_hash


def test_canonical_form_is_json_with_defaults():
    config = parse_config(BASE)
    data = config.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["grid"]["eps_times_d"] == {"start": 0.1, "stop": 1.6, "num": 3, "scale": "log"}
    assert data["chunk_rounds"] == 500 and data["invalid_policy"] == "defender_wins"


# -- errors ------------------------------------------------------------------------------
VALID_TOP = ("name, seed, rounds, invalid_policy, trace, mode, budget, distance_samples, isolate, chunk_rounds, "
             "description, class, attacker, defender, eps, grid, sweep, predicate_iterations, predicate_bits, "
             "train_size, poison, attacker_evaluations, attacker_samples, attacker_seconds")


@pytest.mark.parametrize("text, expected", [
    # unknown keys at every level
    (BASE.replace("seed = 3", "sede = 3"), f"x.toml: unknown key 'sede' (valid: {VALID_TOP})"),
    (BASE.replace("num = 3", "num = 3, stpo = 2"), "x.toml: grid.eps_times_d: unknown key 'stpo' "
                                                   "(valid: start, stop, num, scale)"),
    ('name = "s"\n[[sweep]]\nclas = "x"\n', "x.toml: sweep[1]: unknown key 'clas' (valid: class, attacker"),
    # wrong types
    (BASE.replace("seed = 3", 'seed = "3"'), "x.toml: seed: expected an integer, got '3'"),
    (BASE.replace("seed = 3", "seed = true"), "x.toml: seed: expected an integer, got True"),
    (BASE.replace("rounds = 50", "rounds = 5.0"), "x.toml: rounds: expected an integer"),
    (BASE.replace('name = "t"', "name = 1"), "x.toml: name: expected a string"),
    (BASE.replace('attacker = "{attacker}"', "attacker = 3"), "x.toml: attacker: expected a string"),
    (BASE.replace("[grid]", 'eps = "small"\n[grid]'), "x.toml: eps: expected a number, got 'small'"),
    ('name = "t"\ngrid = [1]\n', "x.toml: grid: expected a table"),
    ('name = "t"\nsweep = 1\n', "x.toml: sweep: expected an array of tables"),
    (BASE.replace("d = [2, 4]", "d = 2"), "x.toml: grid.d: expected a non-empty list or a range"),
    (BASE.replace("d = [2, 4]", "d = [[2], 4]"), "x.toml: grid.d: values must be ints, floats, bools or strings"),
    (BASE.replace("d = [2, 4]", "d = [nan]"), "x.toml: grid.d: values must be finite"),
    (BASE.replace("start = 0.1", 'start = "0.1"'), "x.toml: grid.eps_times_d.start: expected a number"),
    (BASE.replace("num = 3", "num = 2.5"), "x.toml: grid.eps_times_d.num: expected an integer"),
    (BASE.replace('scale = "log"', 'scale = "exp"'), "x.toml: grid.eps_times_d.scale: must be one of 'linear' or "
                                                     "'log', got 'exp'"),
    (BASE.replace('"mixture", "shatter"', '"mixture", 2'), "x.toml: grid.attacker: values must be SPEC strings"),
    (BASE.replace("start = 0.1, stop = 1.6, num = 3,", "") .replace("{ ", "{"), "x.toml: grid.eps_times_d."),
    # impossible values
    (BASE.replace("seed = 3", "seed = -1"), "x.toml: seed: must be >= 0, got -1"),
    (BASE.replace("rounds = 50", "rounds = 0"), "x.toml: rounds: must be >= 1, got 0"),
    (BASE.replace("seed = 3", "seed = 3\nchunk_rounds = 0"), "x.toml: chunk_rounds: must be >= 1"),
    (BASE.replace("seed = 3", 'seed = 3\ninvalid_policy = "coin"'), "x.toml: invalid_policy: must be one of "
                                                                    "'defender_wins' or 'void', got 'coin'"),
    # empty lists and bad ranges
    (BASE.replace("d = [2, 4]", "d = []"), "x.toml: grid.d: empty list"),
    (BASE.replace("stop = 1.6", "stop = 0.05"), "x.toml: grid.eps_times_d: stop must be > start"),
    (BASE.replace("num = 3", "num = 0"), "x.toml: grid.eps_times_d.num: must be >= 1, got 0"),
    (BASE.replace("start = 0.1", "start = -0.1"), "x.toml: grid.eps_times_d: a log range needs start > 0"),
    ('name = "s"\nsweep = []\n', "x.toml: sweep: empty list"),
    # placeholders
    (BASE.replace("d = [2, 4]", "d = [2, 4]\nn = [1]"), "x.toml: grid.n: not used: no template has the "
                                                        "placeholder {n}"),
    (BASE.replace('"vote:learner=closure"', '"vote:learner={learner}"'),
     "x.toml: defender: placeholder {learner} in 'vote:learner={learner}' is not a grid key "
     "(grid keys that fill placeholders: d, eps_times_d)"),
    (BASE.replace('"vote:learner=closure"', '"vote:learner=closure}"'), "x.toml: defender: unmatched brace"),
    (BASE.replace("[grid]", '[grid]\n"a b" = [1]'), "x.toml: grid: key 'a b' is not a name"),
    # eps sources and range
    (BASE.replace("[grid]", "eps = 0.1\n[grid]"), "x.toml: grid.eps_times_d: two sources of eps "
                                                  "(eps and grid.eps_times_d): give exactly one"),
    (BASE.replace("eps_times_d =", "eps = [0.1]\neps_times_d ="), "x.toml: grid.eps_times_d: two sources of eps "
                                                                  "(grid.eps and grid.eps_times_d)"),
    (BASE.replace("eps_times_d = {start = 0.1, stop = 1.6, num = 3, scale = \"log\"}", ""),
     "x.toml: eps: missing (required): give eps, or eps or eps_times_d in the grid"),
    (BASE.replace("stop = 1.6", "stop = 4.0"),
     "x.toml: cell (d=2, attacker=mixture, eps_times_d=4.0): eps must be in (0, 1), got 2 "
     "(eps_times_d 4.0 / VC dimension 2)"),
    (BASE.replace("eps_times_d = {start = 0.1, stop = 1.6, num = 3, scale = \"log\"}", "eps = [0.5, 0]"),
     "x.toml: cell (d=2, attacker=mixture, eps=0): eps must be in (0, 1), got 0"),
    (BASE.replace("eps_times_d", "eps = [true]\nx"), "x.toml: grid.eps: values must be numbers, got True"),
    # missing templates, bad SPECs, bad names
    (BASE.replace('class = "subsets:N=16,d={d}"', ""), "x.toml: class: missing (required)"),
    ("seed = 1", "x.toml: name: missing (required)"),
    (BASE.replace("N=16", "N=3"), "x.toml: cell (d=4, attacker=mixture, eps_times_d=0.1): class "
                                  "'subsets:N=3,d=4': subsets:"),
    (BASE.replace('"mixture", "shatter"', '"mixture", "shatterr"'),
     "x.toml: cell (d=2, attacker=shatterr, eps_times_d=0.1): attacker 'shatterr': unknown attacker 'shatterr'; "
     f"valid: {', '.join(registry.names('attackers'))}"),
    (BASE.replace("learner=closure", "learner=closure,votrs=3"), "x.toml: cell (d=2, attacker=mixture, "
                                                                 "eps_times_d=0.1): defender"),
    (BASE.replace('name = "t"', 'name = "../up"'), "x.toml: name: '../up' must be 1 to 100 letters, digits"),
    (BASE.replace('name = "t"', 'name = "a b"'), "x.toml: name: 'a b' must be"),
    (BASE.replace('name = "t"', 'name = ""'), "x.toml: name: '' must be"),
    # sweeps
    ('name = "t"\nclass = "subsets:N=8,d=2"\n[[sweep]]\neps = 0.1\n',
     "x.toml: class: with [[sweep]] give class, attacker, defender, eps and grid in each [[sweep]]"),
    ('name = "s"\n[[sweep]]\nclass = "subsets:N=8,d=2"\nattacker = "mixture"\ndefender = "accept"\neps = 0.1\n'
     '[[sweep]]\nclass = "subsets:N=8,d=2"\nattacker = "mixture"\ndefender = "accept"\neps = 2\n',
     "x.toml: sweep[2] cell (): eps must be in (0, 1), got 2"),
    ('name = "s"\n[[sweep]]\nclass = "subsets:N=8,d=2"\nattacker = "mixture"\ndefender = "accept"\neps = 0.1\n'
     '[[sweep]]\nclass = "subsets:N=8,d=2"\nattacker = "mixture"\ndefender = "accept"\neps = 0.1\n',
     "x.toml: sweep[2] cell (): the same match as sweep[1] cell ()"),
    (BASE.replace("d = [2, 4]", "d = [2, 2]"), "x.toml: cell (d=2, attacker=mixture, eps_times_d=0.1): "
                                               "the same match as cell (d=2, attacker=mixture, eps_times_d=0.1)"),
    # not TOML at all
    ("name = ", "x.toml: invalid TOML: "),
    (b"name = '\xff'", "x.toml: not UTF-8 text"),
    ("name = '\ud800'", "x.toml: not UTF-8 text"),
])
def test_malformed_configs_name_file_and_key(text, expected):
    assert err(text).startswith(expected), err(text)


def test_errors_are_user_errors_before_any_work():
    assert issubclass(ConfigError, UserError)


def test_load_config_names_the_file(tmp_path):
    path = tmp_path / "theorem.toml"
    path.write_text(BASE.replace("stop = 1.6", "stop = 0.01"))
    with pytest.raises(ConfigError, match=r"^theorem\.toml: grid\.eps_times_d: stop must be > start"):
        load_config(path)
    with pytest.raises(ConfigError, match=r"^missing\.toml: no such file"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    path.write_text(BASE)
    config = load_config(str(path))
    assert isinstance(config, SweepConfig) and config.source == "theorem.toml"
    assert config.config_hash == parse_config(BASE).config_hash


def test_too_many_cells_is_refused_before_expansion():
    text = BASE.replace("d = [2, 4]", "d = [2, 4]\nN = {start = 1, stop = 10000, num = 10000}").replace(
        "N=16", "N={N}").replace("num = 3,", "num = 10,")
    assert err(text).startswith("x.toml: grid: 400,000 cells, more than the 100,000 allowed")


# -- fuzzing -----------------------------------------------------------------------------
KEYS = ["name", "seed", "rounds", "invalid_policy", "chunk_rounds", "description", "class", "attacker",
        "defender", "eps", "grid", "sweep", "d", "n", "eps_times_d", "start", "stop", "num", "scale", "sede"]
SPECS = ["subsets:N=8,d={d}", "subsets:N={n},d=2", "parities:n={n}", "mixture", "shatter", "accept",
         "vote:learner=closure", "{attacker}", "{d}", "boltzmann", "distill:learner=span", "t", "defender_wins",
         "void", "log", "linear", "../x", "{", ""]
scalars = st.one_of(st.integers(-3, 40), st.floats(allow_nan=True, allow_infinity=True, width=32),
                    st.booleans(), st.sampled_from(SPECS), st.text(max_size=6))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
                      max_leaves=10)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def to_toml(data: dict) -> str:
    return "\n".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in data.items()) + "\n"


def check_clean(text) -> None:
    try:
        result = parse_config(text, "fuzz.toml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml: ") and "\n" not in str(exc)
    else:
        assert isinstance(result, SweepConfig)
        assert len(result.config_hash) == 64


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=8))
def test_fuzzed_dicts_give_a_config_or_a_config_error(data):
    check_clean(to_toml(data))


small = st.one_of(st.integers(0, 24), st.floats(0.001, 3.0), st.sampled_from(SPECS), st.booleans())
ranges = st.fixed_dictionaries({"start": st.one_of(st.integers(-1, 20), st.floats(-0.5, 2.0)),
                                "stop": st.one_of(st.integers(-1, 30), st.floats(-0.5, 4.0)),
                                "num": st.integers(0, 4)},
                               optional={"scale": st.sampled_from(["linear", "log", "exp"])})
near_grid = st.dictionaries(st.sampled_from(["d", "n", "eps", "eps_times_d", "attacker", "defender", "x"]),
                            st.one_of(st.lists(small, min_size=1, max_size=3), ranges, values), max_size=4)


@FUZZ
@given(st.fixed_dictionaries({"name": st.sampled_from(["f", "f", "f", "a b"]),
                              "class": st.sampled_from(["subsets:N=8,d={d}", "parities:n={n}", "table:N={d}",
                                                        "subsets:N=8,d=2", "intervals:k={n}", "{d}"]),
                              "attacker": st.sampled_from(["mixture", "shatter", "{attacker}", "point-flip"]),
                              "defender": st.sampled_from(["accept", "vote:learner=closure", "boltzmann",
                                                           "vote:learner={x}", "distill:learner=span"])},
                             optional={"eps": st.one_of(st.floats(0.0, 1.0), scalars), "seed": st.integers(-1, 9),
                                       "rounds": st.integers(0, 9)}),
       near_grid)
def test_fuzzed_near_valid_configs_give_a_config_or_a_config_error(top, grid):
    check_clean(to_toml(top) + "[grid]\n" + to_toml(grid))


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_give_a_config_or_a_config_error(raw):
    check_clean(raw)
    check_clean(raw.decode("latin-1"))


@FUZZ
@given(st.text(alphabet=st.sampled_from(list('name=[]{}"\'#.,\n 0123456789grid')), max_size=80))
def test_random_toml_like_text_gives_a_config_or_a_config_error(text):
    check_clean(text)


CLASS_TEMPLATES = ["subsets:N={n},d={d}", "parities:n={d}", "table:N={n},size={d}", "intervals:k={d}",
                   "conjunctions:n={d}", "halfspaces:d={d}", "keyed-hash:n={d},keys={n}", "thresholds"]


@FUZZ
@given(st.sampled_from(CLASS_TEMPLATES),
       st.sampled_from(["mixture", "shatter", "point-flip", "null", "worst-case", "worst-case:trials={n}"]),
       st.sampled_from(["accept", "vote:learner=closure", "vote:learner=span,eta=0.1", "boltzmann",
                        "distill:learner=erm", "pool-vote:learner=one-inclusion,pool={n}", "vote:voters={n}"]),
       st.lists(st.one_of(st.integers(2, 10), st.integers(-2, 12), st.floats(-1.0, 12.0)), min_size=1, max_size=2),
       st.lists(st.one_of(st.integers(10, 12), st.integers(-2, 12), st.floats(-1.0, 12.0)), min_size=1, max_size=2),
       st.lists(st.one_of(st.floats(0.01, 0.9), st.floats(-0.5, 3.0), st.integers(0, 2)), min_size=1, max_size=3))
def test_fuzzed_cells_give_a_config_or_a_config_error(cls, attacker, defender, d, n, eps_times_d):
    used = cls + attacker + defender
    grid = {k: v for k, v in (("d", d), ("n", n)) if "{" + k + "}" in used} | {"eps_times_d": eps_times_d}
    text = to_toml({"name": "cells", "class": cls, "attacker": attacker, "defender": defender, "rounds": 5})
    check_clean(text + "[grid]\n" + to_toml(grid))


ONE = 'name = "one"\nclass = "subsets:N=8,d=2"\nattacker = "mixture"\ndefender = "accept"\neps = 0.1\n'


def test_every_rule_is_reachable_from_a_config():
    """distance_samples and isolate, like the other rules, at the top level and per sweep;
    the cell's Rules carry them to the referee. Isolation changes no outcome, so it
    enters neither the cell ids nor the config hash; distance_samples changes estimates,
    so it enters both."""
    plain = parse_config(ONE)
    tuned = parse_config(ONE + "distance_samples = 500\nisolate = true\n")
    (cell,), (base,) = tuned.cells(), plain.cells()
    assert cell.rules.distance_samples == 500 and cell.rules.isolate is True
    assert base.rules.distance_samples is None and base.rules.isolate is False
    assert cell.cell_id != base.cell_id and tuned.config_hash != plain.config_hash
    isolated = parse_config(ONE + "isolate = true\n")
    assert isolated.cells()[0].cell_id == base.cell_id and isolated.config_hash == plain.config_hash
    swept = parse_config('name = "s"\ndistance_samples = 400\n[[sweep]]\nclass = "subsets:N=8,d=2"\n'
                         'attacker = "mixture"\ndefender = "accept"\neps = 0.1\ndistance_samples = 900\n'
                         'isolate = true\n')
    assert swept.cells()[0].rules.distance_samples == 900 and swept.cells()[0].rules.isolate is True


@pytest.mark.parametrize("line, expected", [
    ("distance_samples = 50\n", "distance_samples"),
    ("isolate = 1\n", "isolate"),
])
def test_bad_rules_in_a_config_are_named(line, expected):
    with pytest.raises(ConfigError, match=expected):
        parse_config(ONE + line, "x.toml")
