"""The differencing guard: never show two groups whose memberships differ by fewer than
`min_group_size` people, or subtracting one figure from the other reveals those few people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bot.digest.build import Digest


def too_close(a: frozenset[int], b: frozenset[int], min_group_size: int) -> bool:
    return 0 < len(a ^ b) < min_group_size


def guard(digest: Digest, shown: Iterable[frozenset[int]]) -> Digest:
    """The digest, with its figures withheld if they would sit too close to a group already shown."""
    if digest.suppressed:
        return digest
    if any(too_close(digest.active_members, group, digest.min_group_size) for group in shown):
        return replace(digest, withheld=(
            f"This week's figures for {digest.team} were already shown for a group of people that differs "
            f"from today's by fewer than {digest.min_group_size}; showing both would expose those few people. "
            "The figures shown first stand."
        ))
    return digest


def encode(members: frozenset[int]) -> str:
    return ",".join(str(m) for m in sorted(members))


def decode(text: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in (text or "").split(",") if part)
