"""Posting a digest to a Slack channel: summary message, details in its thread, charts uploaded there."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.digest.admin import AdminDigest
from bot.digest.build import Digest
from bot.digest.charts import charts_for
from bot.digest.ledger import Posted, PostError
from bot.slack.blocks import admin_blocks, admin_fallback, detail_blocks, fallback_text, summary_blocks

INVITE_ERRORS = ("not_in_channel", "channel_not_found", "is_archived")


class SlackPoster:
    platform = "slack"

    def __init__(self, client: WebClient):
        self.client = client

    def post(self, channel: str, digest: Digest) -> Posted:
        try:
            main = self.client.chat_postMessage(
                channel=channel, text=fallback_text(digest), blocks=summary_blocks(digest), unfurl_links=False,
            )
        except SlackApiError as exc:
            raise PostError(_explain(exc, channel)) from None
        except SlackClientError as exc:
            raise PostError(f"could not reach Slack: {exc}") from None
        posted = Posted(str(main["channel"]), str(main["ts"]), None)
        try:
            self._thread(posted, digest)
            link = self.client.chat_getPermalink(channel=posted.channel, message_ts=posted.message_id)
            return Posted(posted.channel, posted.message_id, link.get("permalink"))
        except (SlackApiError, SlackClientError) as exc:
            # The summary is out: never post it again; report what is missing.
            raise PostError(
                f"digest posted, but its thread or charts failed: {exc}", retryable=False, posted=posted
            ) from None

    def post_admin(self, channel: str, admin: AdminDigest) -> Posted:
        """The admin digest: one message, no thread, no charts."""
        try:
            sent = self.client.chat_postMessage(channel=channel, text=admin_fallback(admin), blocks=admin_blocks(admin),
                                                unfurl_links=False)
        except SlackApiError as exc:
            raise PostError(_explain(exc, channel)) from None
        except SlackClientError as exc:
            raise PostError(f"could not reach Slack: {exc}") from None
        posted = Posted(str(sent["channel"]), str(sent["ts"]), None)
        try:  # the message is out: a missing link never posts it again
            link = self.client.chat_getPermalink(channel=posted.channel, message_ts=posted.message_id)
        except (SlackApiError, SlackClientError):
            return posted
        return Posted(posted.channel, posted.message_id, link.get("permalink"))

    def _thread(self, posted: Posted, digest: Digest) -> None:
        details = detail_blocks(digest)
        if details:
            self.client.chat_postMessage(
                channel=posted.channel, thread_ts=posted.message_id, blocks=details,
                text=f"Details for {digest.team}, {digest.week}",
            )
        uploads = [{"content": png, "filename": name, "title": title} for name, title, png in charts_for(digest)]
        if uploads:
            self.client.files_upload_v2(channel=posted.channel, thread_ts=posted.message_id, file_uploads=uploads)


def _explain(exc: SlackApiError, channel: str) -> str:
    error = exc.response.get("error", "unknown_error")
    if error in INVITE_ERRORS:
        return (f"Slack says {error} for {channel}: invite the bot to that channel (/invite @tokenworth) "
                f"or fix slack_channel in the config; the digest stays pending and is retried")
    if error == "ratelimited":
        return "Slack rate-limited the bot (429) beyond its retries; the digest stays pending and is retried"
    return f"Slack refused the digest: {error}"
