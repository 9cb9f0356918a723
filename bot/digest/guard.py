"""The differencing guard on a digest not yet published: withheld when it sits too close to a group already shown.

Once a team-week is published, every showing serves that snapshot, so there is nothing left to difference;
the guard still covers weeks whose groups were posted before snapshots existed (`DigestPost.members`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bot.core.privacy import too_close
from bot.digest.build import Digest


def guard(digest: Digest, shown: Iterable[frozenset[int]]) -> Digest:
    """The digest, with its figures withheld if they would sit too close to a group already shown."""
    if digest.suppressed or digest.current.published:
        return digest
    if any(too_close(digest.active_members, group, digest.min_group_size) for group in shown):
        return replace(digest, withheld=(
            f"This week's figures for {digest.team} were already shown for a group of people that differs "
            f"from today's by fewer than {digest.min_group_size}; showing both would expose those few people. "
            "The figures shown first stand."
        ))
    return digest
