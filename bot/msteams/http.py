"""The Teams HTTP server: POST /api/messages (JWT-checked), GET /charts/{token}.png, GET /healthz.

Invariants: every route has a body cap, checked on Content-Length before anything is read and
while a chunked body is read; /api/messages reads its body only after the caller's Bot Framework
token checks out, and a token the SDK would choke on (no usable key id, not RS256) is a 401 here,
never a 500 from inside the SDK.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import warnings
from collections.abc import Awaitable, Callable

from aiohttp import web
from microsoft_agents.hosting.aiohttp import CloudAdapter, jwt_authorization_decorator, start_agent_process
from microsoft_agents.hosting.core import Connections, TurnContext

from bot.msteams.agent import Clock, TokenworthAgent
from bot.msteams.auth import connections, warn_if_anonymous
from bot.msteams.charts import ChartStore, utc_now
from bot.runtime import Runtime

log = logging.getLogger("tokenworth.teams")
MESSAGES_PATH = "/api/messages"
MAX_BODY = 1024 * 1024  # a Teams activity is a few kB; the Bot Framework's own limit is far below this
DEFAULT_BODY_CAP = 1024  # no other route takes a body
UNAUTHORIZED = {"error": "Invalid token or authentication failed."}
CHART_KEY = web.AppKey("charts", ChartStore)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# The SDK leaves this decorator unannotated; it wraps an aiohttp handler in a JWT check and keeps its signature.
jwt_checked: Callable[[Handler], Handler] = jwt_authorization_decorator


def build_app(runtime: Runtime, clock: Clock = utc_now, manager: Connections | None = None) -> web.Application:
    manager = manager or connections(runtime.settings)
    warn_if_anonymous(runtime.settings)
    adapter = CloudAdapter(connection_manager=manager)
    adapter.on_turn_error = _turn_failed  # the SDK's default would send the exception text to the user
    charts = ChartStore(runtime.engine, clock)
    agent = TokenworthAgent(runtime, charts, clock).application(manager)

    @_usable_token
    @jwt_checked
    async def messages(request: web.Request) -> web.StreamResponse:
        try:
            await request.read()  # bounded by client_max_size; the SDK then parses the cached body
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"error": "payload too large"}, status=413)
        response = await start_agent_process(request, agent, adapter)
        return response if response is not None else web.Response(status=202)

    app = web.Application(client_max_size=MAX_BODY, middlewares=[_cap_bodies])
    with warnings.catch_warnings():  # the SDK's JWT check reads this plain string key
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["agent_configuration"] = manager.get_default_connection_configuration()
    app[CHART_KEY] = charts
    app.router.add_post(MESSAGES_PATH, messages)
    app.router.add_get("/charts/{token:[A-Za-z0-9_-]+}.png", _chart)
    app.router.add_get("/healthz", _healthz)
    return app


@web.middleware
async def _cap_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A declared body over the route's cap is refused on the headers alone."""
    cap = MAX_BODY if request.path == MESSAGES_PATH else DEFAULT_BODY_CAP
    if (request.content_length or 0) > cap:
        return web.json_response({"error": "payload too large"}, status=413)
    return await handler(request)


def _usable_token(handler: Handler) -> Handler:
    """Refuse a bearer token the SDK cannot check (its header unreadable, not RS256, no key id) with 401."""

    async def checked(request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization")
        if authorization is not None and not _checkable(authorization):
            log.debug("refused a Teams request whose token has no usable key id")
            return web.json_response(UNAUTHORIZED, status=401)
        return await handler(request)

    return checked


def _checkable(authorization: str) -> bool:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return True  # the SDK refuses other schemes with 401 itself
    encoded = token.strip().split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        return True  # the SDK refuses an unreadable token with 401 itself
    if not isinstance(header, dict):
        return True
    kid = header.get("kid")
    return header.get("alg") == "RS256" and isinstance(kid, str) and bool(kid)


async def _turn_failed(_context: TurnContext, error: Exception) -> None:
    log.error("Teams turn failed outside the agent: %s", error, exc_info=error)


async def _chart(request: web.Request) -> web.Response:
    png = await asyncio.to_thread(request.app[CHART_KEY].get, request.match_info["token"])
    if png is None:
        raise web.HTTPNotFound()
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def serve_teams(runtime: Runtime, host: str, port: int) -> None:
    """Serve Teams until stopped (Ctrl-C or SIGTERM)."""
    app = build_app(runtime)
    log.info("Teams bot listening on http://%s:%s/api/messages (charts at /charts/, health at /healthz)", host, port)
    web.run_app(app, host=host, port=port, print=None, handle_signals=True)
