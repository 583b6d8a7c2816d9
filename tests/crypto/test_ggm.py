"""The GGM puncturable PRF (THEORY.md §5.1): the PRG against the standard primitives,
the batched tree walk against a point-by-point walk, and puncturing."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from scipy.stats import binomtest

from defendability.crypto import GGM, PRGS, PuncturedKey, PuncturedPointError
from defendability.crypto.ggm import descend, expand
from defendability.errors import ParameterError

KEY = bytes(range(16))


def _aes(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _g(prg: str, seed: bytes) -> tuple[bytes, bytes]:
    """The PRG written out from the primitives, one seed at a time (the reference)."""
    if prg == "aes":
        return _aes(seed, bytes(16)), _aes(seed, bytes(15) + b"\x01")
    if prg == "aes-mmo":
        keys = [hashlib.sha256(f"defendability ggm aes-mmo {b}".encode()).digest()[:16] for b in (0, 1)]
        return tuple(bytes(u ^ v for u, v in zip(_aes(k, seed), seed)) for k in keys)  # type: ignore[return-value]
    digest = hashlib.sha256(seed).digest() if prg == "sha256" else hashlib.blake2b(seed, digest_size=32).digest()
    return digest[:16], digest[16:]


def _walk(prg: str, key: bytes, x: np.ndarray) -> int:
    s = key
    for bit in x.tolist():
        s = _g(prg, s)[bit]
    return s[0] & 1


def _cube(n: int) -> np.ndarray:
    return ((np.arange(1 << n)[:, None] >> np.arange(n)) & 1).astype(np.uint8)


def test_aes_prg_is_the_standard_cipher():
    # FIPS-197 / NIST known answer: AES-128 with the all-zero key on the zero block
    zero = expand("aes", np.zeros((1, 16), np.uint8))
    assert zero[0, 0].tobytes().hex() == "66e94bd4ef8a2c3b884cfa59ca342b2e"


@pytest.mark.parametrize("prg", PRGS)
def test_expand_matches_the_primitives(prg):
    rng = np.random.default_rng(0)
    seeds = rng.integers(0, 256, size=(5, 16), dtype=np.uint8)
    out = expand(prg, seeds)
    assert out.shape == (5, 2, 16) and out.dtype == np.uint8
    for s, (g0, g1) in zip(seeds, out):
        assert (g0.tobytes(), g1.tobytes()) == _g(prg, s.tobytes())
    assert expand(prg, seeds[:0]).shape == (0, 2, 16)


@pytest.mark.parametrize("prg", PRGS)
def test_evaluate_is_the_tree_walk(prg):
    rng = np.random.default_rng(1)
    f = GGM(KEY, 32, prg)
    x = rng.integers(0, 2, size=(12, 32), dtype=np.uint8)
    x[5] = x[2]  # a repeated row
    x[7, :20] = x[3, :20]  # a long shared prefix
    y = f.evaluate(x)
    assert y.dtype == np.uint8 and y.shape == (12,)
    assert y.tolist() == [_walk(prg, KEY, row) for row in x]


def test_batched_walk_equals_row_by_row_on_the_whole_cube():
    # the deduplicated walk (shared prefixes expanded once) against independent rows
    f = GGM(KEY, 10, "sha256")
    cube = _cube(10)
    together = f.leaf_seeds(np.concatenate([cube, cube[::-1]]))
    alone = np.stack([f.leaf_seeds(row[None])[0] for row in cube[::37]])
    np.testing.assert_array_equal(together[:1024][::37], alone)
    np.testing.assert_array_equal(together[1024:], together[:1024][::-1])
    assert descend("sha256", KEY, cube[:, :0]).shape == (1024, 16)  # depth 0: the root for every row
    assert f.evaluate(cube[:0]).shape == (0,)


def test_outputs_look_random():
    # balanced bits, and two keys disagree on about half the points (99.9% Wilson)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, size=(20_000, 32), dtype=np.uint8)
    a, b = GGM(KEY, 32, "aes-mmo").evaluate(x), GGM(bytes(16), 32, "aes-mmo").evaluate(x)
    for k in (int(a.sum()), int(np.count_nonzero(a != b))):
        ci = binomtest(k, len(x)).proportion_ci(confidence_level=0.999, method="wilson")
        assert ci.low < 0.5 < ci.high


@pytest.mark.parametrize("prg", PRGS)
def test_punctured_key_agrees_off_the_point_exhaustively(prg):
    n = 10
    f = GGM(KEY, n, prg)
    cube = _cube(n)
    full = f.evaluate(cube)
    for star in (0, 1023, 517):
        key = f.puncture(cube[star])
        others = np.delete(np.arange(1 << n), star)
        np.testing.assert_array_equal(key.evaluate(cube[others]), full[others])
        np.testing.assert_array_equal(key.point(), cube[star])
        with pytest.raises(PuncturedPointError, match="punctured point"):
            key.evaluate(cube[star][None])
        with pytest.raises(PuncturedPointError, match="row 2"):
            key.evaluate(cube[[others[0], others[1], star]])


def test_punctured_key_at_n_32_near_and_far():
    rng = np.random.default_rng(3)
    f = GGM(KEY, 32, "aes")
    x_star = rng.integers(0, 2, size=32, dtype=np.uint8)
    key = f.puncture(x_star)
    neighbours = np.repeat(x_star[None], 32, axis=0)
    neighbours[np.arange(32), np.arange(32)] ^= 1  # every Hamming neighbour: each sibling used
    far = rng.integers(0, 2, size=(500, 32), dtype=np.uint8)
    x = np.concatenate([neighbours, far])
    np.testing.assert_array_equal(key.evaluate(x), f.evaluate(x))


def test_puncture_keeps_the_sibling_seeds_with_their_prefixes():
    n = 12
    f = GGM(KEY, n, "blake2b")
    x_star = np.array([1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 0], dtype=np.uint8)
    key = f.puncture(x_star)
    assert len(key.prefixes) == n and key.seeds.shape == (n, 16)
    for i, (prefix, seed) in enumerate(zip(key.prefixes, key.seeds)):
        np.testing.assert_array_equal(prefix, np.append(x_star[:i], 1 - x_star[i]))
        assert seed.tobytes() == f.node_seed(prefix)
    # x* is in the clear: every prefix ends with the complement of x*'s bit
    np.testing.assert_array_equal(key.point(), x_star)
    np.testing.assert_array_equal([1 - p[-1] for p in key.prefixes], x_star)
    assert key == f.puncture(x_star) and key != f.puncture(1 - x_star)
    assert key != GGM(bytes(16), n, "blake2b").puncture(x_star)


def test_punctured_key_rejects_prefixes_of_no_single_point():
    f = GGM(KEY, 8, "sha256")
    key = f.puncture(np.zeros(8, np.uint8))
    prefixes = [p.copy() for p in key.prefixes]
    prefixes[5][2] = 1  # branches off another path
    with pytest.raises(ParameterError, match="one path"):
        PuncturedKey(prefixes, key.seeds, "sha256")
    with pytest.raises(ParameterError, match="i \\+ 1 bits"):
        PuncturedKey(list(key.prefixes[:3]) + [key.prefixes[5]] + list(key.prefixes[4:]), key.seeds, "sha256")
    with pytest.raises(ParameterError, match="seeds"):
        PuncturedKey(key.prefixes, key.seeds[:4], "sha256")
    rebuilt = PuncturedKey(key.prefixes, key.seeds, "sha256")
    assert rebuilt == key


def test_repr_hides_the_key_and_the_point():
    f = GGM(KEY, 16, "aes")
    key = f.puncture(np.ones(16, np.uint8))
    for text in (repr(f), repr(key), str(f), str(key)):
        assert KEY.hex() not in text and str(KEY) not in text and "1, 1, 1" not in text
        assert key.seeds[0].tobytes().hex() not in text
    assert repr(f) == "GGM(n=16, prg='aes')"


@pytest.mark.parametrize("args, fragment", [
    ((b"short", 8), "16 bytes"), (("x" * 16, 8), "16 bytes"), ((KEY, 0), "n must"), ((KEY, 8, "des"), "prg must"),
])
def test_parameters_are_validated(args, fragment):
    with pytest.raises(ParameterError, match=fragment):
        GGM(*args)


def test_points_are_validated():
    f = GGM(KEY, 8)
    with pytest.raises(ParameterError, match=r"\(size, 8\)"):
        f.evaluate(np.zeros((3, 7), np.uint8))
    with pytest.raises(ParameterError, match="0/1"):
        f.evaluate(np.full((2, 8), 2, np.uint8))
