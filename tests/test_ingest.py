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


# --- the command line: walked directories, dry runs, totals, the latest rejections -----------------------------


def cli_ingest(*args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from bot.cli import cli

    result = CliRunner().invoke(cli, list(args))  # click 8.2: stdout and stderr apart
    return result.exit_code, result.stdout, result.stderr


def sqlite_dump(path: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return list(connection.iterdump())


def feeds_with_notes(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "pulls.json").write_bytes(PULLS.read_bytes())
    (folder / "README.md").write_text("# What is in this export\n\nPull requests, weekly.\n")
    (folder / "header-only.csv").write_text("team,owner\n")
    (folder / "notes.txt").write_text("ask Ana about the Cursor key\n")
    return folder


def test_files_in_a_walked_directory_that_are_not_feeds_are_skipped_with_a_warning(tmp_path: Path) -> None:
    folder = feeds_with_notes(tmp_path)
    db = ("--db", f"sqlite:///{tmp_path / 'tw.db'}")
    code, out, err = cli_ingest("ingest", str(folder), *db)
    assert code == 0, err
    for name in ("README.md", "header-only.csv", "notes.txt"):
        assert f"warning: {folder / name}: skipped, not a feed (not a format tokenworth knows)" in err
    assert f"{folder / 'pulls.json'}: github: 35 read, 31 stored, 0 duplicates, 4 skipped (pull requests not " \
           "merged, or opened by bots, or repeated in the file), 0 rejected" in out
    assert out.splitlines()[-1] == ("total: 1 file, 35 read, 31 stored, 0 duplicates, 4 skipped, 0 rejected, "
                                    "3 files skipped as not feeds")
    named, _, named_err = cli_ingest("ingest", str(folder / "README.md"), *db)
    assert named == 2 and "not a format tokenworth knows" in named_err  # named on its own, it must be a feed


def test_dry_run_reports_what_ingest_would_do_and_writes_nothing(tmp_path: Path) -> None:
    folder = feeds_with_notes(tmp_path)
    path = tmp_path / "tw.db"
    db = ("--db", f"sqlite:///{path}")
    assert cli_ingest("ingest", str(CLAUDE_CODE), *db)[0] == 0
    before = sqlite_dump(path)
    code, out, _ = cli_ingest("ingest", "--dry-run", str(folder), str(CLAUDE_CODE / "2026-11-17.json"), *db)
    assert code == 0 and sqlite_dump(path) == before
    assert out.splitlines()[-1].startswith("Dry run, nothing written: total: 2 files, 41 read, 31 stored, "
                                           "6 duplicates, 4 skipped")
    _, real, _ = cli_ingest("ingest", str(folder), str(CLAUDE_CODE / "2026-11-17.json"), *db)
    assert real.splitlines()[-1] == out.splitlines()[-1].removeprefix("Dry run, nothing written: ")


def test_dry_run_keeps_nothing_on_either_database(engine: Engine) -> None:
    from bot.ingest.files import ingest_each

    before, runs = snapshot(engine), count(engine, IngestRun)
    [report] = ingest_each(engine, [PULLS], dry_run=True)
    assert report.stored == 31 and snapshot(engine) == before and count(engine, IngestRun) == runs


def test_ingest_errors_shows_each_files_latest_rejections_only(tmp_path: Path) -> None:
    db = ("--db", f"sqlite:///{tmp_path / 'tw.db'}")
    page = json.loads((FIXTURES / "claude_code_analytics.json").read_text())
    good = json.dumps(page)
    page["data"][2]["model_breakdown"][0]["tokens"]["output"] = "lots"
    bad = tmp_path / "export.json"
    bad.write_text(json.dumps(page))
    for _ in range(2):
        assert cli_ingest("ingest", str(bad), *db)[0] == 1
    _, shown, _ = cli_ingest("ingest-errors", *db)
    assert shown.count("data[2]: model_breakdown.0.tokens.output") == 1  # not once per earlier run
    bad.write_text(good)
    assert cli_ingest("ingest", str(bad), *db)[0] == 0
    _, fixed, _ = cli_ingest("ingest-errors", *db)
    assert fixed.strip() == "No rejected records in the latest ingest of any file."
