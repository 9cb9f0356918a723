"""The Teams agent: commands as messages answered with Adaptive Cards, and conversation references kept.

A thin adapter (Microsoft 365 Agents SDK AgentApplication): it resolves the asker, calls the same
`bot.answers.commands.answer` Slack calls, and renders the typed answer as a card (bot.msteams.cards).
Invariants: personal answers are never posted in a channel or group chat: they go to a 1:1 chat with the
asker. With MICROSOFT_APP_TENANT_ID set, an activity from any other tenant (or naming none) is ignored
before any handler runs: no answer, no roster lookup, no conversation reference stored.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from microsoft_agents.activity import (
    Activity,
    ActivityTypes,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
)
from microsoft_agents.hosting.core import (
    AgentApplication,
    ApplicationOptions,
    CardFactory,
    Connections,
    ConnectorClientBase,
    MemoryStorage,
    TurnContext,
    TurnState,
)

from bot.answers.commands import answer
from bot.answers.text import plain
from bot.answers.types import Answer, Code, HelpAnswer, Line, TrendAnswer, UsageProblem
from bot.msteams.cards import adaptive_card, answer_card, markdown
from bot.msteams.charts import ChartStore, chart_url
from bot.msteams.identity import TeamsUser, connector, person_email, teams_user
from bot.msteams.references import save_reference
from bot.runtime import Runtime

log = logging.getLogger("tokenworth.teams")
PREFIX = "@tokenworth"
PUBLIC = (HelpAnswer, UsageProblem)  # answers that say nothing about anybody
SHARED_SCOPES = ("channel", "groupChat")
Clock = Callable[[], datetime]


class TokenworthAgent:
    """Everything a turn needs; `application()` wires it into an AgentApplication."""

    def __init__(self, runtime: Runtime, charts: ChartStore, clock: Clock | None = None):
        self.runtime = runtime
        self.charts = charts
        self.clock = clock or (lambda: datetime.now(UTC))

    def application(self, connections: Connections) -> AgentApplication[TurnState]:
        options = ApplicationOptions(
            storage=MemoryStorage(), bot_app_id=self.runtime.settings.microsoft_app_id or "",
            start_typing_timer=False, remove_recipient_mention=True,
        )
        app: AgentApplication[TurnState] = AgentApplication(options, connection_manager=connections)
        app.before_turn(self.from_our_tenant)
        app.activity(ActivityTypes.message)(self.on_message)
        app.activity(ActivityTypes.conversation_update)(self.on_conversation_update)
        app.activity(ActivityTypes.installation_update)(self.on_installation_update)
        app.error(self.on_error)
        return app

    async def from_our_tenant(self, context: TurnContext, _state: TurnState) -> bool:
        """True when the activity may be handled: no tenant is configured, or every tenant it names is ours."""
        ours = (self.runtime.settings.microsoft_app_tenant_id or "").strip().lower()
        if not ours:
            return True
        named = _tenants(context.activity)
        if named and all(tenant.strip().lower() == ours for tenant in named):
            return True
        log.info("ignored a Teams %s from tenant %s: this bot serves one tenant only",
                 context.activity.type, ", ".join(named) or "(none)")
        return False

    async def on_message(self, context: TurnContext, _state: TurnState) -> None:
        activity = context.activity
        if _scope(activity) == "channel":
            await asyncio.to_thread(save_reference, self.runtime.engine, activity, self.clock())
        user = await teams_user(context)
        reply = await asyncio.to_thread(self.reply_for, user, _command_text(activity.text or ""))
        if isinstance(reply, PUBLIC) or _scope(activity) not in SHARED_SCOPES:
            await context.send_activity(_card_activity(self.card_for(reply)))
            return
        await self._answer_privately(context, reply)

    def reply_for(self, user: TeamsUser, text: str) -> Answer:
        email = person_email(self.runtime.engine, user) or self._manager_email(user)
        return answer(self.runtime, email, text, now=self.clock(), prefix=PREFIX)

    def _manager_email(self, user: TeamsUser) -> str | None:
        """A configured manager who is not in `people:` is still known by the email Teams gives: for `team`."""
        email = (user.email or "").strip().lower()
        managers = {m.strip().lower() for team in self.runtime.config.teams for m in team.managers}
        return email if email and email in managers else None

    def card_for(self, reply: Answer) -> dict[str, Any]:
        return answer_card(reply, self._trend_chart(reply))

    def _trend_chart(self, reply: Answer) -> str | None:
        public_url = self.runtime.settings.public_url
        if not isinstance(reply, TrendAnswer) or not reply.weeks or not public_url:
            return None
        from bot.digest.charts import person_trend_png

        return chart_url(public_url, self.charts.put(person_trend_png(reply.weeks)))

    async def _answer_privately(self, context: TurnContext, reply: Answer) -> None:
        """In a channel or group chat, the answer goes to a 1:1 chat; the channel only hears where it went."""
        activity = context.activity
        client = connector(context)
        sent = client is not None and await _send_one_to_one(client, activity, _card_activity(self.card_for(reply)))
        note: Line = ("I sent you the answer in a private chat with tokenworth.",) if sent else (
            "Your own numbers are only for you: open a chat with tokenworth and say ",
            Code(_short(activity.text or "")), " there.",
        )
        await context.send_activity(_card_activity(adaptive_card([_plain(markdown(note))], plain(note))))

    async def on_conversation_update(self, context: TurnContext, _state: TurnState) -> None:
        activity = context.activity
        bot_id = activity.recipient.id if activity.recipient else None
        if any(member.id == bot_id for member in activity.members_added or []):
            key = await asyncio.to_thread(save_reference, self.runtime.engine, activity, self.clock())
            log.info("tokenworth added to Teams conversation %s: reference stored", key)

    async def on_installation_update(self, context: TurnContext, _state: TurnState) -> None:
        if (context.activity.action or "").startswith("add"):
            key = await asyncio.to_thread(save_reference, self.runtime.engine, context.activity, self.clock())
            log.info("tokenworth installed in Teams conversation %s: reference stored", key)

    async def on_error(self, context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed: %s", error, exc_info=error)
        note = "Something went wrong on my side; please try again in a minute."
        await context.send_activity(_card_activity(adaptive_card([_plain(note)], note)))


async def _send_one_to_one(client: ConnectorClientBase, activity: Activity, reply: Activity) -> bool:
    tenant = activity.conversation.tenant_id if activity.conversation else None
    bot, user = activity.recipient or ChannelAccount(), activity.from_property or ChannelAccount()
    params = ConversationParameters(
        is_group=False, bot=bot, members=[user],
        channel_data={"tenant": {"id": tenant}} if tenant else None,
    )
    if tenant:
        params.tenant_id = tenant
    try:
        created = await client.conversations.create_conversation(params)
        reply.conversation = ConversationAccount(id=created.id, tenant_id=tenant)
        reply.from_property, reply.recipient = bot, user
        reply.channel_id, reply.service_url = activity.channel_id, activity.service_url
        await client.conversations.send_to_conversation(created.id, reply)
    except Exception as exc:  # noqa: BLE001 - any failure means: answer in the channel that it couldn't
        log.warning("could not open a 1:1 chat with %s: %s", user.id, type(exc).__name__)
        return False
    return True


def _tenants(activity: Activity) -> list[str]:
    """Every tenant id the activity names: the conversation's, and Teams' channelData.tenant.id."""
    named = [activity.conversation.tenant_id] if activity.conversation and activity.conversation.tenant_id else []
    data = activity.channel_data
    tenant = (data.get("tenant") if isinstance(data, dict) else getattr(data, "tenant", None)) or {}
    tenant_id = tenant.get("id") if isinstance(tenant, dict) else getattr(tenant, "id", None)
    return named + ([str(tenant_id)] if tenant_id else [])


def _card_activity(card: dict[str, Any]) -> Activity:
    return Activity(type=ActivityTypes.message, attachments=[CardFactory.adaptive_card(card)])


def _plain(text: str) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True}


def _scope(activity: Activity) -> str:
    conversation = activity.conversation
    return (conversation.conversation_type if conversation else None) or "personal"


def _command_text(text: str) -> str:
    """Whatever mention markup Teams left in the text is never an argument."""
    return re.sub(r"<at>.*?</at>|<[^>]+>|&nbsp;", " ", text).strip()


def _short(text: str) -> str:
    return " ".join(_command_text(text).split()[:3])[:40] or "help"
