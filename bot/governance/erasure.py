"""`tokenworth forget`: erase one person, logging the erasure by hashes only.

Invariants: a person the config still lists is never erased (the next sync would re-create them);
everything about the person goes in one transaction (their usage, activity, outcomes, work details and seats through
their identities, the identities and links, the person row with its Slack link, their Teams 1:1 chat
reference, and their Teams account in channel references); the Erasure row names them and their
identities only by `subject_digest` and `identity_digest`, so a later ingest can recognise and drop
them. Aggregates stay: published snapshots, the access log and the digest ledger keep member ids,
which no longer resolve to anybody.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, delete, func, or_, select, tuple_, update
from sqlalchemy.orm import Session

from bot.config.org import OrgConfig
from bot.core.privacy import identity_digest, subject_digest
from bot.errors import ConfigError, UnknownPerson, UsageError
from bot.governance.retention import PER_PERSON, rowcount
from bot.ingest.feeds.base import IdentityRef
from storage.engine import session_scope
from storage.models import ConversationRef, Erasure, Identity, Person, table
from storage.writes import CHUNK

PEOPLE, IDENTITY, REFS, ERASURES = table(Person), table(Identity), table(ConversationRef), table(Erasure)
EMAIL_KINDS = ("email", "cursor", "litellm")  # feeds that key people by their email address
TEAMS_KIND = "teams"


@dataclass(frozen=True)
class Forgotten:
    """What `forget` did: the erasure's id, how many identities it blocks, and rows removed per table."""

    erasure_id: int
    identities: int
    removed: dict[str, int]
    warning: str | None = None

    def lines(self, email: str) -> list[str]:
        rows = ", ".join(f"{name} {count}" for name, count in self.removed.items())
        text = [f"Forgot {email}: removed {rows}.",
                f"Logged as erasure #{self.erasure_id} (hashes of the address and of {self.identities} identities, "
                "no names); a later ingest drops records of those identities."]
        return text + ([f"warning: {self.warning}"] if self.warning else [])


def parse_alias(text: str) -> IdentityRef:
    """`kind:value` as a feed identity (`github:cara-codes`, `api_key:key_123`)."""
    kind, sep, value = text.partition(":")
    if not sep or not kind.strip() or not value.strip():
        raise UsageError(f"--alias {text!r}: expected KIND:VALUE, for example github:cara-codes")
    kind = kind.strip().lower()
    return IdentityRef.of("api_key" if kind == "api_keys" else kind, value)


