"""Opaque random streams: one generator per (round, player), derived one-way from the match.

Every round of a match draws its randomness from independent streams, one per player
and side: the attacker's (``setup``, ``backdoor``, ``plant``, ``activate``), the
referee's (the trigger, the clean input, estimated distances) and the defender's, one
for the clean side and one for the backdoor side (so that nothing the defender does to
its generator on one side reaches the other). Results therefore do not depend on how
rounds are split across processes.

**Opaque.** A stream's generator is seeded with a 256-bit value
``BLAKE2b(key = match key, message = (round, player))``, where the match key is itself a
BLAKE2b hash of the match seed. What a player's generator carries (its seed sequence,
its state) is that value and what follows from it; recovering the match key, and so
another player's stream, from it means inverting a keyed hash. (Before this, each
generator carried ``SeedSequence(seed, spawn_key=(round, player))``, from which any
player could rebuild the referee's stream and read the trigger before it was drawn.)

**What opacity does not cover.** The streams are a deterministic function of the seed, as
reproducibility requires: a player that *guesses* the seed (0, 1, 42...) and knows this
derivation can recompute every stream. Against players written to win, play with a seed
nobody can guess (:func:`unguessable_seed`, ``--seed random`` on the command line, which
prints the seed it drew so the match stays reproducible), and isolate the players
(``isolate=True``): in one process, code can read the interpreter's memory.
"""

from __future__ import annotations

import hashlib
import secrets

import numpy as np

#: The streams of one round, in a fixed order (the order only names them: each is
#: derived on its own, so none shifts another's numbers). ``predicate`` (the salt of mode
#: predicate) and ``training`` (the training sample of mode poisoning) are the referee's,
#: but what they draw is shown to the attacker: they are streams of their own, so that
#: nothing the attacker is shown comes from the stream that draws the trigger, the clean
#: input and the distance samples (PCG64 is not a cryptographic generator: its outputs
#: could give its state away).
PLAYERS = ("attacker", "referee", "defender-clean", "defender-backdoor", "predicate", "training")

_PERSON = b"defendability/1"  # domain separation: these hashes are used for nothing else


def match_key(seed: int) -> bytes:
    """The 32-byte key of the match seeded by ``seed`` (an integer >= 0, of any size)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    raw = seed.to_bytes(max(1, (seed.bit_length() + 7) // 8), "little")
    return hashlib.blake2b(raw, digest_size=32, person=_PERSON).digest()


def stream(key: bytes, index: int, player: str) -> np.random.Generator:
    """The generator of ``player`` (one of :data:`PLAYERS`) in round ``index`` of the
    match with key ``key`` (:func:`match_key`): PCG64 seeded with a keyed BLAKE2b hash
    of the round and the player."""
    if player not in PLAYERS:
        raise ValueError(f"player must be one of {', '.join(PLAYERS)}, got {player!r}")
    digest = hashlib.blake2b(f"{index}/{player}".encode(), key=key, digest_size=32, person=_PERSON).digest()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int.from_bytes(digest, "little"))))


class LazyStreams(dict):
    """The streams of one round, each made on first use (``streams[player]``): a round
    without a valid backdoor never pays for the backdoor side's. Each is derived on its
    own, so which ones are made changes none of their numbers."""

    def __init__(self, key: bytes, index: int):
        super().__init__()
        self._key, self._index = key, index

    def __missing__(self, player: str) -> np.random.Generator:
        made = self[player] = stream(self._key, self._index, player)
        return made


def player_stream(seed: int, index: int, player: str) -> np.random.Generator:
    """The generator ``player`` gets in round ``index`` of the match seeded by ``seed``
    (what the referee makes; for tests and replays)."""
    return stream(match_key(seed), index, player)


def unguessable_seed() -> int:
    """A 128-bit seed from the operating system's entropy: a match seeded with it is
    reproducible (record the seed) and its streams cannot be guessed by the players."""
    return secrets.randbits(128)
