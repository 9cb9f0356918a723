"""Answers computed in worker processes, so the process that acks Slack never waits behind them.

Slack needs an ack within 3 seconds. Python threads share one interpreter lock, so under load an
ack queued behind CPU-bound answers waits for them; answers computed in other processes don't.
Invariants: one question is one call to a worker, which reads its figures once. A worker that dies
(killed, out of memory) breaks its pool; the pool is replaced and the question asked once more, so
one death never disables the commands that follow, and `health()` says whether the pool answers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

from bot.answers.commands import answer, home
from bot.answers.types import Answer, Home, NotLinked
from bot.config.settings import Settings
from bot.runtime import Runtime

log = logging.getLogger("tokenworth.slack")
T = TypeVar("T")
HEALTH_SECONDS = 2.0  # a ping slower than this means every worker is busy, not that the pool is dead
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


@dataclass(frozen=True)
class PoolHealth:
    ok: bool
    state: str  # "ready", "busy" (every worker is answering), or why it cannot answer
    size: int
    restarts: int


class AnswerPool:
    """Worker processes for answers, replaced when one of them dies."""

    def __init__(self, runtime: Runtime, size: int | None = None) -> None:
        self.runtime = runtime
        self.size = size or max(1, (os.cpu_count() or 2) - 1)
        self.restarts = 0
        self._lock = threading.Lock()
        self._closed = False
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        """Started and warmed up: the first question after start-up is answered as fast as the rest."""
        settings, db_url, config_path = self.runtime.settings, self.runtime.db_url, self.runtime.config_path
        pool = ProcessPoolExecutor(
            max_workers=self.size, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start, initargs=(settings, db_url, config_path),
        )
        for started in [pool.submit(_ready) for _ in range(self.size)]:
            started.result()
        return pool

    def call(self, fn: Callable[..., T], *args: object, timeout: float | None = None) -> T:
        """fn(*args) in a worker; a pool found broken is replaced and the call made once more."""
        pool = self._pool
        try:
            return pool.submit(fn, *args).result(timeout)
        except BrokenProcessPool:
            self._replace(pool)
        pool = self._pool
        try:
            return pool.submit(fn, *args).result(timeout)
        except BrokenProcessPool:
            self._replace(pool)  # whatever killed the worker twice, the next question finds a working pool
            raise

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is not broken or self._closed:
                return  # another thread replaced it already, or we are shutting down
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            self.restarts += 1
        log.warning("an answer worker died; its pool was replaced (%d replacement(s) so far)", self.restarts)

    def health(self) -> PoolHealth:
        """Whether a worker answers now: a ping through the pool, replacing it when it is broken."""
        def report(ok: bool, state: str) -> PoolHealth:
            return PoolHealth(ok, state, self.size, self.restarts)

        if self._closed:
            return report(False, "stopped")
        try:
            self.call(_ready, timeout=HEALTH_SECONDS)
        except FutureTimeout:
            return report(True, "busy")
        except (BrokenProcessPool, RuntimeError, OSError) as exc:
            return report(False, f"cannot answer: {type(exc).__name__}")
        return report(True, "ready")

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            self._pool.shutdown(wait=wait, cancel_futures=True)

    def __enter__(self) -> AnswerPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.shutdown()


def worker_pool(runtime: Runtime, size: int | None = None) -> AnswerPool:
    """Started and warmed up: the first question after start-up is answered as fast as the rest."""
    return AnswerPool(runtime, size)


def ask(pool: AnswerPool | None, runtime: Runtime, email: str | None, text: str) -> Answer:
    """The answer, from a worker process when there is a pool, else right here."""
    if pool is None:
        return answer(runtime, email, text)
    return pool.call(_answer, email, text)


def ask_home(pool: AnswerPool | None, runtime: Runtime, email: str | None) -> Home | NotLinked:
    """Everything App Home shows, in one call: from a worker process when there is a pool, else right here."""
    if pool is None:
        return home(runtime, email)
    return pool.call(_home, email)
