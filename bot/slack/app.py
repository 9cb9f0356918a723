"""The Bolt app: /tokenworth and App Home. Thin: resolve the asker, call the core, render.

Slack wants an answer within 3 seconds, so every listener acks first and does the database and
chart work after; Bolt runs the rest in its thread pool and the reply goes to response_url.
Invariant: each event is one call to the core (one read of the asker's figures), rendered here.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from bot.answers.types import Answer, TrendAnswer
from bot.digest.charts import person_trend_png
from bot.runtime import Runtime
from bot.slack.identity import email_for_user
from bot.slack.render import answer_blocks, answer_text, home_blocks
from bot.slack.workers import AnswerPool, ask, ask_home

log = logging.getLogger("tokenworth.slack")
# Bolt's INFO lines include request bodies (a rejected request's whole body, token and response_url):
# its loggers take this one's level when the app is built, whatever the root logger's level is.
BOLT_LOG = logging.getLogger("tokenworth.slack.bolt")
BOLT_LOG.setLevel(logging.WARNING)
LISTENER_THREADS = 64
HOME_BLOCKS = 100
NO_CHART = "The chart could not be attached this time (Slack did not accept the upload); the numbers are above."
SORRY = "Sorry, something went wrong on our side. It has been logged; please try again in a minute."


def build_app(
    runtime: Runtime, client: WebClient, signing_secret: str | None, workers: AnswerPool | None = None
) -> App:
    """The Bolt app; with `workers` (see bot.slack.workers) answers are computed in other processes."""
    app = App(
        client=client, signing_secret=signing_secret, process_before_response=False, logger=BOLT_LOG,
        token_verification_enabled=False, request_verification_enabled=signing_secret is not None,
        # Listeners mostly wait (on Slack, or on a worker process); plenty of threads keep acks immediate.
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="tokenworth-listener"),
    )

    @app.command("/tokenworth")
    def on_command(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        try:
            reply = _answer(runtime, client, command, workers)
            text, blocks = answer_text(reply), answer_blocks(reply)
            charted = not isinstance(reply, TrendAnswer) or not reply.weeks or _send_trend_chart(
                client, command["user_id"], reply)
            if not charted:
                text, blocks = f"{text}\n{NO_CHART}", [*blocks[:49], _note(NO_CHART)]
            respond(response_type="ephemeral", replace_original=False, text=text[:3000], blocks=blocks)
        except Exception:  # noqa: BLE001 - the person gets a reply whatever happened; the log gets the details
            log.exception("/tokenworth %r failed", command.get("text"))
            respond(response_type="ephemeral", text=SORRY)

    @app.event("app_home_opened")
    def on_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event["user"]
        email = email_for_user(runtime, client, user)
        blocks = home_blocks(ask_home(workers, runtime, email))  # one call: one read of the asker's weeks
        client.views_publish(user_id=user, view={"type": "home", "blocks": blocks[:HOME_BLOCKS]})

    return app


def _answer(runtime: Runtime, client: WebClient, command: dict[str, Any], workers: AnswerPool | None) -> Answer:
    email = email_for_user(runtime, client, command["user_id"])
    return ask(workers, runtime, email, command.get("text") or "")


def _send_trend_chart(client: WebClient, user_id: str, reply: TrendAnswer) -> bool:
    """The chart goes to the asker's DM with the bot: ephemeral messages cannot carry files.

    False when Slack refused or could not be reached: the numbers are answered anyway, with a note.
    """
    try:
        channel = client.conversations_open(users=user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=channel, content=person_trend_png(reply.weeks), filename="tokenworth-trend.png",
            title=f"Your last {len(reply.weeks)} weeks: spend and outcome points",
            initial_comment=answer_text(reply)[:3000],
        )
    except (SlackClientError, OSError):
        log.warning("the trend chart for %s could not be uploaded", user_id, exc_info=True)
        return False
    return True


def _note(text: str) -> dict[str, Any]:
    block = ContextBlock(elements=[MarkdownTextObject(text=text)])
    block.validate_json()
    return block.to_dict()
