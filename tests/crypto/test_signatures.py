"""The signature backdoor (THEORY.md §6.1): total agreement off the trigger, activation
for every target, the l_inf budget, the message format against the primitives, and
tampering, transplanting and mauling; the documented weaknesses of hmac and checksum."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestCentroid

import defendability.crypto.signatures  # noqa: F401  (the module under test)
from defendability.classes.parities import ParityFunction
from defendability.crypto.quantise import Grid
from defendability.crypto.signatures import (
    SCHEMES,
    Layout,
    SignatureBackdoor,
    Verifier,
    carrier_coordinates,
    scalar_below_order,
)
from defendability.errors import ParameterError

KEYED = ("ed25519", "hmac")
CLASSES = 10
GAUSS_GRID = Grid(low=-8.0, step=1 / 64, levels=1024)
ORDER = (1 << 252) + 27742317777372353535851937790883648493


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits (8x8, 0..16) upsampled 3x to 24x24 pixels 0..240: ``(1797, 576)``
    uint8 on the integer grid, and the labels."""
    data = load_digits()
    images = np.kron(data.images, np.ones((3, 3))) * 15
    return images.reshape(len(images), -1).astype(np.uint8), data.target


DIGITS, DIGIT_LABELS = _digits()
with warnings.catch_warnings():
    # the digits' corner pixels are constant within a class; harmless for the centroids
    warnings.simplefilter("ignore", UserWarning)
    DIGIT_MODEL = NearestCentroid().fit(DIGITS, DIGIT_LABELS)


def _backdoor(scheme: str, seed: int = 0, d: int = 576, grid: Grid | None = None, **options) -> SignatureBackdoor:
    return SignatureBackdoor.generate(d, CLASSES, np.random.default_rng(seed), scheme=scheme,
                                      grid=Grid.integers() if grid is None else grid, **options)


def _natural_digits(rng: np.random.Generator, size: int) -> np.ndarray:
    """Digits and noisy copies of them (pixel noise of +-20, clipped): natural-like inputs."""
    base = DIGITS[rng.integers(0, len(DIGITS), size)].astype(np.int64)
    noisy = base + rng.integers(-20, 21, base.shape) * (rng.random((size, 1)) < 0.8)
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def gaussian_task() -> tuple[np.ndarray, LogisticRegression]:
    """Two Gaussian classes in d = 600 (unit covariance, means +-0.1 per coordinate) and a
    logistic regression fitted on them; 10^4 fresh inputs, real-valued (off the grid)."""
    rng = np.random.default_rng(11)
    y = rng.integers(0, 2, 2000)
    x = rng.normal(size=(2000, 600)) + np.where(y[:, None] == 1, 0.1, -0.1)
    model = LogisticRegression(max_iter=500).fit(x, y)
    yt = rng.integers(0, 2, 10_000)
    return rng.normal(size=(10_000, 600)) + np.where(yt[:, None] == 1, 0.1, -0.1), model


# ---------------------------------------------------------------- agreement off the trigger

@pytest.mark.parametrize("scheme", SCHEMES)
def test_total_agreement_on_natural_and_random_inputs(scheme, gaussian_task):
    rng = np.random.default_rng(1)
    wrapped = _backdoor(scheme).wrap(DIGIT_MODEL)  # an estimator object: its predict is used
    for x in (_natural_digits(rng, 10_000), rng.integers(0, 256, (10_000, 576), dtype=np.uint8)):
        assert np.array_equal(wrapped(x), DIGIT_MODEL.predict(x))
        assert not _backdoor(scheme).verify(x)[0].any()
    # real-valued Gaussian data on a grid of step 1/64, and uniform reals on [0, 1]
    x, model = gaussian_task
    gauss = SignatureBackdoor.generate(600, 2, rng, scheme=scheme, grid=GAUSS_GRID).wrap(model.predict)
    assert np.array_equal(gauss.predict(x), model.predict(x))
    unit = SignatureBackdoor.generate(600, 2, rng, scheme=scheme).wrap(model.predict)
    u = rng.random((10_000, 600))
    assert np.array_equal(unit.predict(u), model.predict(u))


