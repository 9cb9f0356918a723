"""The doctor's chat-platform checks: can the bot post each team's digest on Slack and on Teams?

Invariant: read-only calls only (`auth.test`, `users.conversations`; stored Teams references), never
a post, and a platform no team uses is one ok line, not a list of failures.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.serve.doctor import Check, Setup
from bot.serve.needs import slack_needs, teams_needs
from bot.slack.client import SLACK_API

# The bot scopes manifest.yml asks for; tests/test_doctor.py keeps the two in step.
REQUIRED_SCOPES = ("commands", "chat:write", "files:write", "im:write", "users:read", "users:read.email")
CHANNEL_SCOPES = ("channels:read", "groups:read")  # only for seeing which channels the bot is in
MAX_PAGES = 50


def slack_checks(setup: Setup) -> list[Check]:
    teams = _slack_channels(setup)
    if not teams and setup.settings.slack_bot_token is None:
        return [Check("slack", "ok", "not used: no team has a slack_channel and SLACK_BOT_TOKEN is not set")]
    checks = [Check("slack settings", "fail", f"{n.variable} {n.problem}", n.fix) for n in slack_needs(setup.settings)]
    if setup.settings.slack_bot_token is None:
        return checks
    client = WebClient(token=setup.settings.slack_bot_token.get_secret_value(),
                       base_url=setup.settings.slack_api_url or SLACK_API, timeout=10)
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        return [*checks, Check("slack auth", "fail", f"auth.test refused the bot token ({exc.response.get('error')})",
                               "reinstall the app to the workspace and copy the new xoxb- token into SLACK_BOT_TOKEN")]
    except (SlackClientError, OSError) as exc:
        return [*checks, Check("slack auth", "fail", f"the Slack API does not answer ({type(exc).__name__})",
                               "check the network, and SLACK_API_URL if it is set")]
    checks.append(Check("slack auth", "ok", f"bot {auth.get('user')} in workspace {auth.get('team')}"))
    granted = _scopes(auth.headers)
    checks.append(_scope_check(granted))
    if teams and granted is not None and set(CHANNEL_SCOPES) <= granted:
        checks += _channel_checks(client, teams)
    elif teams:
        checks.append(Check("slack channels", "warn", "cannot see which channels the bot is in without "
                                                      f"{' and '.join(CHANNEL_SCOPES)}",
                            f"add {', '.join(CHANNEL_SCOPES)} to the app's bot scopes and reinstall it, or make "
                            "sure each digest channel has the bot (/invite @tokenworth)"))
    return checks


def _scopes(headers: dict[str, Any]) -> set[str] | None:
    """The scopes the token was granted, from the `x-oauth-scopes` header Slack sends with every response."""
    for name, value in headers.items():
        if name.lower() == "x-oauth-scopes":
            raw = value[0] if isinstance(value, list) else value
            return {scope.strip() for scope in str(raw).split(",") if scope.strip()}
    return None


def _scope_check(granted: set[str] | None) -> Check:
    if granted is None:
        return Check("slack scopes", "warn", "Slack did not say which scopes the token has",
                     f"check under OAuth & Permissions that the bot has {', '.join(REQUIRED_SCOPES)}")
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    if missing:
        return Check("slack scopes", "fail", f"the bot token lacks {', '.join(missing)}",
                     "add them under OAuth & Permissions (manifest.yml lists them all) and reinstall the app")
    return Check("slack scopes", "ok", f"{', '.join(REQUIRED_SCOPES)} granted")


def _slack_channels(setup: Setup) -> list[tuple[str, str]]:
    """(whose digest, channel) for every Slack channel a digest goes to, the admin digest's included."""
    if setup.config is None:
        return []
    wanted = [(t.name, str(t.slack_channel)) for t in setup.config.teams if t.slack_channel]
    admin = setup.config.admin_channel
    return wanted + ([("admin digest", admin.slack_channel)] if admin and admin.slack_channel else [])


def _channel_checks(client: WebClient, wanted: list[tuple[str, str]]) -> list[Check]:
    try:
        ids, names = _member_channels(client)
    except SlackApiError as exc:
        return [Check("slack channels", "warn", f"users.conversations failed ({exc.response.get('error')})",
                      "make sure each digest channel has the bot (/invite @tokenworth)")]
    checks = []
    for team, channel in wanted:
        if channel in ids or channel.lstrip("#") in names:
            checks.append(Check(f"slack channel {team}", "ok", f"the bot is in {channel}"))
        else:
            checks.append(Check(f"slack channel {team}", "fail",
                                f"the bot is not in {channel} (or there is no such channel): "
                                f"{team}'s digest stays pending",
                                f"type /invite @tokenworth in {channel} (or correct slack_channel in the config)"))
    return checks


def _member_channels(client: WebClient) -> tuple[set[str], set[str]]:
    """The ids and names of the channels the bot is a member of."""
    ids: set[str] = set()
    names: set[str] = set()
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        page = client.users_conversations(types="public_channel,private_channel", exclude_archived=True,
                                          limit=200, cursor=cursor)
        for channel in page.get("channels") or []:
            ids.add(str(channel.get("id")))
            names.add(str(channel.get("name")))
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor:
            break
    return ids, names


def teams_checks(setup: Setup) -> list[Check]:
    teams = [t for t in setup.config.teams if t.teams_channel] if setup.config else []
    if not teams:
        return [Check("teams", "ok", "not used: no team has a teams_channel")]
    settings = setup.settings
    checks = [Check("teams settings", "fail", f"{n.variable} {n.problem}", n.fix) for n in teams_needs(settings)]
    if not checks:
        checks.append(Check("teams app", "ok", f"app id {settings.microsoft_app_id or '(anonymous)'}"))
    if settings.teams_anonymous:
        checks.append(Check("teams settings", "warn", "TEAMS_ANONYMOUS is true: requests without a token are accepted",
                            "unset TEAMS_ANONYMOUS outside local testing"))
    if settings.public_url is None:
        checks.append(Check("teams settings", "warn", "PUBLIC_URL is not set: Teams digests go out without charts",
                            "set PUBLIC_URL to the https base URL where this bot's server is reachable"))
    if setup.engine is not None:
        checks += _reference_checks(setup, [(t.name, str(t.teams_channel)) for t in teams])
    return checks


def _reference_checks(setup: Setup, wanted: list[tuple[str, str]]) -> list[Check]:
    from bot.msteams.references import load_reference, reference_for_channel

    assert setup.engine is not None
    install = "add the tokenworth app to this team in Teams, so the bot stores its conversation reference"
    checks = []
    for team, channel in wanted:
        name = f"teams channel {team}"
        if load_reference(setup.engine, channel) is not None:
            checks.append(Check(name, "ok", f"conversation reference stored for {channel}"))
        elif reference_for_channel(setup.engine, channel) is not None:
            checks.append(Check(name, "warn", f"no reference for {channel}: the digest goes through another "
                                              "channel's reference, which works only within the same team", install))
        else:
            checks.append(Check(name, "fail", f"no conversation reference for {channel}: {team}'s digest stays "
                                              "pending", install))
    return checks
