"""One measurement per process, so each peak-memory figure is that work's alone.

`python -m bench.child KIND ARGS...` prints one JSON object on its last line.
"""

from __future__ import annotations

import gc
import json
import logging
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.measure import peak_rss_mb, percentile


def ingest(path: str, db: str, again: str = "") -> dict[str, Any]:
    """Ingest a file (or a folder's files) into a fresh database; with `again`, ingest the same again, timed apart."""
    from bot.ingest.files import ingest_file
    from storage.engine import make_engine
    from storage.migrate import upgrade

    Path(db).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    empty = Path(db).stat().st_size
    files = sorted(Path(path).glob("*.json")) if Path(path).is_dir() else [Path(path)]
    started = time.perf_counter()
    records = stored = rejected = 0
    for file in files:
        report = ingest_file(engine, file)
        records, stored, rejected = records + report.records, stored + report.stored, rejected + report.rejected
    seconds = time.perf_counter() - started
    engine.dispose()
    result = {"files": len(files), "records": records, "stored": stored, "rejected": rejected, "seconds": seconds,
              "peak_rss_mb": peak_rss_mb(), "db_growth_bytes": _size(db) - empty}
    if again:
        engine = make_engine(f"sqlite:///{db}")
        started = time.perf_counter()
        reports = [ingest_file(engine, file) for file in files]
        result["again_seconds"] = time.perf_counter() - started
        result["again_stored"] = sum(r.stored for r in reports)
        engine.dispose()
    return result


def _size(db: str) -> int:
    """The database's bytes, its write-ahead log included."""
    return sum(Path(db + suffix).stat().st_size for suffix in ("", "-wal") if Path(db + suffix).exists())


def duckdb(path: str) -> dict[str, Any]:
    try:
        import duckdb as duck
    except ImportError:  # only `make bench` installs it (the bench extra); the smoke test runs without
        return {"missing": True}
    con = duck.connect()
    started = time.perf_counter()
    columns = {"user": "VARCHAR", "startTime": "TIMESTAMPTZ", "model_group": "VARCHAR", "prompt_tokens": "BIGINT",
               "completion_tokens": "BIGINT", "spend": "DOUBLE"}  # the declared schema: no sampling the file
    groups = con.execute(
        "SELECT \"user\", CAST(startTime AS DATE) AS day, model_group, count(*) AS requests, sum(prompt_tokens),"
        f" sum(completion_tokens), sum(spend) FROM read_json(?, format = 'newline_delimited', columns = {columns!r})"
        " GROUP BY ALL",
        [path],
    ).fetchall()
    seconds = time.perf_counter() - started
    threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
    return {"groups": len(groups), "requests": sum(g[3] for g in groups), "seconds": seconds, "threads": threads,
            "peak_rss_mb": peak_rss_mb()}


def me(db: str, config_path: str, samples: str, weeks: str) -> dict[str, Any]:
    from bot.answers.me import me_report
    from bot.config.org import load_config
    from bot.core.prices import PriceTable
    from bot.core.weeks import Week
    from storage.engine import make_engine, session_scope

    config = load_config(config_path)
    prices = PriceTable.builtin(config.prices)
    engine = make_engine(f"sqlite:///{db}")
    choices = [Week.parse(w) for w in weeks.split(",")]
    rng = random.Random(8)
    asks = [(rng.choice(config.people).email, rng.choice(choices)) for _ in range(int(samples))]
    with session_scope(engine) as session:
        me_report(session, config, prices, *asks[0])  # warm: imports, price table, statement caches
    timings = []
    for email, week in asks:
        started = time.perf_counter()
        with session_scope(engine) as session:
            me_report(session, config, prices, email, week)
        timings.append((time.perf_counter() - started) * 1000)
    return {"samples": len(timings), "p50_ms": percentile(timings, 0.5), "p99_ms": percentile(timings, 0.99),
            "peak_rss_mb": peak_rss_mb()}


def digest(db: str, config_path: str, week_text: str) -> dict[str, Any]:
    from bot.config.org import load_config
    from bot.core.prices import PriceTable
    from bot.core.weeks import Week
    from bot.digest.build import load_digest
    from bot.digest.charts import charts_for
    from storage.engine import make_engine, session_scope

    config = load_config(config_path)
    prices = PriceTable.builtin(config.prices)
    gc.freeze()  # as `serve` does once its config and prices are loaded (bot.serve.run)
    engine = make_engine(f"sqlite:///{db}")
    week = Week.parse(week_text)
    timings, charts, shown = [], 0, 0
    started = time.perf_counter()
    for team in config.teams:
        begun = time.perf_counter()
        with session_scope(engine) as session:
            built = load_digest(session, config, prices, team.name, week)
        charts += len(charts_for(built))
        shown += not built.suppressed
        timings.append((time.perf_counter() - begun) * 1000)
    return {"teams": len(timings), "shown": shown, "charts": charts, "seconds": time.perf_counter() - started,
            "p50_ms": percentile(timings, 0.5), "p99_ms": percentile(timings, 0.99), "peak_rss_mb": peak_rss_mb()}


def serve(db: str, config_path: str, slack_api_url: str, secret: str, token: str) -> None:
    """The production HTTP server (waitress + the Bolt app) until stdin closes; prints its port first."""
    from bot.config.settings import Settings
    from bot.runtime import Runtime
    from bot.serve.run import slack_app
    from bot.slack.http import http_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # a queue is what 20 clients are meant to cause
    settings = Settings(slack_bot_token=token, slack_api_url=slack_api_url, slack_signing_secret=secret)  # type: ignore[arg-type]
    runtime = Runtime(settings, f"sqlite:///{db}", config_path)
    runtime.config  # noqa: B018 - loaded before the first request, as `serve` does (the directory is synced already)
    runtime.prices  # noqa: B018 - built before the first request, as `serve` does
    from bot.slack.workers import worker_pool

    workers = worker_pool(runtime)  # as `serve --http` does
    server = http_server(runtime, slack_app(runtime, require_signing_secret=True, workers=workers), "127.0.0.1", 0)
    print(json.dumps({"port": server.effective_port}), flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), server.close()), daemon=True).start()
    server.run()


def main(argv: list[str]) -> None:
    kind, *args = argv
    if kind == "serve":
        serve(*args)
        return
    result = {"ingest": ingest, "duckdb": duckdb, "me": me, "digest": digest}[kind](*args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
