"""Ingest on SQLite and on a real PostgreSQL: idempotent, restatement-safe, and loses no good record."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine, func, select, text

from bot.ingest.files import ingest_file, ingest_paths
from storage.models import Activity, Identity, IngestRun, Outcome, RejectedRecord, Usage, table
from tests.conftest import FIXTURES

CLAUDE_CODE = FIXTURES / "claude_code_analytics"
PULLS = FIXTURES / "github_pulls.json"


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    tables = {"usage": Usage, "activity": Activity, "outcome": Outcome, "identity": Identity}
    with engine.connect() as conn:
        return {
            name: sorted(tuple(row) for row in conn.execute(select(table(model))))
            for name, model in tables.items()
        }


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table(model))).scalar_one())


def test_first_ingest_stores_every_record(engine: Engine) -> None:
    reports = ingest_paths(engine, [CLAUDE_CODE, PULLS])
    assert len(reports) == 15
    assert all(r.rejected == 0 and not r.unusable for r in reports)
    day = next(r for r in reports if r.path.endswith("2026-11-17.json"))
    assert (day.source, day.records, day.stored, day.duplicates) == ("claude_code", 6, 6, 0)
    pulls = reports[-1]
    # 35 PRs: 30 human merges and 1 revert store outcomes; 2 unmerged and 2 bot PRs carry nothing.
    assert (pulls.source, pulls.records, pulls.stored, pulls.skipped) == ("github", 35, 31, 4)
    assert count(engine, Outcome) == 31


def test_reingest_same_files_changes_nothing(engine: Engine) -> None:
    ingest_paths(engine, [CLAUDE_CODE, PULLS])
    before = snapshot(engine)
    again = ingest_paths(engine, [CLAUDE_CODE, PULLS])
    assert snapshot(engine) == before
    assert all(r.stored == 0 for r in again)
    assert sum(r.duplicates for r in again) == sum(r.records - r.skipped for r in again)


def test_restated_record_replaces_the_earlier_figures(engine: Engine, tmp_path: Path) -> None:
    original = json.loads((CLAUDE_CODE / "2026-11-17.json").read_text())
    ingest_file(engine, CLAUDE_CODE / "2026-11-17.json")
    original["data"][0]["model_breakdown"][0]["tokens"]["output"] += 1000
    original["data"][0]["model_breakdown"][0]["estimated_cost"]["amount"] += 1.5
    restated = tmp_path / "restated.json"
    restated.write_text(json.dumps(original))
    report = ingest_file(engine, restated)
    assert (report.stored, report.duplicates) == (1, 5)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT output_tokens, cost_usd FROM usage WHERE record_key LIKE :key"),
            {"key": "2026-11-17|email:ana@acme.test|local|claude-sonnet-4-6"},
        ).all()
    assert rows == [(184998 + 1000, (1033.42 + 1.5) / 100)]


def test_malformed_records_are_rejected_with_location_and_the_rest_kept(engine: Engine, tmp_path: Path) -> None:
    page = json.loads((CLAUDE_CODE / "2026-11-17.json").read_text())
    page["data"][1]["model_breakdown"][0]["tokens"]["input"] = -5
    page["data"][3]["date"] = "17/11/2026"
    page["data"][4]["actor"] = {"type": "user_actor"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(page))
    report = ingest_file(engine, bad)
    assert (report.records, report.stored, report.rejected) == (6, 3, 3)
    where = [e["where"] for e in report.errors]
    assert where == [f"{bad}: data[1]", f"{bad}: data[3]", f"{bad}: data[4]"]
    reasons = " | ".join(e["reason"] for e in report.errors)
    assert "model_breakdown.0.tokens.input" in reasons and "greater than or equal to 0" in reasons
    assert "date" in reasons and "email_address" in reasons
    assert count(engine, RejectedRecord) == 3


def test_unusable_file_is_reported_and_stores_nothing(engine: Engine, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.json"
    truncated.write_text((CLAUDE_CODE / "2026-11-17.json").read_text()[:500])
    unknown = tmp_path / "unknown.json"
    unknown.write_text('{"hello": "world"}')
    reports = ingest_paths(engine, [truncated, unknown])
    assert [r.unusable for r in reports] == [True, True]
    assert "not valid JSON at line" in reports[0].errors[0]["reason"]
    assert "not a format tokenworth knows" in reports[1].errors[0]["reason"]
    assert count(engine, Usage) == 0
    assert count(engine, IngestRun) == 2


def test_feeds_use_the_orgs_jira_settings(engine: Engine, acme_config) -> None:
    from sqlalchemy import select as sa_select

    from bot.config.org import parse_config

    def quantities() -> list[float]:
        with engine.connect() as conn:
            return [q for (q,) in conn.execute(sa_select(Outcome.quantity).where(Outcome.source == "jira"))]  # type: ignore[arg-type]

    raw = acme_config.model_dump(mode="json")
    raw["jira"] = {"excluded_resolutions": ["done"]}  # every fixture issue is resolved as Done
    ingest_paths(engine, [FIXTURES / "jira_search.json"], config=parse_config(raw))
    assert quantities() == []
    raw["jira"] = {"excluded_resolutions": [], "story_points_field": "customfield_99999"}
    ingest_paths(engine, [FIXTURES / "jira_search.json"], config=parse_config(raw))
    document = json.loads((FIXTURES / "jira_search.json").read_text())
    done = [i for i in document["issues"] if i["fields"]["status"]["statusCategory"]["key"] == "done"
            and i["fields"].get("resolutiondate") and i["fields"].get("assignee")]
    assert len(quantities()) == len(done) > 0  # nothing excluded
    assert set(quantities()) == {1.0}  # the configured (absent) points field: every ticket counts 1


def test_token_counts_beyond_32_bits_are_stored(engine: Engine, tmp_path: Path) -> None:
    page = json.loads((CLAUDE_CODE / "2026-11-17.json").read_text())
    page["data"][0]["model_breakdown"][0]["tokens"]["cache_read"] = 5_000_000_000  # a busy day on a big org
    big = tmp_path / "big.json"
    big.write_text(json.dumps(page))
    assert ingest_file(engine, big).rejected == 0
    with engine.connect() as conn:
        assert conn.execute(text("SELECT max(cache_read_tokens) FROM usage")).scalar_one() == 5_000_000_000
