"""The digest's cost: metered and fixed (seat) cost apart and together, yield over both, and unattributed spend
net of what configured workflows claim."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.config.org import OrgConfig, load_config
from bot.core.metrics import PersonWeek, spend_of
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.digest.admin import load_admin_digest
from bot.digest.build import build_digest, unattributed_spend
from bot.digest.snapshot import publish, published
from bot.digest.summary import headline
from bot.digest.text import digest_text
from bot.ingest.files import ingest_paths
from bot.people.directory import sync_directory
from bot.reads.finops import org_usage
from storage.engine import session_scope
from tests.conftest import FIXTURES
from tests.test_finops_workflows import FEEDS, write_finops_files

W47 = Week.parse("2026-W47")


def team_of_five(seats: float) -> dict[tuple[int, str], PersonWeek]:
    """Five active people: $74.82 metered and 6 points each, and `seats` of seat cost each."""
    return {(pid, str(w)): PersonWeek(str(w), spend_usd=74.82, outcome_points=6.0, seat_cost_usd=seats, active=True)
            for pid in range(5) for w in (W47.shift(-1), W47)}


def test_the_headline_shows_metered_and_seat_cost_apart_and_together() -> None:
    digest = build_digest("platform", W47, team_of_five(7.60), range(5), 5)
    assert [row[:2] for row in headline(digest) if row[0].startswith("AI ")] == [
        ("AI spend", "$374.10"), ("AI cost", "$412.10: $374.10 metered + $38.00 seats")]
    assert digest.value("yield_per_100usd") == pytest.approx(30 / 412.10 * 100)  # over cost, not $374.10 metered
    assert digest.median_yield_per_100usd == pytest.approx(6 / 82.42 * 100)
    assert "AI cost                 : $412.10: $374.10 metered + $38.00 seats" in digest_text(digest)
    shown = digest.as_json()
    assert shown["cost_usd"] == pytest.approx(412.10) and shown["seat_cost_usd"] == pytest.approx(38.0)


def test_without_seats_the_headline_is_the_metered_spend_as_before() -> None:
    digest = build_digest("platform", W47, team_of_five(0.0), range(5), 5)
    assert [row[:2] for row in headline(digest) if row[0].startswith("AI ")] == [("AI spend", "$374.10")]
    assert digest.value("yield_per_100usd") == pytest.approx(30 / 374.10 * 100)


def test_the_published_snapshot_keeps_the_cost_figures(engine: Engine) -> None:
    digest = build_digest("platform", W47, team_of_five(7.60), range(5), 5)
    assert digest.sheet is not None
    publish(engine, "platform", str(W47), digest.active_members, digest.sheet, datetime(2026, 11, 23, tzinfo=UTC))
    with session_scope(engine) as session:
        snapshots = published(session, "platform", [W47])
    served = build_digest("platform", W47, team_of_five(0.0), range(5), 5, snapshots=snapshots)
    assert served.value("cost_usd") == pytest.approx(412.10) and served.value("seat_cost_usd") == pytest.approx(38.0)
    assert ("AI cost", "$412.10: $374.10 metered + $38.00 seats") in [row[:2] for row in headline(served)]


def test_unattributed_spend_drops_by_what_configured_workflows_claim(
    engine: Engine, acme_config: OrgConfig, prices: PriceTable, tmp_path: Path,
) -> None:
    finops = load_config(write_finops_files(tmp_path))
    sync_directory(engine, finops)
    ingest_paths(engine, [*(FIXTURES / name for name in FEEDS), tmp_path / "litellm_service_user.json"])
    with session_scope(engine) as session:
        before = unattributed_spend(session, acme_config, prices, W47)
        after = unattributed_spend(session, finops, prices, W47)
        usage = org_usage(session, finops, prices.canonical, W47.monday, W47.end)
        admin = load_admin_digest(session, finops, prices, W47)
    claimed = sum(spend_of(fact, prices) or 0.0 for fact, _rule in usage.workflows)
    assert claimed > 0 and before - after == pytest.approx(claimed, abs=1e-9)
    assert after == pytest.approx(sum(spend_of(fact, prices) or 0.0 for fact, _, _ in usage.nobody), abs=1e-9)
    assert (admin.value("unattributed_spend_usd") or 0.0) == pytest.approx(after, abs=1e-9)


def test_the_teams_fallback_states_the_cost_its_yield_is_over() -> None:
    from bot.msteams.cards import digest_fallback

    digest = build_digest("platform", W47, team_of_five(7.60), range(5), 5)
    assert "for $412.10 of AI cost ($374.10 metered + $38.00 seats) (yield 7.3 per $100)" in digest_fallback(digest)