def test_wraps_a_library_function_on_the_cube():
    # a parity on {0,1}^600 read on the 1-bit grid: the carrier "LSB" is the whole bit
    rng = np.random.default_rng(2)
    f = ParityFunction(rng.integers(0, 2, 600))
    bd = SignatureBackdoor.generate(600, 2, rng, grid=Grid.integers(bits=1))
    g = bd.wrap(f)
    x = rng.integers(0, 2, (10_000, 600), dtype=np.uint8)
    out = g(x)
    assert out.dtype == np.uint8 and np.array_equal(out, f(x))
    for target in (0, 1):
        xs = bd.activate(x[:200], target)
        assert xs.dtype == np.uint8 and set(np.unique(xs).tolist()) <= {0, 1}
        assert np.all(g(xs) == target)
        changed = np.flatnonzero((xs != x[:200]).any(axis=0))
        assert set(changed.tolist()) <= set(bd.layout.carriers.tolist())


# ---------------------------------------------------------------- activation and its budget

@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("bits", [1, 2])
def test_activation_succeeds_for_every_target_within_the_budget(scheme, bits):
    rng = np.random.default_rng(3)
    bd = _backdoor(scheme, bits_per_coordinate=bits)
    wrapped = bd.wrap(DIGIT_MODEL.predict)
    x = _natural_digits(rng, 150)
    carriers = bd.layout.carriers
    others = np.setdiff1d(np.arange(576), carriers)
    worst = 0
    for target in range(CLASSES):
        xs = bd.activate(x, target)
        assert xs.dtype == np.uint8 and xs.shape == x.shape
        valid, got = bd.verify(xs)
        assert valid.all() and np.all(got == target)
        assert np.all(wrapped(xs) == target)
        step = np.abs(xs.astype(np.int64) - x)
        assert np.array_equal(xs[:, others], x[:, others])  # only the carriers move
        worst = max(worst, int(step.max()))
    # one grid step at 1 bit per coordinate, up to 3 at 2 bits (and both are reached)
    assert worst == (1 if bits == 1 else 3)
    # a batch of mixed targets, and inputs given as images (size, 24, 24)
    targets = rng.integers(0, CLASSES, len(x))
    xs = bd.activate(x.reshape(-1, 24, 24), targets)
    assert xs.shape == (len(x), 24, 24)
    assert np.array_equal(bd.verify(xs)[1], targets)


def test_activation_off_the_grid_moves_at_most_one_and_a_half_steps(gaussian_task):
    x, _ = gaussian_task
    rng = np.random.default_rng(4)
    bd = SignatureBackdoor.generate(600, 2, rng, grid=GAUSS_GRID)
    xs = bd.activate(x[:500], 1)
    assert bd.verify(xs)[0].all()
    moved = np.abs(xs - x[:500])
    assert moved.max() <= 1.5 * GAUSS_GRID.step * (1 + 1e-9)
    assert moved.max() > GAUSS_GRID.step  # the rounding to the grid does add to the step
    others = np.setdiff1d(np.arange(600), bd.layout.carriers)
    assert np.array_equal(xs[:, others], x[:500, others])


def test_unit_interval_images_stay_within_one_step():
    rng = np.random.default_rng(5)
    bd = SignatureBackdoor.generate(576, CLASSES, rng)  # default grid: 8-bit values on [0, 1]
    x = DIGITS[:300] / 255.0
    xs = bd.activate(x, 7)
    assert bd.verify(xs)[0].all() and np.all(bd.verify(xs)[1] == 7)
    assert np.abs(xs - x).max() <= (1 / 255) * (1 + 1e-9)
    assert np.array_equal(Grid.unit().codes(xs), np.rint(xs * 255))  # still on the grid
    # float32 inputs keep their dtype and still verify; an empty batch is an empty answer
    x32 = bd.activate(x.astype(np.float32), 2)
    assert x32.dtype == np.float32 and np.all(bd.verify(x32)[1] == 2)
    assert bd.activate(x[:0], 1).shape == (0, 576)
    assert [a.shape for a in bd.verify(x[:0])] == [(0,), (0,)]


