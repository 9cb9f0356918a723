"""The differencing rule: never show two groups whose memberships differ by fewer than
`min_group_size` people, or subtracting one figure from the other reveals those few people."""

from __future__ import annotations

import hashlib


def too_close(a: frozenset[int], b: frozenset[int], min_group_size: int) -> bool:
    return 0 < len(a ^ b) < min_group_size


def encode(members: frozenset[int]) -> str:
    return ",".join(str(m) for m in sorted(members))


def decode(text: str | None) -> frozenset[int]:
    return frozenset(int(part) for part in (text or "").split(",") if part)


def subject_digest(email: str) -> str:
    """How the erasure log names a forgotten person: a hash of the address, never the address."""
    return hashlib.sha256(f"email:{email.strip().lower()}".encode()).hexdigest()


def identity_digest(kind: str, value: str) -> str:
    """How the erasure log names a forgotten feed identity, so a later ingest can recognise and drop it."""
    return hashlib.sha256(f"{kind}:{value.strip().lower()}".encode()).hexdigest()
