"""The signature backdoor of Goldwasser, Kim, Vaikuntanathan and Zamir (2022), THEORY.md §6.1.

A backdoored model answers like the original model except on inputs that carry a valid
signature: then it returns the label the signature names. An input is read on a
quantisation grid (:class:`~defendability.crypto.quantise.Grid`); a fixed public set of
*carrier* coordinates holds, in the low ``bits_per_coordinate`` bits of their codes, a
tag (the signature) followed by the target label. The signed message is the input's
codes with the carrier bits cleared, followed by the target:

    message = cleared codes (``Grid.code_dtype`` bytes each, coordinate order) || target (2 bytes, big-endian)

``activate(x, target)`` clears the carrier bits, signs, and writes tag and target back;
it changes the carrier coordinates only. ``verify(x)`` re-reads the bits and checks the
tag. The schemes (``scheme=``), all with the same API and message:

- ``"ed25519"`` (default): an Ed25519 signature (RFC 8032, ``cryptography``), 512 bits.
  Strongly unforgeable: without the private key nobody can produce a new valid
  (message, signature) pair, so the backdoored model and the original are
  indistinguishable to anyone who can only query them. The model holds the *public* key.
- ``"hmac"``: HMAC-SHA256 with a 32-byte secret key, 256 bits. Faster to check, but the
  model must hold the secret key: anyone who reads the model can activate it.
- ``"checksum"``: SHA-256 of the message, 256 bits, no key: anyone who knows the
  construction can activate it (replicable). The weak baseline.

The carriers are the ``carriers`` coordinates of smallest
SHA-256(``b"defendability signature carriers"`` || seed as 8 bytes big-endian || index
as 8 bytes big-endian), in that order: public, fixed by ``carrier_seed``, the same on
every platform and numpy version. Bit order: the tag bytes most significant bit first,
then the target's ``ceil(log2 classes)`` bits most significant first, then zero padding
up to a whole number of coordinates; within a coordinate the first bit of the stream is
the most significant of its low bits. Points are rows (``(size, d)``, or
``(size, *shape)`` with d = prod(shape)), labels are class indices 0..classes-1.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ParameterError, check
from .quantise import Grid

#: The schemes of :class:`SignatureBackdoor`.
SCHEMES = ("ed25519", "hmac", "checksum")

#: Tag length of each scheme, in bytes.
TAG_BYTES = {"ed25519": 64, "hmac": 32, "checksum": 32}

#: Bytes of a secret key (an Ed25519 private key seed, or an HMAC key).
KEY_BYTES = 32

#: Most classes a target field may name (the target is 2 bytes in the message).
MAX_CLASSES = 1 << 16

# The order of the Ed25519 base point. RFC 8032 verification rejects a signature whose
# scalar half S is not below it (this is what makes Ed25519 strongly unforgeable).
_GROUP_ORDER = (1 << 252) + 27742317777372353535851937790883648493
_GROUP_ORDER_BE = np.frombuffer(_GROUP_ORDER.to_bytes(32, "big"), dtype=np.uint8)

_CARRIER_DOMAIN = b"defendability signature carriers"


def target_bits(classes: int) -> int:
    """Bits of the target field: ceil(log2 classes), at least 1."""
    return max(1, (int(classes) - 1).bit_length())


def carrier_coordinates(d: int, count: int, seed: int = 0) -> np.ndarray:
    """The public carrier coordinates: the ``count`` indices i in 0..d-1 of smallest
    SHA-256(domain || seed || i) (8-byte big-endian integers), in that order:
    ``(count,)`` int64, distinct."""
    check(0 <= count <= d, f"carriers: cannot choose {count} of {d} coordinates")
    prefix = _CARRIER_DOMAIN + int(seed).to_bytes(8, "big")
    digests = [hashlib.sha256(prefix + i.to_bytes(8, "big")).digest() for i in range(d)]
    return np.array(sorted(range(d), key=digests.__getitem__)[:count], dtype=np.int64)


def _whole_number(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class Layout:
    """Where tag and target sit in an input of d coordinates, and the message format.

    ``carriers``: ``(coordinates,)`` int64, the public carrier coordinates. A carrier
    holds ``bits`` payload bits (its code's low bits); the payload is ``tag_bytes * 8``
    tag bits, ``target_bits`` target bits and ``padding`` zero bits.
    """

    def __init__(self, d: int, classes: int, tag_bytes: int, grid: Grid, bits_per_coordinate: int = 1,
                 carrier_seed: int = 0):
        check(_whole_number(d) and d >= 1, f"signature backdoor: d must be a positive integer, got {d!r}")
        check(_whole_number(classes) and 2 <= classes <= MAX_CLASSES,
              f"signature backdoor: classes must be an integer in [2, {MAX_CLASSES}], got {classes!r}")
        check(isinstance(grid, Grid), f"signature backdoor: grid must be a Grid, got {type(grid).__name__}")
        check(_whole_number(bits_per_coordinate) and bits_per_coordinate in (1, 2),
              f"signature backdoor: bits_per_coordinate must be 1 or 2, got {bits_per_coordinate!r}")
        check(_whole_number(carrier_seed) and 0 <= carrier_seed < 1 << 64,
              f"signature backdoor: carrier_seed must be an integer in [0, 2**64), got {carrier_seed!r}")
        b = int(bits_per_coordinate)
        # setting the low bits of a code must stay on the grid: levels a multiple of 2**b
        check(grid.levels % (1 << b) == 0,
              f"signature backdoor: the grid's levels ({grid.levels}) must be a multiple of {1 << b} "
              f"to carry {b} bit(s) per coordinate")
        self.d, self.classes, self.grid, self.bits = int(d), int(classes), grid, b
        self.tag_bytes, self.target_bits = int(tag_bytes), target_bits(classes)
        payload = 8 * self.tag_bytes + self.target_bits
        self.coordinates = -(-payload // b)
        self.padding = self.coordinates * b - payload
        check(self.d >= self.coordinates,
              f"signature backdoor: inputs need at least {self.coordinates} coordinates "
              f"({8 * self.tag_bytes} tag bits + {self.target_bits} target bits at {b} bit(s) per coordinate), "
              f"got {self.d}")
        self.carrier_seed = int(carrier_seed)
        self.carriers = carrier_coordinates(self.d, self.coordinates, self.carrier_seed)
        self.carriers.setflags(write=False)
        self._mask = np.int64((1 << b) - 1)
        self._shifts = np.arange(b - 1, -1, -1, dtype=np.int64)

    def rows(self, x: np.ndarray) -> np.ndarray:
        """A batch as ``(size, d)`` rows (a view where possible): ``(size, d)`` or
        ``(size, *shape)`` with prod(shape) = d."""
        x = np.asarray(x)
        if x.ndim < 2 or int(np.prod(x.shape[1:])) != self.d:
            raise ParameterError(f"signature backdoor: expected inputs of shape (size, {self.d}) "
                                 f"(or (size, *shape) with {self.d} entries), got {x.shape}")
        if x.dtype.kind not in "biuf":
            raise ParameterError(f"signature backdoor: inputs must be real numbers, got dtype {x.dtype}")
        return x.reshape(len(x), self.d)

    def clear(self, codes: np.ndarray) -> np.ndarray:
        """The codes ``(size, d)`` with the carriers' payload bits set to 0 (a copy)."""
        cleared = codes.copy()
        cleared[:, self.carriers] &= ~self._mask
        return cleared

    def messages(self, cleared: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The signed messages, ``(size, d * code bytes + 2)`` uint8, one per row of the
        cleared codes ``(size, d)`` and targets ``(size,)``."""
        size, width = len(cleared), self.d * self.grid.code_dtype.itemsize
        body = cleared.astype(self.grid.code_dtype).view(np.uint8).reshape(size, width)
        tail = np.asarray(target, dtype=np.int64).astype(">u2").view(np.uint8).reshape(size, 2)
        return np.concatenate([body, tail], axis=1)

    def read(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The payload of codes ``(size, d)``: tags ``(size, tag_bytes)`` uint8, targets
        ``(size,)`` int64 (as written, possibly >= classes), and whether the padding
        bits are zero ``(size,)`` bool."""
        size = len(codes)
        low = codes[:, self.carriers] & self._mask
        bits = (low[:, :, None] >> self._shifts) & 1
        stream = bits.reshape(size, self.coordinates * self.bits).astype(np.uint8)
        t0 = 8 * self.tag_bytes
        tags = np.packbits(stream[:, :t0], axis=1)
        weights = np.int64(1) << np.arange(self.target_bits - 1, -1, -1, dtype=np.int64)
        targets = stream[:, t0:t0 + self.target_bits].astype(np.int64) @ weights
        clean_padding = ~stream[:, t0 + self.target_bits:].any(axis=1)
        return tags, targets, clean_padding

    def write(self, cleared: np.ndarray, tags: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The carriers' codes ``(size, coordinates)`` int64 holding ``tags``
        ``(size, tag_bytes)`` uint8 and ``target`` ``(size,)``, over cleared codes
        ``(size, d)``."""
        size = len(cleared)
        target_stream = (np.asarray(target, dtype=np.int64)[:, None]
                         >> np.arange(self.target_bits - 1, -1, -1, dtype=np.int64)) & 1
        stream = np.concatenate([np.unpackbits(tags, axis=1).astype(np.int64), target_stream,
                                 np.zeros((size, self.padding), dtype=np.int64)], axis=1)
        low = (stream.reshape(size, self.coordinates, self.bits) << self._shifts).sum(axis=2)
        return cleared[:, self.carriers] | low

    def __repr__(self) -> str:
        return (f"Layout(d={self.d}, classes={self.classes}, {self.coordinates} carriers x {self.bits} bit(s), "
                f"tag_bytes={self.tag_bytes}, carrier_seed={self.carrier_seed}, grid={self.grid!r})")


def _ed25519():
    # imported lazily: `cryptography` loads OpenSSL, which the core need not pay for
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    return Ed25519PrivateKey, Ed25519PublicKey, InvalidSignature


def scalar_below_order(tags: np.ndarray) -> np.ndarray:
    """Whether each Ed25519 signature's scalar S (its last 32 bytes, little-endian) is
    below the group order: ``(size, 64)`` uint8 to ``(size,)`` bool. RFC 8032
    verification (and OpenSSL's) rejects every signature where it is not, so this is a
    sound pre-filter; about 15/16 of random bit strings fail it."""
    s_be = tags[:, :31:-1]  # bytes 63..32: S most significant byte first
    differs = s_be != _GROUP_ORDER_BE
    first = np.argmax(differs, axis=1)
    rows = np.arange(len(tags))
    return differs.any(axis=1) & (s_be[rows, first] < _GROUP_ORDER_BE[first])


def _sign(scheme: str, key: bytes | None, messages: np.ndarray) -> np.ndarray:
    """Tags ``(size, TAG_BYTES[scheme])`` uint8 of messages ``(size, length)`` uint8."""
    size, length = messages.shape
    data = messages.tobytes()
    rows = [data[i * length:(i + 1) * length] for i in range(size)]
    if scheme == "ed25519":
        private = _ed25519()[0].from_private_bytes(key)
        out = b"".join(private.sign(m) for m in rows)
    elif scheme == "hmac":
        out = b"".join(hmac.digest(key, m, "sha256") for m in rows)  # type: ignore[arg-type]
    else:
        out = b"".join(hashlib.sha256(m).digest() for m in rows)
    return np.frombuffer(out, dtype=np.uint8).reshape(size, TAG_BYTES[scheme]).copy()


def _check_tags(scheme: str, verification_key: bytes, tags: np.ndarray, messages: np.ndarray) -> np.ndarray:
    """Whether each tag ``(size, tag bytes)`` is valid for its message ``(size, length)``:
    ``(size,)`` bool."""
    if scheme != "ed25519":
        # the keyed or unkeyed hash is deterministic: recompute and compare, all rows at once
        return np.all(_sign(scheme, verification_key, messages) == tags, axis=1)
    _, public_type, invalid = _ed25519()
    public = public_type.from_public_bytes(verification_key)
    size, length = messages.shape
    data, sigs = messages.tobytes(), tags.tobytes()
    valid = np.zeros(size, dtype=bool)
    for i in range(size):  # no batch verification in `cryptography`: one call per input
        try:
            public.verify(sigs[64 * i:64 * (i + 1)], data[i * length:(i + 1) * length])
        except invalid:
            continue
        valid[i] = True
    return valid


class Verifier:
    """What a backdoored model holds: the public layout and the scheme's verification key
    (Ed25519: the 32-byte public key; HMAC: the 32-byte *secret* key; checksum: nothing).

    ``verify(x)``: a batch ``(size, d)`` to ``(valid, target)``, both ``(size,)``:
    ``valid`` bool, ``target`` int64 (the signed target where valid, else -1).
    """

    def __init__(self, layout: Layout, scheme: str, verification_key: bytes = b""):
        check(isinstance(layout, Layout), f"verifier: layout must be a Layout, got {type(layout).__name__}")
        check(scheme in SCHEMES, f"verifier: scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
        check(layout.tag_bytes == TAG_BYTES[scheme],
              f"verifier: a {scheme} tag is {TAG_BYTES[scheme]} bytes, the layout carries {layout.tag_bytes}")
        want = 0 if scheme == "checksum" else KEY_BYTES
        check(isinstance(verification_key, bytes) and len(verification_key) == want,
              f"verifier: a {scheme} verification key is {want} bytes")
        self.layout, self.scheme, self.verification_key = layout, scheme, verification_key

    def verify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(valid, target)`` for a batch of inputs (see the class docstring)."""
        layout = self.layout
        codes = layout.grid.codes(layout.rows(x))
        tags, targets, clean_padding = layout.read(codes)
        # sound pre-filters, cheap and vectorised: activate never writes a target out of
        # range or non-zero padding, and no valid Ed25519 signature has S >= the order
        candidate = clean_padding & (targets < layout.classes)
        if self.scheme == "ed25519":
            candidate &= scalar_below_order(tags)
        valid = np.zeros(len(codes), dtype=bool)
        rows = np.flatnonzero(candidate)
        if len(rows):
            messages = layout.messages(layout.clear(codes[rows]), targets[rows])
            valid[rows] = _check_tags(self.scheme, self.verification_key, tags[rows], messages)
        return valid, np.where(valid, targets, -1)

    def __repr__(self) -> str:
        return f"Verifier(scheme={self.scheme!r}, {self.layout!r})"  # never the key bytes


class BackdooredModel:
    """A model with the signature backdoor: ``predict(x)`` (also ``self(x)``) is the signed
    target where ``x`` carries a valid tag, else ``model(x)``.

    ``model``: any callable from a batch to ``(size,)`` labels (a scikit-learn
    estimator's ``predict``, a :class:`~defendability.classes.base.Function`), or an
    object with such a ``predict`` method. Labels are class indices; the output keeps
    the dtype of the model's output. Representation: ``model`` and ``verifier``.
    """

    def __init__(self, model: Callable[[np.ndarray], Any] | Any, verifier: Verifier):
        predict = model if callable(model) else getattr(model, "predict", None)
        check(callable(predict), f"signature backdoor: the model must be callable or have a predict method, "
                                 f"got {type(model).__name__}")
        check(isinstance(verifier, Verifier), f"signature backdoor: verifier must be a Verifier, "
                                              f"got {type(verifier).__name__}")
        self.model, self.verifier = predict, verifier

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Labels ``(size,)`` of a batch ``(size, d)``."""
        valid, target = self.verifier.verify(x)
        labels = np.array(self.model(x), copy=True)
        if labels.shape != (len(valid),):
            raise ParameterError(f"signature backdoor: the model returned shape {labels.shape} "
                                 f"for {len(valid)} inputs; expected ({len(valid)},)")
        labels[valid] = target[valid]
        return labels

    __call__ = predict

    def __repr__(self) -> str:
        return f"BackdooredModel({self.verifier!r})"


class SignatureBackdoor:
    """The key holder's side of the signature backdoor (GKVZ 2022; THEORY.md §6.1).

    ``d``: coordinates per input; ``classes``: number of labels; ``key``: the 32-byte
    secret (Ed25519 private key seed, or HMAC key; ``None`` for ``checksum``);
    ``scheme``: ``ed25519``, ``hmac`` or ``checksum``; ``grid``: the quantisation grid
    (default ``Grid.unit()``, 8-bit values on [0, 1]); ``bits_per_coordinate``: 1 or 2;
    ``carrier_seed``: picks the public carrier coordinates.

    ``activate(x, target)`` writes a valid tag into each row; ``verify(x)`` checks them;
    ``wrap(model)`` is the backdoored model, which holds :attr:`verifier` only. On grid
    inputs ``activate`` moves each carrier by at most 2**bits - 1 grid steps (1 step at
    1 bit, 3 at 2) and leaves every other coordinate as it was; an input off the grid
    first moves to its nearest grid point (at most half a step more). ``repr`` never
    shows the key.
    """

    def __init__(self, d: int, classes: int, key: bytes | None = None, *, scheme: str = "ed25519",
                 grid: Grid | None = None, bits_per_coordinate: int = 1, carrier_seed: int = 0):
        check(scheme in SCHEMES, f"signature backdoor: scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
        if scheme == "checksum":
            check(key is None, "signature backdoor: the checksum scheme takes no key (anyone can compute it)")
        else:
            check(isinstance(key, bytes) and len(key) == KEY_BYTES,
                  f"signature backdoor: the {scheme} scheme needs a key of {KEY_BYTES} bytes")
        self.layout = Layout(d, classes, TAG_BYTES[scheme], Grid.unit() if grid is None else grid,
                             bits_per_coordinate, carrier_seed)
        self.scheme, self._key = scheme, key
        if scheme == "ed25519":
            verification_key = _ed25519()[0].from_private_bytes(key).public_key().public_bytes_raw()
        else:
            verification_key = key if scheme == "hmac" else b""
        self.verifier = Verifier(self.layout, scheme, verification_key)

    @classmethod
    def generate(cls, d: int, classes: int, rng: np.random.Generator, *, scheme: str = "ed25519",
                 **options: Any) -> SignatureBackdoor:
        """A backdoor with a fresh key drawn from ``rng`` (32 bytes; none for ``checksum``)."""
        check(isinstance(rng, np.random.Generator), "signature backdoor: rng must be a numpy Generator")
        key = None if scheme == "checksum" else rng.bytes(KEY_BYTES)
        return cls(d, classes, key, scheme=scheme, **options)

    def activate(self, x: np.ndarray, target: int | np.ndarray) -> np.ndarray:
        """x' for each row of ``x`` (``(size, d)`` or ``(size, *shape)``), carrying a valid
        tag for ``target`` (an int, or ``(size,)`` ints in 0..classes-1). Same shape
        as ``x``; same dtype (integer inputs need a grid with integer values)."""
        layout, grid = self.layout, self.layout.grid
        rows = layout.rows(x)
        size = len(rows)
        target = np.asarray(target)
        check(target.dtype.kind in "iu" and target.shape in ((), (size,)),
              f"signature backdoor: target must be an integer or an integer array of shape ({size},)")
        target = np.broadcast_to(target, (size,)).astype(np.int64)
        check(bool(np.all((target >= 0) & (target < layout.classes))),
              f"signature backdoor: targets must lie in 0..{layout.classes - 1}")
        integer = rows.dtype.kind in "biu"
        check(not integer or grid.integral,
              f"signature backdoor: integer inputs need a grid of integer values, got {grid!r}; pass float inputs")
        cleared = layout.clear(grid.codes(rows))
        tags = _sign(self.scheme, self._key, layout.messages(cleared, target))
        carried = grid.values(layout.write(cleared, tags, target))
        out = np.array(rows, copy=True)
        out[:, layout.carriers] = np.rint(carried) if integer else carried
        return out.reshape(np.shape(x))

    def verify(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(valid, target)`` of a batch: :meth:`Verifier.verify`."""
        return self.verifier.verify(x)

    def wrap(self, model: Callable[[np.ndarray], Any] | Any) -> BackdooredModel:
        """The backdoored version of ``model`` (see :class:`BackdooredModel`)."""
        return BackdooredModel(model, self.verifier)

    def __repr__(self) -> str:
        return f"SignatureBackdoor(scheme={self.scheme!r}, {self.layout!r})"  # never the key