def requester() -> str:
    """Who runs the command, for the erasure log when nobody is named."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no login name in some containers
        return "cli"


def still_configured(config: OrgConfig, email: str) -> list[str]:
    """Where the config still names this address (people:, or a team's managers:)."""
    email = email.strip().lower()
    places = [f"people[{i}]" for i, p in enumerate(config.people) if p.email == email]
    places += [f"teams[{i}].managers" for i, t in enumerate(config.teams) if email in {m.lower() for m in t.managers}]
    return places


def forget(
    engine: Engine, config: OrgConfig, email: str, aliases: Sequence[IdentityRef] = (),
    requested_by: str | None = None, now: datetime | None = None,
) -> Forgotten:
    """Erase a person (by email, plus any extra feed identities named) and log it; refuses while configured."""
    email = email.strip().lower()
    places = still_configured(config, email)
    if places:
        raise ConfigError(f"{email} is still in the config ({', '.join(places)}): remove them from the config "
                          "first, or the next sync re-creates them; then run forget again")
    with session_scope(engine) as session:
        person_id = session.execute(select(PEOPLE.c.id).where(func.lower(PEOPLE.c.email) == email)).scalar()
        linked = _identities(session, IDENTITY.c.person_id == person_id) if person_id is not None else {}
        found = {**linked, **_identities(session, _theirs(email, aliases))}
        if person_id is None and not found:
            raise UnknownPerson(_nothing_stored(session, email))
        removed = _erase(session, person_id, found)
        digests = _digests(email, aliases, found.values())
        erasure_id = session.execute(ERASURES.insert().values(
            at=now or datetime.now(UTC), subject=subject_digest(email), identities=json.dumps(digests),
            removed=json.dumps(removed), requested_by=requested_by,
        ).returning(ERASURES.c.id)).scalar_one()
    warning = None if linked or aliases else (
        "no feed identity was linked to them any more (their aliases left the config and a sync ran since?): "
        "name the ones you know with --alias KIND:VALUE and run forget again")
    return Forgotten(int(erasure_id), len(digests), removed, warning)


def _theirs(email: str, aliases: Sequence[IdentityRef]) -> ColumnElement[bool]:
    """Identities valued with their address (any kind), or named with --alias."""
    match = [func.lower(IDENTITY.c.value) == email]
    if aliases:
        match.append(tuple_(IDENTITY.c.kind, IDENTITY.c.value).in_([(a.kind, a.value) for a in aliases]))
    return or_(*match)


def _identities(session: Session, where: ColumnElement[bool]) -> dict[int, tuple[str, str]]:
    query = select(IDENTITY.c.id, IDENTITY.c.kind, IDENTITY.c.value).where(where)
    return {int(i): (str(kind), str(value)) for i, kind, value in session.execute(query)}


def _erase(session: Session, person_id: int | None, found: dict[int, tuple[str, str]]) -> dict[str, int]:
    ids = sorted(found)
    removed = {t.name: 0 for t in PER_PERSON}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for t in PER_PERSON:
            removed[t.name] += rowcount(session.execute(delete(t).where(t.c.identity_id.in_(chunk))))
    aad_ids = [value for kind, value in found.values() if kind == TEAMS_KIND]
    removed["conversationref"], removed["conversationref.user"] = _forget_teams_references(session, aad_ids)
    removed["identity"] = sum(
        rowcount(session.execute(delete(IDENTITY).where(IDENTITY.c.id.in_(ids[s : s + CHUNK]))))
        for s in range(0, len(ids), CHUNK)
    )
    removed["person"] = 0 if person_id is None else rowcount(
        session.execute(delete(PEOPLE).where(PEOPLE.c.id == person_id)))
    return removed


def _forget_teams_references(session: Session, aad_ids: list[str]) -> tuple[int, int]:
    """Their Teams references (known by the `teams` alias, the AAD object id): a 1:1 chat's goes; a channel's
    loses its `user` (whoever spoke there last), which posting to the channel does not need."""
    wanted = {a.strip().lower() for a in aad_ids}
    if not wanted:
        return 0, 0
    gone, scrubbed = [], 0
    for ref_id, body in session.execute(select(REFS.c.id, REFS.c.reference)).all():
        reference = _json(body)
        if _aad(reference) not in wanted:
            continue
        if (reference.get("conversation") or {}).get("conversationType") == "personal":
            gone.append(ref_id)
        else:
            reference.pop("user")
            session.execute(update(REFS).where(REFS.c.id == ref_id).values(reference=json.dumps(reference)))
            scrubbed += 1
    if gone:
        session.execute(delete(REFS).where(REFS.c.id.in_(gone)))
    return len(gone), scrubbed


def _json(body: str) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _aad(reference: dict[str, Any]) -> str | None:
    user = reference.get("user")
    aad = user.get("aadObjectId") if isinstance(user, dict) else None
    return aad.strip().lower() if isinstance(aad, str) else None


def _digests(email: str, aliases: Iterable[IdentityRef], found: Iterable[tuple[str, str]]) -> list[str]:
    """Every identity to block: those erased, those named, and the address under each email-keyed kind."""
    refs = {*((kind, email) for kind in EMAIL_KINDS), *((a.kind, a.value) for a in aliases), *found}
    return sorted({identity_digest(kind, value) for kind, value in refs})


def _nothing_stored(session: Session, email: str) -> str:
    at = session.execute(
        select(func.max(ERASURES.c.at)).where(ERASURES.c.subject == subject_digest(email))
    ).scalar()
    already = f"; already forgotten on {at:%Y-%m-%d}" if at is not None else ""
    return f"nothing is stored about {email}{already}"
