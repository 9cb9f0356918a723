"""`tokenworth serve`: the long-running bot, in one of three modes, always with the scheduler.

Invariant: every setting the mode needs (bot.serve.needs) and the org config are checked before the
database or the network is touched, so a missing variable stops `serve` at once with its name; the
log names only routes that are served, and each scheduled job once, with its next run time.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from datetime import UTC
from typing import TYPE_CHECKING, Any

from bot.digest.format import plural
from bot.digest.send import Poster
from bot.errors import SettingsError
from bot.people.directory import prepare
from bot.runtime import Runtime
from bot.serve.logs import configure_logging
from bot.serve.needs import serve_needs
from bot.serve.scheduler import start_scheduler

if TYPE_CHECKING:
    from bot.slack.workers import AnswerPool

log = logging.getLogger("tokenworth")
DRAIN_SECONDS = 60


def serve_forever(runtime: Runtime, mode: str, host: str, port: int) -> None:
    configure_logging()  # one line per record, control characters escaped: see bot.serve.logs
    check_settings(runtime, mode)
    prepare(runtime)  # the one write point at start: migrations, then the directory
    runtime.prices  # noqa: B018 - built once, before the first request
    # The config, prices and imported modules live as long as the process: frozen, a full collection during a
    # digest or an answer no longer walks them (it made the slowest 1% of digests twice as slow in `make bench`).
    gc.freeze()
    posters = _posters(runtime)
    if "slack" in posters:
        threading.Thread(target=_link_slack_users, args=(runtime,), daemon=True).start()
    scheduler = start_scheduler(runtime, posters)
    log.info("tokenworth serving (%s); digests scheduled for %s", mode, plural(len(runtime.config.teams), "team"))
    log_jobs(scheduler)
    try:
        if mode == "teams":
            from bot.msteams.http import serve_teams

            serve_teams(runtime, host, port)
        elif mode == "http":
            _serve_http(runtime, host, port)
        else:
            _serve_socket(runtime)
    finally:
        scheduler.shutdown(wait=False)


def check_settings(runtime: Runtime, mode: str) -> None:
    """Stop before any database or network work when the mode lacks a setting, or the config is invalid."""
    needs = serve_needs(runtime.settings, mode)
    if needs:
        raise SettingsError(f"serve --{mode} cannot start: " + "; ".join(need.message() for need in needs))
    runtime.config  # noqa: B018 - loads and validates the org config (a ConfigError names file and key)


def log_jobs(scheduler: Any) -> None:
    """Each scheduled job once, with when it runs next (in UTC)."""
    for job in sorted(scheduler.get_jobs(), key=lambda job: job.id):
        when = job.next_run_time
        log.info("scheduled %s: next run %s", job.id, f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if when else "none")


def _stop(*_: object) -> None:
    """SIGTERM ends the server loop like Ctrl-C, so the scheduler shuts down cleanly."""
    raise SystemExit(0)


def _link_slack_users(runtime: Runtime) -> None:
    """Warm the Slack user cache (users.lookupByEmail) without delaying start-up; never fatal."""
    from bot.slack.client import web_client
    from bot.slack.identity import link_people

    try:
        log.info("linked %d people to their Slack users", link_people(runtime, web_client(runtime.settings)))
    except Exception as exc:  # noqa: BLE001 - a cache warm-up; commands look people up on demand anyway
        log.warning("could not link people to Slack users yet: %s", exc)


def _posters(runtime: Runtime) -> dict[str, Poster]:
    posters: dict[str, Poster] = {}
    if runtime.settings.slack_bot_token is not None:
        from bot.slack.client import web_client
        from bot.slack.poster import SlackPoster

        posters["slack"] = SlackPoster(web_client(runtime.settings))
    try:
        from bot.msteams.poster import teams_poster

        poster = teams_poster(runtime)
        if poster is not None:
            posters["teams"] = poster
    except ImportError:
        pass
    return posters


def slack_app(runtime: Runtime, require_signing_secret: bool, workers: AnswerPool | None = None) -> Any:
    from bot.slack.app import build_app
    from bot.slack.client import web_client

    secret = runtime.settings.slack_signing_secret
    if require_signing_secret and secret is None:
        raise SettingsError("SLACK_SIGNING_SECRET is not set: HTTP mode must verify that requests come from Slack")
    return build_app(runtime, web_client(runtime.settings), secret.get_secret_value() if secret else None, workers)


def _serve_http(runtime: Runtime, host: str, port: int) -> None:
    from bot.slack.http import http_server
    from bot.slack.workers import worker_pool

    workers = worker_pool(runtime) if runtime.settings.slack_bot_token else None
    app = slack_app(runtime, require_signing_secret=True, workers=workers) if workers else None
    server = http_server(runtime, app, host, port, workers=workers)
    threading.Thread(target=drain_webhooks, args=(server.router, threading.Event()), daemon=True).start()
    signal.signal(signal.SIGTERM, _stop)
    routes = ", ".join(served_routes(app is not None))
    log.info("listening on http://%s:%s (%s)", host, server.effective_port, routes)
    server.run()


def served_routes(slack: bool) -> list[str]:
    """The routes `serve --http` answers (every route taking a body has a cap): /slack/events only with a Slack app."""
    from bot.slack.http import BODY_CAPS, SLACK_PATH

    return [*(path for path in BODY_CAPS if slack or path != SLACK_PATH), "/healthz"]


def drain_webhooks(router: Any, stop: threading.Event, every: float = DRAIN_SECONDS) -> None:
    """Until stopped: webhook deliveries spooled while the database was locked are stored once it takes writes."""
    while not stop.wait(every):
        try:
            router.drain_in_background()
        except Exception as exc:  # noqa: BLE001 - the spool stays on disk; the next round tries again
            log.warning("could not drain the webhook spool yet: %s", exc)


def _serve_socket(runtime: Runtime) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.workers import worker_pool

    token = runtime.settings.slack_app_token
    if token is None:
        raise SettingsError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-...)")
    app = slack_app(runtime, require_signing_secret=False, workers=worker_pool(runtime))
    # slack_bolt leaves BaseSocketModeHandler.start() unannotated, so mypy sees it as untyped
    SocketModeHandler(app, token.get_secret_value()).start()  # type: ignore[no-untyped-call]