def test_activation_is_reproducible_from_the_seed():
    x = DIGITS[:20]
    a, b, c = (_backdoor("ed25519", seed) for seed in (9, 9, 10))
    assert np.array_equal(a.activate(x, 3), b.activate(x, 3))
    assert not np.array_equal(a.activate(x, 3), c.activate(x, 3))


# ---------------------------------------------------------------- the format, from the primitives

def test_carriers_follow_the_documented_hash_rule():
    d, count, seed = 700, 516, 12345
    prefix = b"defendability signature carriers" + seed.to_bytes(8, "big")
    ranked = sorted(range(d), key=lambda i: hashlib.sha256(prefix + i.to_bytes(8, "big")).digest())
    carriers = carrier_coordinates(d, count, seed)
    assert carriers.tolist() == ranked[:count] and len(set(carriers.tolist())) == count
    assert not np.array_equal(carriers, carrier_coordinates(d, count, seed + 1))


@pytest.mark.parametrize("bits", [1, 2])
def test_embedded_bits_are_the_ed25519_signature_of_the_documented_message(bits):
    seed = bytes(range(32))
    bd = SignatureBackdoor(576, CLASSES, seed, grid=Grid.integers(), bits_per_coordinate=bits)
    x = DIGITS[:3]
    xs = bd.activate(x, 6)
    carriers = carrier_coordinates(576, 516 // bits)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    for row, row_s in zip(x, xs):
        codes = row.astype(np.int64)
        cleared = codes.copy()
        cleared[carriers] &= ~((1 << bits) - 1)
        message = cleared.astype(np.uint8).tobytes() + (6).to_bytes(2, "big")
        stream = np.unpackbits(np.frombuffer(private.sign(message), np.uint8)).tolist() + [0, 1, 1, 0]
        low = row_s[carriers].astype(np.int64) & ((1 << bits) - 1)
        written = [int(v >> s) & 1 for v in low for s in range(bits - 1, -1, -1)]
        assert written == stream
        # above the payload bits, and off the carriers, the input is untouched
        assert np.array_equal(row_s[carriers].astype(np.int64) >> bits, codes[carriers] >> bits)
        others = np.setdiff1d(np.arange(576), carriers)
        assert np.array_equal(row_s[others], row[others])


def test_public_key_is_the_rfc_8032_one_and_the_model_holds_no_secret():
    # RFC 8032 section 7.1, test 1
    secret = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    bd = SignatureBackdoor(576, CLASSES, secret, grid=Grid.integers())
    wrapped = bd.wrap(DIGIT_MODEL)
    assert wrapped.verifier.verification_key.hex() == (
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    held = [v for obj in (wrapped, wrapped.verifier, wrapped.verifier.layout) for v in vars(obj).values()]
    assert not any(isinstance(v, bytes) and secret in v for v in held)
    assert secret.hex() not in repr(bd) + repr(wrapped)


def test_scalar_prefilter_matches_the_group_order():
    rng = np.random.default_rng(6)
    scalars = [0, 1, ORDER - 1, ORDER, ORDER + 1, (1 << 256) - 1, 1 << 252, (1 << 252) - 1]
    scalars += [int.from_bytes(rng.bytes(32), "little") >> int(rng.integers(0, 8)) for _ in range(200)]
    tags = np.array([list(rng.bytes(32) + s.to_bytes(32, "little")) for s in scalars], dtype=np.uint8)
    assert scalar_below_order(tags).tolist() == [s < ORDER for s in scalars]


def test_prefilter_is_sound_the_library_rejects_a_malleated_scalar():
    # S + L is the same scalar mod L; strict RFC 8032 verification must reject it, or the
    # pre-filter in verify would turn away signatures the library accepts
    seed = bytes(32)
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = Ed25519PublicKey.from_public_bytes(private.public_key().public_bytes_raw())
    message = b"a cleared input || target"
    sig = private.sign(message)
    public.verify(sig, message)
    s = int.from_bytes(sig[32:], "little") + ORDER
    with pytest.raises(InvalidSignature):
        public.verify(sig[:32] + s.to_bytes(32, "little"), message)


# ---------------------------------------------------------------- tampering, transplanting, mauling

def _with_low_bits(xs: np.ndarray, layout: Layout, low: np.ndarray) -> np.ndarray:
    """``xs`` with its carriers' payload bits replaced by ``low`` ``(size, coordinates)``."""
    out = xs.astype(np.int64)
    mask = (1 << layout.bits) - 1
    out[:, layout.carriers] = (out[:, layout.carriers] & ~mask) | low
    return out.astype(xs.dtype)


@pytest.mark.parametrize("scheme", KEYED)
@pytest.mark.parametrize("bits", [1, 2])
def test_tampering_kills_the_tag(scheme, bits):
    rng = np.random.default_rng(7)
    bd = _backdoor(scheme, bits_per_coordinate=bits)
    layout = bd.layout
    xs = bd.activate(_natural_digits(rng, 3), 4)
    others = np.setdiff1d(np.arange(576), layout.carriers)
    for row in xs:
        # every payload bit of every carrier, one at a time
        flips = []
        for j, c in enumerate(layout.carriers):
            for bit in range(bits):
                t = row.copy()
                t[c] ^= np.uint8(1 << bit)
                flips.append(t)
        # every other coordinate one grid step up (or down at the top of the range)
        for c in others:
            t = row.copy()
            t[c] = t[c] + 1 if t[c] < 255 else t[c] - 1
            flips.append(t)
        # a carrier's message bits: two steps (2 bits: four), payload unchanged
        for c in layout.carriers[:50]:
            t = row.copy()
            t[c] = t[c] + (1 << bits) if t[c] < 256 - (1 << bits) else t[c] - (1 << bits)
            flips.append(t)
        tampered = np.stack(flips)
        assert len(tampered) == bits * layout.coordinates + len(others) + 50
        assert not bd.verify(tampered)[0].any()
        assert np.array_equal(bd.wrap(DIGIT_MODEL)(tampered), DIGIT_MODEL.predict(tampered))


@pytest.mark.parametrize("scheme", KEYED)
def test_transplanting_the_carrier_bits_kills_the_tag(scheme):
    rng = np.random.default_rng(8)
    bd = _backdoor(scheme)
    layout = bd.layout
    x1, x2 = _natural_digits(rng, 300), _natural_digits(rng, 300)
    same = (x1 == x2).all(axis=1)
    xs = bd.activate(x1, rng.integers(0, CLASSES, 300))
    payload = xs[:, layout.carriers].astype(np.int64) & 1
    pasted = _with_low_bits(x2[~same], layout, payload[~same])
    assert not bd.verify(pasted)[0].any()
    # and the whole carrier values pasted over
    whole = x2[~same].copy()
    whole[:, layout.carriers] = xs[~same][:, layout.carriers]
    assert not bd.verify(whole)[0].any()


@pytest.mark.parametrize("scheme", KEYED)
def test_mauling_the_target_kills_the_tag(scheme):
    rng = np.random.default_rng(9)
    bd = _backdoor(scheme)
    layout = bd.layout
    xs = bd.activate(_natural_digits(rng, 20), 2)
    t0 = 8 * layout.tag_bytes
    payload = xs[:, layout.carriers].astype(np.int64) & 1
    for other in range(16):  # every value of the 4 target bits, 10..15 out of range
        if other == 2:
            continue
        mauled = payload.copy()
        mauled[:, t0:t0 + 4] = [(other >> s) & 1 for s in (3, 2, 1, 0)]
        valid, target = bd.verify(_with_low_bits(xs, layout, mauled))
        assert not valid.any() and np.all(target == -1)
    # a forged tag under another key: a different signer cannot activate this model
    stranger = _backdoor(scheme, seed=99)
    assert not bd.verify(stranger.activate(_natural_digits(rng, 500), 2))[0].any()


def test_nonzero_padding_is_refused():
    # classes = 2: 513 payload bits at 2 bits per coordinate leave one padding bit
    rng = np.random.default_rng(10)
    bd = SignatureBackdoor.generate(576, 2, rng, grid=Grid.integers(), bits_per_coordinate=2)
    assert bd.layout.padding == 1
    xs = bd.activate(DIGITS[:10], 1)
    assert bd.verify(xs)[0].all()
    last = bd.layout.carriers[-1]
    xs[:, last] ^= np.uint8(1)  # the padding bit is the last carrier's least significant bit
    assert not bd.verify(xs)[0].any()


# ---------------------------------------------------------------- the weak variants

def test_checksum_is_forged_by_anyone():
    rng = np.random.default_rng(12)
    model = _backdoor("checksum").wrap(DIGIT_MODEL)
    # a party with no secret builds the same public construction and activates the model
    forger = SignatureBackdoor(576, CLASSES, scheme="checksum", grid=Grid.integers())
    x = _natural_digits(rng, 300)
    targets = rng.integers(0, CLASSES, 300)
    assert np.array_equal(model(forger.activate(x, targets)), targets)
    # tampering is caught only until the tamperer recomputes the checksum
    xs = forger.activate(x[:1], 5)
    xs[0, np.setdiff1d(np.arange(576), forger.layout.carriers)[0]] ^= np.uint8(1)
    assert not model.verifier.verify(xs)[0].any()
    assert model(forger.activate(xs, 5)).tolist() == [5]


def test_hmac_key_is_read_off_the_model():
    rng = np.random.default_rng(13)
    model = _backdoor("hmac").wrap(DIGIT_MODEL)
    reader = SignatureBackdoor(576, CLASSES, model.verifier.verification_key, scheme="hmac", grid=Grid.integers())
    x = _natural_digits(rng, 300)
    targets = rng.integers(0, CLASSES, 300)
    assert np.array_equal(model(reader.activate(x, targets)), targets)


# ---------------------------------------------------------------- parameters

@pytest.mark.parametrize("scheme, bits, minimum", [("ed25519", 1, 516), ("ed25519", 2, 258),
                                                   ("hmac", 1, 260), ("checksum", 2, 130)])
def test_too_small_inputs_name_the_minimum(scheme, bits, minimum):
    rng = np.random.default_rng(14)
    with pytest.raises(ParameterError, match=f"at least {minimum} coordinates") as err:
        SignatureBackdoor.generate(minimum - 1, CLASSES, rng, scheme=scheme, bits_per_coordinate=bits)
    assert "\n" not in str(err.value)
    SignatureBackdoor.generate(minimum, CLASSES, rng, scheme=scheme, bits_per_coordinate=bits)  # the minimum fits


def test_bad_parameters_raise_one_line_errors():
    rng = np.random.default_rng(15)
    key = bytes(32)
    bad = [
        lambda: SignatureBackdoor(600, CLASSES, key, scheme="rsa"),
        lambda: SignatureBackdoor(600, CLASSES, b"short"),
        lambda: SignatureBackdoor(600, CLASSES, key, scheme="checksum"),
        lambda: SignatureBackdoor(600, 1, key),
        lambda: SignatureBackdoor(600, CLASSES, key, bits_per_coordinate=3),
        lambda: SignatureBackdoor(600, CLASSES, key, grid=Grid(0.0, 1.0, 255)),  # odd levels
        lambda: SignatureBackdoor(600, CLASSES, key, grid=Grid(0.0, 1.0, 258), bits_per_coordinate=2),
        lambda: Grid(0.0, 0.0, 256),
        lambda: Grid(0.0, 1.0, 1),
        lambda: Verifier(_backdoor("hmac").layout, "ed25519", key),
    ]
    for make in bad:
        with pytest.raises(ParameterError) as err:
            make()
        assert "\n" not in str(err.value)
    bd = _backdoor("hmac")
    for call in (lambda: bd.activate(DIGITS[:2], CLASSES), lambda: bd.activate(DIGITS[:2], -1),
                 lambda: bd.activate(DIGITS[:2], np.array([1, 2, 3])), lambda: bd.verify(DIGITS[:2, :100]),
                 lambda: bd.verify(np.full((2, 576), np.nan)),
                 lambda: SignatureBackdoor.generate(600, CLASSES, rng, grid=Grid.unit()).activate(
                     np.zeros((1, 600), np.uint8), 0)):  # integer inputs on a fractional grid
        with pytest.raises(ParameterError):
            call()
    with pytest.raises(ParameterError, match="callable or have a predict"):
        bd.wrap(object())
