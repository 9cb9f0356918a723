"""Forgotten people stay forgotten: no ingest stores a record that carries an identity an erasure removed.

Invariant: a record any of whose identities (its rows' own, and both ends of its identity links) is
in an Erasure's `identities` (bot.core.privacy.identity_digest hashes) is stored not at all, not even
its identities. The erasure log is read once per ingest; a digest is computed once per identity seen.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.privacy import identity_digest
from bot.ingest.feeds.base import IdentityLink, IdentityRef, Record
from storage.models import Erasure, table

log = logging.getLogger(__name__)

REMEMBERED = 100_000  # identities whose verdict is remembered per ingest; bounded so memory stays flat


class Forgotten:
    def __init__(self, session: Session) -> None:
        self.digests = frozenset(_erased(session))
        self.seen: dict[IdentityRef, bool] = {}

    def carries(self, record: Record) -> bool:
        """True when the record carries an identity someone asked to be forgotten."""
        return bool(self.digests) and any(self._forgotten(ref) for ref in _identities(record))

    def _forgotten(self, ref: IdentityRef) -> bool:
        verdict = self.seen.get(ref)
        if verdict is None:
            if len(self.seen) >= REMEMBERED:
                self.seen.clear()
            verdict = self.seen[ref] = _digest(ref) in self.digests
        return verdict


def _digest(ref: IdentityRef) -> str | None:
    try:
        return identity_digest(ref.kind, ref.value)
    except UnicodeEncodeError:
        return None  # not text a person's identity can be: the bounds check rejects its record


def _erased(session: Session) -> Iterator[str]:
    erasure = table(Erasure)
    for number, identities in session.execute(select(erasure.c.id, erasure.c.identities)):
        try:
            digests = json.loads(identities or "[]")
        except ValueError:
            digests = None
        if not isinstance(digests, list):
            log.warning("erasure %s: its identities are not a JSON list; nobody is forgotten by it", number)
            continue
        yield from (digest for digest in digests if isinstance(digest, str))


def _identities(record: Record) -> Iterator[IdentityRef]:
    for row in record.rows:
        if isinstance(row, IdentityLink):
            yield row.known
            yield row.also
        else:
            identity = getattr(row, "identity", None)
            if identity is not None:
                yield identity
