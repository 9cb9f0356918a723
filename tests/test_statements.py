"""One read model per request: SQL statements counted on a real SQLite database with the sample org.

`me` of one week and of 4 or 12 weeks read the same way (the whole span at once), so they run the same
number of statements; `preview` reuses the digest's figures; App Home is one read for `me` and `trend`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, event

from bot.answers.commands import answer, home
from bot.answers.types import Home, MeAnswer, PreviewAnswer, TrendAnswer
from bot.config.settings import Settings
from bot.ingest.files import ingest_paths
from bot.people.directory import prepare
from bot.runtime import Runtime
from tests.conftest import EXAMPLE_CONFIG, FIXTURES

IN_W47 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday of 2026-W47
MAX_STATEMENTS = 8
T = TypeVar("T")


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    root = tmp_path_factory.mktemp("statements")
    runtime = Runtime(Settings(), f"sqlite:///{root / 'acme.db'}", str(EXAMPLE_CONFIG))
    prepare(runtime)  # migrations and the directory: the explicit write point, before anything is counted
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    runtime.prices  # noqa: B018 - built before counting, as `serve` does
    return runtime


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def statements_of(runtime: Runtime, call: Callable[[], T]) -> tuple[T, int]:
    with counted(runtime.engine) as statements:
        result = call()
    return result, len(statements)


def ask(runtime: Runtime, text: str) -> tuple[Any, int]:
    return statements_of(runtime, lambda: answer(runtime, "ana@acme.test", text, now=IN_W47))


def test_me_of_one_week_and_of_4_weeks_run_the_same_statements(acme: Runtime) -> None:
    one, one_count = ask(acme, "me 2026-W47")
    four, four_count = ask(acme, "me 4w")
    twelve, twelve_count = ask(acme, "me 12w")
    assert isinstance(one, MeAnswer) and isinstance(four, MeAnswer) and isinstance(twelve, MeAnswer)
    assert [str(r.week) for r in four.reports] == ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    assert len(twelve.reports) == 12
    assert one_count == four_count == twelve_count
    assert one_count <= MAX_STATEMENTS


def test_each_week_of_a_period_is_the_same_report_as_asking_for_that_week(acme: Runtime) -> None:
    period, _ = ask(acme, "me 4w")
    assert isinstance(period, MeAnswer)
    for report in period.reports:
        alone, _ = ask(acme, f"me {report.week}")
        assert isinstance(alone, MeAnswer) and alone.reports == (report,)


def test_trend_preview_and_home_read_once(acme: Runtime) -> None:
    trend, trend_count = ask(acme, "trend")
    assert isinstance(trend, TrendAnswer) and len(trend.weeks) == 8
    preview, preview_count = ask(acme, "preview")
    assert isinstance(preview, PreviewAnswer) and preview.team == "platform"
    page, home_count = statements_of(acme, lambda: home(acme, "ana@acme.test", IN_W47))
    assert isinstance(page, Home)
    me, _ = ask(acme, "me")
    assert page.me == me and page.trend == trend
    assert trend_count <= 3  # the asker, their usage, their outcomes
    assert preview_count <= 5  # the asker, then the digest's own reads (the team below the floor: no more)
    assert home_count <= MAX_STATEMENTS


def test_answering_never_writes(acme: Runtime) -> None:
    for text in ("me", "me 4w", "trend", "preview", "privacy", "team platform 2026-W47", "help", "nonsense"):
        with counted(acme.engine) as statements:
            answer(acme, "ana@acme.test", text, now=IN_W47)
        assert not [s for s in statements if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")], text


def test_a_fresh_runtime_counts_the_same(acme: Runtime) -> None:
    """Nothing cached between requests hides statements: a new runtime on the same file runs as many."""
    fresh = Runtime(Settings(), acme.db_url, str(EXAMPLE_CONFIG))
    _, counted_there = statements_of(fresh, lambda: answer(fresh, "ana@acme.test", "me 4w", now=IN_W47))
    _, counted_here = ask(acme, "me 4w")
    assert counted_there == counted_here > 0


def test_settling_on_the_last_full_week_reads_no_more(acme: Runtime) -> None:
    """On a Monday `me` falls back to last week from the figures already read: no extra statement."""
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    _, midweek = ask(acme, "me")
    _, on_monday = statements_of(acme, lambda: answer(acme, "ana@acme.test", "me", now=monday))
    _, four_on_monday = statements_of(acme, lambda: answer(acme, "ana@acme.test", "me 4w", now=monday))
    assert on_monday == four_on_monday == midweek <= MAX_STATEMENTS


def test_me_reads_the_work_it_judges_in_one_statement_and_trend_none(acme: Runtime) -> None:
    """The fit beside the team's evidence is the model-fit judgement: the work once, the team's spend (with the
    work its records name) once, whatever the span asked about."""
    for text in ("me", "me 2026-W47", "me 12w"):
        with counted(acme.engine) as statements:
            reply = answer(acme, "ana@acme.test", text, now=IN_W47)
        assert isinstance(reply, MeAnswer) and reply.fit is not None
        assert sum("FROM workdetail" in s for s in statements) == 1, text
        assert sum("FROM usage" in s for s in statements) == 2, text  # the figures', and the judged spend's
    with counted(acme.engine) as statements:
        answer(acme, "ana@acme.test", "trend", now=IN_W47)
    assert not [s for s in statements if "FROM workdetail" in s]
