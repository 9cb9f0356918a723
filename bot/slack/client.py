"""The Slack Web API client: slack_sdk's WebClient, honouring Retry-After on 429."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.config.settings import Settings
from bot.errors import SettingsError

SLACK_API = "https://slack.com/api/"


def web_client(settings: Settings) -> WebClient:
    if settings.slack_bot_token is None:
        raise SettingsError("SLACK_BOT_TOKEN is not set: the bot needs its xoxb- token to post")
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url or SLACK_API,
        timeout=30,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=2), RateLimitErrorRetryHandler(max_retry_count=3)],
    )
