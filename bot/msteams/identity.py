"""Who is asking: a Teams user becomes a person through a `teams` alias (AAD object id) or their email/UPN."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from microsoft_agents.activity import ChannelAccount
from microsoft_agents.hosting.core import ConnectorClientBase, TurnContext
from sqlalchemy import Engine, func, select

from bot.reads.queries import person_by_email
from storage.engine import session_scope
from storage.models import Identity, Person, table

log = logging.getLogger("tokenworth.teams")
ALIAS_KIND = "teams"
PEOPLE = table(Person)
IDENTITIES = table(Identity)


@dataclass(frozen=True)
class TeamsUser:
    aad_object_id: str | None
    email: str | None  # email or user principal name, when Teams told us


def person_email(engine: Engine, user: TeamsUser) -> str | None:
    """The directory email of the asker, or None when neither their AAD id nor their email is known."""
    with session_scope(engine) as session:
        if user.aad_object_id:
            email = session.execute(
                select(PEOPLE.c.email).join(IDENTITIES, IDENTITIES.c.person_id == PEOPLE.c.id)
                .where(IDENTITIES.c.kind == ALIAS_KIND,
                       func.lower(IDENTITIES.c.value) == user.aad_object_id.strip().lower())
            ).scalar_one_or_none()
            if email is not None:
                return str(email)
        if user.email:
            person = person_by_email(session, user.email)
            if person is not None:
                return person.email
    return None


async def teams_user(context: TurnContext) -> TeamsUser:
    """The asker's AAD object id from the activity, and their email or UPN from the Teams roster."""
    sender = context.activity.from_property or ChannelAccount()
    return TeamsUser(sender.aad_object_id, _email_of(sender) or await _roster_email(context, sender))


def _email_of(account: ChannelAccount) -> str | None:
    extra = account.properties or {}
    for key in ("email", "userPrincipalName"):
        value = extra.get(key)
        if isinstance(value, str) and "@" in value:
            return value
    return None


async def _roster_email(context: TurnContext, sender: ChannelAccount) -> str | None:
    """Teams activities carry no email: ask the Bot Connector for this member's profile."""
    client = connector(context)
    conversation = context.activity.conversation
    if client is None or conversation is None or not sender.id:
        return None
    try:
        member = await client.conversations.get_conversation_member(conversation.id, sender.id)
    except Exception as exc:  # noqa: BLE001 - any connector failure only means "email unknown"
        log.warning("could not read the Teams profile of %s: %s", sender.id, type(exc).__name__)
        return None
    return _email_of(member)


def connector(context: TurnContext) -> ConnectorClientBase | None:
    """The turn's Bot Connector client (absent in the SDK's TestAdapter)."""
    client = context.services.get(ConnectorClientBase)  # type: ignore[type-abstract]
    return client if isinstance(client, ConnectorClientBase) else None
