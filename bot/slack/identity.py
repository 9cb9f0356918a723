"""Who is asking: a Slack user id resolved to a person's email, cached on the person."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import update
from sqlmodel import col, select

from bot.runtime import Runtime
from storage.engine import session_scope
from storage.models import Identity, Person

log = logging.getLogger("tokenworth.slack")


def email_for_user(runtime: Runtime, client: WebClient, user_id: str) -> str | None:
    """The asker's email: from the cache, a `slack` alias, or Slack's profile (then cached)."""
    with session_scope(runtime.engine) as session:
        cached = session.exec(select(Person.email).where(col(Person.slack_user_id) == user_id)).first()
        if cached:
            return cached
        aliased = session.exec(
            select(Person.email).join(Identity, col(Identity.person_id) == col(Person.id))
            .where(col(Identity.kind) == "slack", col(Identity.value) == user_id)
        ).first()
        if aliased:
            return aliased
    try:
        profile = client.users_info(user=user_id)["user"]["profile"]
    except (SlackApiError, SlackClientError, KeyError, TypeError) as exc:
        log.warning("could not look up Slack user %s: %s", user_id, exc)
        return None
    email = str(profile.get("email") or "").lower() or None
    if email:
        _remember(runtime, email, user_id)
    return email


def link_people(runtime: Runtime, client: WebClient) -> int:
    """Refresh the cache with users.lookupByEmail for everyone not linked yet; returns how many linked."""
    linked = 0
    for person in runtime.config.people:
        try:
            user = client.users_lookupByEmail(email=person.email)["user"]
        except SlackApiError:
            continue  # not in this workspace
        except (SlackClientError, OSError) as exc:
            log.warning("Slack unreachable while linking people: %s", exc)
            break
        _remember(runtime, person.email, str(user["id"]))
        linked += 1
    return linked


def _remember(runtime: Runtime, email: str, user_id: str) -> None:
    with session_scope(runtime.engine) as session:
        session.execute(update(Person).where(col(Person.email) == email).values(slack_user_id=user_id))
