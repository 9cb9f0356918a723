"""Answers computed in worker processes, so the process that acks Slack never waits behind them.

Slack needs an ack within 3 seconds. Python threads share one interpreter lock, so under load an
ack queued behind CPU-bound answers waits for them; answers computed in other processes don't.
Invariant: one question is one call to a worker, which reads its figures once.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor

from bot.answers.commands import answer, home
from bot.answers.types import Answer, Home, NotLinked
from bot.config.settings import Settings
from bot.runtime import Runtime

_RUNTIME: Runtime | None = None


def _start(settings: Settings, db_url: str, config_path: str) -> None:
    global _RUNTIME
    _RUNTIME = Runtime(settings, db_url, config_path)  # the serving process already migrated and synced
    _RUNTIME.config  # noqa: B018 - load once per worker, not per question


def _answer(email: str | None, text: str) -> Answer:
    assert _RUNTIME is not None, "worker not started"
    return answer(_RUNTIME, email, text)


def _home(email: str | None) -> Home | NotLinked:
    assert _RUNTIME is not None, "worker not started"
    return home(_RUNTIME, email)


def _ready() -> bool:
    return _RUNTIME is not None


def worker_pool(runtime: Runtime, size: int | None = None) -> ProcessPoolExecutor:
    """Started and warmed up: the first question after start-up is answered as fast as the rest."""
    workers = size or max(1, (os.cpu_count() or 2) - 1)
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
        initializer=_start, initargs=(runtime.settings, runtime.db_url, runtime.config_path),
    )
    for started in [pool.submit(_ready) for _ in range(workers)]:
        started.result()
    return pool


def ask(pool: Executor | None, runtime: Runtime, email: str | None, text: str) -> Answer:
    """The answer, from a worker process when there is a pool, else right here."""
    if pool is None:
        return answer(runtime, email, text)
    return pool.submit(_answer, email, text).result()


def ask_home(pool: Executor | None, runtime: Runtime, email: str | None) -> Home | NotLinked:
    """Everything App Home shows, in one call: from a worker process when there is a pool, else right here."""
    if pool is None:
        return home(runtime, email)
    return pool.submit(_home, email).result()
