"""What an ingest may touch (issue 14): a filtered usage report restates only what it covers and says how many
rows it removed; a forgotten person's records stay out, whichever path brings them back."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from bot.core.privacy import identity_digest
from bot.ingest.files import ingest_file
from bot.ingest.store import store_records
from storage.engine import session_scope
from storage.models import Erasure, Identity, Usage, table
from tests.conftest import FIXTURES

ANTHROPIC = FIXTURES / "anthropic_usage_report.json"
OPENAI = FIXTURES / "openai_usage_completions.json"
CLAUDE_CODE = FIXTURES / "claude_code_analytics" / "2026-11-17.json"
OTEL = FIXTURES / "claude_code_otlp_metrics.json"
ACCOUNT = "user_01g9UQC1xWy7EYEQvBMivLtB"
DAY = date(2026, 11, 11)


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def day_rows(engine: Engine, source: str, day: date) -> dict[str, tuple[int, int]]:
    usage = table(Usage)
    query = select(usage.c.record_key, usage.c.input_tokens, usage.c.output_tokens).where(
        usage.c.source == source, usage.c.day == day)
    with engine.connect() as conn:
        return {key: (i, o) for key, i, o in conn.execute(query)}


def one_account(bucket: dict[str, Any], account: str = ACCOUNT) -> dict[str, Any]:
    return {**bucket, "results": [r for r in bucket["results"] if r.get("account_id") == account]}


# --- a filtered report restates only what it covers ------------------------------------------------------------------

def test_a_report_filtered_to_one_account_leaves_everyone_elses_rows(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, ANTHROPIC)
    before = day_rows(engine, "anthropic_usage", DAY)
    bucket = one_account(load(ANTHROPIC)["data"][2])
    assert bucket["starting_at"].startswith(str(DAY)) and len(bucket["results"]) == 2 < len(before)
    bucket["results"][0]["output_tokens"] += 7
    report = ingest_file(engine, write(tmp_path / "one-account.json", {"data": [bucket], "has_more": False}))
    assert (report.stored, report.duplicates, report.rejected, report.removed) == (1, 1, 0, 0)
    after = day_rows(engine, "anthropic_usage", DAY)
    assert set(after) == set(before)
    assert sorted(after[k][1] - before[k][1] for k in after) == [0] * (len(before) - 1) + [7]


def test_a_filtered_report_removes_what_it_covers_and_says_how_many(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, ANTHROPIC)
    before = day_rows(engine, "anthropic_usage", DAY)
    bucket = one_account(load(ANTHROPIC)["data"][2])
    gone = bucket["results"].pop(1)  # the account used that model no more that day, says the vendor
    report = ingest_file(engine, write(tmp_path / "restated.json", {"data": [bucket], "has_more": False}))
    assert (report.stored, report.duplicates, report.removed) == (0, 1, 1)
    assert report.as_json()["removed"] == 1
    after = day_rows(engine, "anthropic_usage", DAY)
    (removed,) = set(before) - set(after)
    assert ACCOUNT in removed and gone["model"] in removed and len(after) == len(before) - 1


def test_a_report_grouped_otherwise_removes_nothing(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, ANTHROPIC)
    before = day_rows(engine, "anthropic_usage", DAY)
    by_model = {"starting_at": f"{DAY}T00:00:00Z", "ending_at": "2026-11-12T00:00:00Z",
                "results": [{"model": "claude-opus-4-6", "uncached_input_tokens": 10, "output_tokens": 5}]}
    report = ingest_file(engine, write(tmp_path / "by-model.json", {"data": [by_model], "has_more": False}))
    assert (report.stored, report.removed) == (1, 0)
    assert set(before) < set(day_rows(engine, "anthropic_usage", DAY))


def test_an_openai_page_filtered_to_one_user_leaves_the_projects_keys(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, OPENAI)
    page = load(OPENAI)
    bucket = page["data"][3]
    day = datetime.fromtimestamp(bucket["start_time"], UTC).date()
    before = day_rows(engine, "openai_usage", day)
    bucket["results"] = [r for r in bucket["results"] if r.get("user_id")]
    assert len(bucket["results"]) == 1 and len(before) == 4
    report = ingest_file(engine, write(tmp_path / "one-user.json", {**page, "data": [bucket]}))
    assert (report.duplicates, report.removed) == (1, 0)
    assert day_rows(engine, "openai_usage", day) == before


# --- forgotten people stay forgotten ---------------------------------------------------------------------------------

def forget(engine: Engine, *identities: tuple[str, str]) -> None:
    with session_scope(engine) as session:
        session.add(Erasure(at=datetime.now(UTC), subject="0" * 64, removed="{}",
                            identities=json.dumps([identity_digest(kind, value) for kind, value in identities])))


def identity_values(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(table(Identity).c.value)).scalars())


def test_a_forgotten_persons_records_are_skipped_as_forgotten(engine: Engine) -> None:
    forget(engine, ("email", "Ana@Acme.test"), ("github", "someone-else"))
    report = ingest_file(engine, CLAUDE_CODE)
    assert (report.records, report.stored, report.skipped, report.forgotten, report.rejected) == (6, 5, 1, 1, 0)
    assert report.as_json()["forgotten"] == 1
    assert "ana@acme.test" not in identity_values(engine)
    again = ingest_file(engine, CLAUDE_CODE)
    assert (again.duplicates, again.forgotten) == (5, 1)


def test_a_record_carrying_a_forgotten_identity_as_a_link_is_skipped_whole(engine: Engine) -> None:
    points = [p for r in load(OTEL)["resourceMetrics"] for s in r["scopeMetrics"] for m in s["metrics"]
              for p in m["sum"]["dataPoints"]]
    first = {a["key"]: a["value"]["stringValue"] for a in points[0]["attributes"]}
    forget(engine, ("anthropic_account", first["user.account_id"]))  # a link of the point, not its identity
    report = ingest_file(engine, OTEL)
    assert report.forgotten > 0 and report.stored > 0 and report.rejected == 0
    assert not {first["user.account_id"], first["user.email"], first["user.id"]} & identity_values(engine)


def test_every_path_into_the_store_drops_the_forgotten(engine: Engine) -> None:
    from bot.ingest.feeds.base import IdentityRef, Record, UsageRow

    forget(engine, ("email", "eli@acme.test"))
    rows = [UsageRow(source="webhookish", record_key=who, identity=IdentityRef.of("email", f"{who}@acme.test"),
                     day=DAY, provider="anthropic", tool="t", model="m", input_tokens=3) for who in ("eli", "fay")]
    with session_scope(engine) as session:
        tally = store_records(session, [Record(f"delivery {n}", (row,)) for n, row in enumerate(rows)])
    assert (tally.stored, tally.skipped, tally.forgotten) == (1, 1, 1)
    assert identity_values(engine) == {"fay@acme.test"}


def test_a_report_of_nobody_but_the_forgotten_removes_nothing(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, ANTHROPIC)
    before = day_rows(engine, "anthropic_usage", DAY)
    forget(engine, ("anthropic_account", ACCOUNT))
    bucket = one_account(load(ANTHROPIC)["data"][2])
    report = ingest_file(engine, write(tmp_path / "forgotten-only.json", {"data": [bucket], "has_more": False}))
    assert (report.forgotten, report.removed) == (2, 0)
    assert day_rows(engine, "anthropic_usage", DAY) == before  # not read as a report of an empty day
