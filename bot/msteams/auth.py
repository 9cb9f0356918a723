"""The Agents SDK connection: MSAL credentials for the bot's Entra app, or anonymous for local testing only."""

from __future__ import annotations

import logging

from microsoft_agents.hosting.core import (
    AgentAuthConfiguration,
    AnonymousTokenProvider,
    ConnectionManager,
    Connections,
)

from bot.config.settings import Settings
from bot.errors import SettingsError

log = logging.getLogger("tokenworth.teams")
SERVICE_CONNECTION = "SERVICE_CONNECTION"
ANONYMOUS_WARNING = (
    "TEAMS_ANONYMOUS is on: /api/messages accepts requests WITHOUT a Bot Framework token. Anyone who can "
    "reach this port can impersonate any Teams user. Use this only for local testing, never in production."
)


def connections(settings: Settings) -> Connections:
    """The connection the SDK validates incoming tokens against and gets outgoing tokens from."""
    if settings.microsoft_app_id:
        from microsoft_agents.authentication.msal import MsalConnectionManager

        secret = settings.microsoft_app_password
        config = AgentAuthConfiguration(
            client_id=settings.microsoft_app_id, tenant_id=settings.microsoft_app_tenant_id,
            client_secret=secret.get_secret_value() if secret else None,
            anonymous_allowed=settings.teams_anonymous,
        )
        return MsalConnectionManager(connections_configurations={SERVICE_CONNECTION: config})
    if settings.teams_anonymous:
        config = AgentAuthConfiguration(anonymous_allowed=True)
        return ConnectionManager(lambda _config: AnonymousTokenProvider(), {SERVICE_CONNECTION: config})
    raise SettingsError(
        "MICROSOFT_APP_ID is not set: Teams needs the bot's Entra app id and MICROSOFT_APP_PASSWORD "
        "(or TEAMS_ANONYMOUS=true for local testing only)"
    )


def warn_if_anonymous(settings: Settings) -> None:
    if settings.teams_anonymous:
        log.warning("!" * 20 + " " + ANONYMOUS_WARNING + " " + "!" * 20)
