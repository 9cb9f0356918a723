"""The directory: teams, people and their identities, kept in step with the org config."""

from __future__ import annotations

from sqlalchemy import Engine, update
from sqlmodel import Session, select

from bot.config.org import OrgConfig, PersonConfig, identities_of
from bot.ingest.feeds.base import IdentityRef
from bot.runtime import Runtime
from storage.engine import session_scope
from storage.migrate import upgrade
from storage.models import Identity, Person, Team, table
from storage.writes import identity_ids

EMAIL_KEYED = ("cursor", "litellm")


def prepare(runtime: Runtime) -> None:
    """The explicit write point before work that writes: migrate the schema, then sync the directory."""
    upgrade(runtime.database)
    sync_directory(runtime.engine, runtime.config)


def sync_directory(engine: Engine, config: OrgConfig) -> None:
    """Upsert teams and people; point each configured alias at its person.

    Usage rows reference identities, not people, so adding an alias later re-attributes past
    usage without re-ingesting anything.
    """
    with session_scope(engine) as session:
        _sync_teams(session, config)
        person_ids = _sync_people(session, config)
        claimed: dict[int, int] = {}
        for refs, person in _claims(config):
            ids = identity_ids(session, [(r.kind, r.value) for r in refs])
            for identity_id in ids.values():
                claimed.setdefault(identity_id, person_ids[person.email])
        _point_identities(session, claimed)


def _claims(config: OrgConfig) -> list[tuple[list[IdentityRef], PersonConfig]]:
    """Explicit aliases first; then each person's email also stands for their identity in feeds
    keyed by email (Cursor, LiteLLM) unless somebody claims that value explicitly."""
    explicit = [([IdentityRef.of(k, v) for k, v in identities_of(p)], p) for p in config.people]
    implicit = [([IdentityRef.of(kind, p.email) for kind in EMAIL_KEYED], p) for p in config.people]
    return explicit + implicit


def _sync_teams(session: Session, config: OrgConfig) -> None:
    existing = {t.name: t for t in session.exec(select(Team)).all()}
    for team in config.teams:
        row = existing.get(team.name) or Team(name=team.name)
        row.slack_channel, row.teams_channel, row.timezone = team.slack_channel, team.teams_channel, team.timezone
        session.add(row)


def _sync_people(session: Session, config: OrgConfig) -> dict[str, int]:
    existing = {p.email: p for p in session.exec(select(Person)).all()}
    rows = []
    for person in config.people:
        row = existing.get(person.email) or Person(email=person.email)
        row.name, row.team = person.name, person.team
        session.add(row)
        rows.append(row)
    session.flush()
    return {row.email: row.id for row in rows if row.id is not None}


def _point_identities(session: Session, claimed: dict[int, int]) -> None:
    identities = table(Identity)
    for identity_id, person_id in claimed.items():
        session.execute(
            update(identities).where(identities.c.id == identity_id).values(person_id=person_id, linked_via=None)
        )
    stale = update(identities).where(identities.c.person_id.is_not(None), identities.c.linked_via.is_(None))
    if claimed:
        stale = stale.where(identities.c.id.not_in(list(claimed)))
    session.execute(stale.values(person_id=None))
