"""What the bot needs from the environment on each platform, checked before anything touches a database or network.

Invariant: `serve` and `doctor` read the same lists, so a setting `doctor` passes never stops `serve`, and
every problem names its variable and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.settings import Settings

SLACK_TOKEN_FIX = "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page"


@dataclass(frozen=True)
class Need:
    """A setting missing for a purpose: the variable, what it stops, and how to set it."""

    variable: str
    problem: str
    fix: str

    def message(self) -> str:
        return f"{self.variable} {self.problem}: {self.fix}"


def slack_needs(settings: Settings, mode: str | None = None) -> list[Need]:
    """Posting needs the bot token; receiving commands needs Socket Mode's app token or HTTP's signing secret."""
    needs = [] if settings.slack_bot_token else [Need("SLACK_BOT_TOKEN", "is not set", SLACK_TOKEN_FIX)]
    app_token_fix = "create an app-level token with connections:write (xapp-...) for Socket Mode"
    secret_where = "copy the Signing Secret from the app's Basic Information page"
    secret_fix = f"{secret_where}: HTTP mode must verify that requests come from Slack"
    if mode == "socket" and settings.slack_app_token is None:
        needs.append(Need("SLACK_APP_TOKEN", "is not set", app_token_fix))
    if mode == "http" and settings.slack_signing_secret is None:
        needs.append(Need("SLACK_SIGNING_SECRET", "is not set", secret_fix))
    if mode is None and settings.slack_app_token is None and settings.slack_signing_secret is None:
        needs.append(Need("SLACK_APP_TOKEN", "and SLACK_SIGNING_SECRET are not set, so no command can reach the bot",
                          f"{app_token_fix} (`serve --socket`), or {secret_where} into SLACK_SIGNING_SECRET "
                          "(`serve --http`)"))
    return needs


def teams_needs(settings: Settings) -> list[Need]:
    if settings.microsoft_app_id is None:
        if settings.teams_anonymous:
            return []
        return [Need("MICROSOFT_APP_ID", "is not set",
                     "set it to the Azure Bot's Microsoft Entra application (client) id")]
    if settings.microsoft_app_password is None:
        return [Need("MICROSOFT_APP_PASSWORD", "is not set",
                     "create a client secret for the Entra app and set it here: replies and digests need it")]
    return []


def serve_needs(settings: Settings, mode: str) -> list[Need]:
    """Everything `serve` in this mode needs, from the settings alone (no file, database or network read)."""
    if mode == "teams":
        return teams_needs(settings)
    if mode == "http" and settings.slack_bot_token is None:
        if settings.github_webhook_secret is not None:
            return []  # GitHub webhooks only: /slack/events is not served
        return [Need("SLACK_BOT_TOKEN", "and GITHUB_WEBHOOK_SECRET are not set",
                     "serve --http has nothing to serve: " + SLACK_TOKEN_FIX
                     + " (and SLACK_SIGNING_SECRET), or set the GitHub webhook secret")]
    return slack_needs(settings, mode)
