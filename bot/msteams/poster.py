"""Posting the weekly digest to a Teams channel proactively, through the stored conversation reference."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote

from microsoft_agents.activity import Activity, ActivityTypes, ConversationReference
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import CardFactory, ClaimsIdentity, Connections, TurnContext

from bot.digest.admin import AdminDigest
from bot.digest.build import Digest
from bot.digest.charts import charts_for
from bot.digest.ledger import Posted, PostError
from bot.msteams.auth import connections
from bot.msteams.cards import admin_card, digest_card, digest_fallback
from bot.msteams.charts import ChartStore, chart_url
from bot.msteams.references import reference_for_channel
from bot.runtime import Runtime

log = logging.getLogger("tokenworth.teams")


class TeamsPoster:
    platform = "teams"

    def __init__(self, runtime: Runtime, manager: Connections, charts: ChartStore | None = None):
        self.runtime = runtime
        self.manager = manager
        self.charts = charts or ChartStore(runtime.engine)

    def post(self, channel: str, digest: Digest) -> Posted:
        """Called from the scheduler's thread (or the CLI): runs the SDK's proactive send on its own loop."""
        reference = self._reference(channel)
        card = digest_card(digest, self._chart_links(digest))
        return self._card(reference, channel, card, digest_fallback(digest))

    def post_admin(self, channel: str, admin: AdminDigest) -> Posted:
        card = admin_card(admin)
        return self._card(self._reference(channel), channel, card, str(card["fallbackText"]))

    def _reference(self, channel: str) -> ConversationReference:
        reference = reference_for_channel(self.runtime.engine, channel)
        if reference is None:
            raise PostError(
                f"tokenworth has not been added to the team of Teams channel {channel} yet: upload the app "
                f"package (`tokenworth teams package`) and add it to that team; the digest stays pending and is retried"
            )
        return reference

    def _card(self, reference: ConversationReference, channel: str, card: dict[str, object], summary: str) -> Posted:
        activity = Activity(type=ActivityTypes.message, summary=summary,
                            attachments=[CardFactory.adaptive_card(card)])
        try:
            message_id = asyncio.run(self._send(reference, activity))
        except Exception as exc:  # noqa: BLE001 - every connector failure leaves the digest pending
            raise PostError(f"Teams refused the digest for {channel}: {_reason(exc)}") from None
        return Posted(channel, message_id, _permalink(channel, message_id))

    def _chart_links(self, digest: Digest) -> list[tuple[str, str]]:
        public_url = self.runtime.settings.public_url
        charts = charts_for(digest)
        if not public_url:
            if charts:
                log.warning("PUBLIC_URL is not set: the Teams digest for %s goes out without its charts", digest.team)
            return []
        return [(title, chart_url(public_url, self.charts.put(png))) for _name, title, png in charts]

    async def _send(self, reference: ConversationReference, activity: Activity) -> str:
        adapter = CloudAdapter(connection_manager=self.manager)
        adapter.on_turn_error = None  # raise to post(); never post the error text to the channel
        sent: list[str] = []

        async def send(context: TurnContext) -> None:
            response = await context.send_activity(activity)
            sent.append(response.id if response and response.id else "")

        app_id = self.runtime.settings.microsoft_app_id
        continuation = reference.get_continuation_activity()
        if app_id:
            await adapter.continue_conversation(app_id, continuation, send)
        else:  # anonymous local testing: no token on outgoing calls
            await adapter.continue_conversation_with_claims(ClaimsIdentity(), continuation, send)
        if not sent:
            raise RuntimeError("the Bot Connector accepted nothing")
        return sent[0]


def teams_poster(runtime: Runtime) -> TeamsPoster | None:
    """The poster `tokenworth serve` schedules, when Teams is configured at all."""
    settings = runtime.settings
    if not settings.microsoft_app_id and not settings.teams_anonymous:
        return None
    return TeamsPoster(runtime, connections(settings))


def _permalink(channel: str, message_id: str) -> str | None:
    if not message_id:
        return None
    return f"https://teams.microsoft.com/l/message/{quote(channel, safe='')}/{quote(message_id, safe='')}"


def _reason(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    return f"HTTP {status}" if status else f"{type(exc).__name__}: {exc}"
