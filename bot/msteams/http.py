"""The Teams HTTP server: POST /api/messages (JWT-checked), GET /charts/{token}.png, GET /healthz."""

from __future__ import annotations

import asyncio
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

    @jwt_checked
    async def messages(request: web.Request) -> web.StreamResponse:
        response = await start_agent_process(request, agent, adapter)
        return response if response is not None else web.Response(status=202)

    app = web.Application()
    with warnings.catch_warnings():  # the SDK's JWT check reads this plain string key
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        app["agent_configuration"] = manager.get_default_connection_configuration()
    app[CHART_KEY] = charts
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/charts/{token:[A-Za-z0-9_-]+}.png", _chart)
    app.router.add_get("/healthz", _healthz)
    return app


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
