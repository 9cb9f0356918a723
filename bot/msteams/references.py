"""Teams conversation references, kept in the database so a restarted bot can still post proactively."""

from __future__ import annotations

from datetime import UTC, datetime

from microsoft_agents.activity import Activity, ConversationReference
from sqlalchemy import Engine, select, update

from storage.dialect import insert
from storage.engine import session_scope
from storage.models import ConversationRef, table

PLATFORM = "teams"
TABLE = table(ConversationRef)


def conversation_key(conversation_id: str) -> str:
    """A channel's id without the `;messageid=...` suffix Teams adds to a thread's conversation id."""
    return conversation_id.split(";", 1)[0]


def save_reference(engine: Engine, activity: Activity, now: datetime | None = None) -> str:
    """Store (or refresh) where this activity happened; returns the key it is stored under."""
    reference = activity.get_conversation_reference()
    key = conversation_key(reference.conversation.id)
    reference.conversation.id = key
    reference.activity_id = None  # post new messages, never replies to the install event
    body = reference.model_dump_json(by_alias=True, exclude_none=True)
    now = now or datetime.now(UTC)
    with session_scope(engine) as session:
        inserted = session.execute(
            insert(session, TABLE)
            .values(platform=PLATFORM, channel_id=key, reference=body, updated_at=now)
            .on_conflict_do_nothing()
        )
        if inserted.rowcount != 1:  # type: ignore[attr-defined]
            session.execute(
                update(TABLE).where(TABLE.c.platform == PLATFORM, TABLE.c.channel_id == key)
                .values(reference=body, updated_at=now)
            )
    return key


def load_reference(engine: Engine, channel_id: str) -> ConversationReference | None:
    with session_scope(engine) as session:
        body = session.execute(
            select(TABLE.c.reference)
            .where(TABLE.c.platform == PLATFORM, TABLE.c.channel_id == conversation_key(channel_id))
        ).scalar_one_or_none()
    return None if body is None else ConversationReference.model_validate_json(body)


def reference_for_channel(engine: Engine, channel_id: str) -> ConversationReference | None:
    """The channel's own reference; else the latest channel reference of the bot's teams, aimed at it.

    Installing the bot in a team captures only the team's General channel; Teams accepts a post to any
    other channel of that team through the same service URL and bot account.
    """
    exact = load_reference(engine, channel_id)
    if exact is not None:
        return exact
    with session_scope(engine) as session:
        bodies = session.execute(
            select(TABLE.c.reference).where(TABLE.c.platform == PLATFORM).order_by(TABLE.c.updated_at.desc())
        ).scalars().all()
    for body in bodies:
        reference = ConversationReference.model_validate_json(body)
        if reference.conversation.conversation_type == "channel":
            reference.conversation.id = conversation_key(channel_id)
            return reference
    return None
