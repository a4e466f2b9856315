"""The public/private leaderboard split: which test samples count where, decided by seed and sample id (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Literal, TypeVar

Split = Literal["public", "private"]
T = TypeVar("T")


def sample_split(sample_id: str, seed: int, public_fraction: float) -> Split:
    """``public`` or ``private`` for one sample; the same seed and id always give the same answer.

    Each sample is placed on its own (a hash of seed and id), so adding or removing samples never
    moves the others between splits. ``public_fraction`` 1 puts everything public, 0 private.
    """
    if public_fraction >= 1:
        return "public"
    if public_fraction <= 0:
        return "private"
    digest = hashlib.sha256(f"{seed}:{sample_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64  # uniform in [0, 1)
    return "public" if position < public_fraction else "private"


def split_samples(samples: Iterable[tuple[str, T]], seed: int,
                  public_fraction: float) -> tuple[list[tuple[str, T]], list[tuple[str, T]]]:
    """(public, private) lists of ``(sample_id, value)`` pairs, order kept."""
    public: list[tuple[str, T]] = []
    private: list[tuple[str, T]] = []
    for sample_id, value in samples:
        (public if sample_split(sample_id, seed, public_fraction) == "public" else private).append((sample_id, value))
    return public, private
