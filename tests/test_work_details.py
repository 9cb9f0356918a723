"""Work details: what the outcome feeds say about each piece of work, stored and read back as WorkItems.

Real files and deliveries through the real store, on SQLite and PostgreSQL; `model-fit` run as a user runs it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select

from bot.config.org import OrgConfig
from bot.core.judgement import judge
from bot.core.judgement_facts import WorkItem
from bot.core.prices import PriceTable
from bot.governance.erasure import forget
from bot.governance.retention import purge
from bot.ingest.feeds.base import IdentityRef, Record, Row, UsageRow, WorkRow, as_json
from bot.ingest.feeds.github_pulls import parse_pulls
from bot.ingest.files import ingest_file
from bot.ingest.store import store_records
from bot.ingest.webhooks import handle_github_webhook, signature_of
from bot.reads.work import Scope, judge_span, scope, usage_days, work_items
from storage.engine import session_scope
from storage.models import Identity, Person, WorkDetail, table
from tests import planted_org
from tests.conftest import EXAMPLE_CONFIG, FIXTURES
from tests.test_cli import tokenworth

ALL_TIME = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
SAMPLE = ("github_pull_detail.json", "github_pulls.json", "jira_search.json", "linear_issues.json")


def items_by_key(engine: Engine) -> dict[str, WorkItem]:
    with session_scope(engine) as session:
        return {item.key: item for item in work_items(session, *ALL_TIME)}


def rows(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(table(WorkDetail))).scalar_one())


@pytest.mark.parametrize("order", [SAMPLE[:2], SAMPLE[1::-1]], ids=["detail-first", "list-first"])
def test_pull_requests_keep_labels_branch_fixes_and_line_counts_in_any_order(
    acme_engine: Engine, acme_config: OrgConfig, order: tuple[str, ...],
) -> None:
    for name in order:
        assert ingest_file(acme_engine, FIXTURES / name, config=acme_config).rejected == 0
    found = items_by_key(acme_engine)
    big = found["github:acme/app#1168:merged"]
    assert (big.source, big.repo, big.ref, big.branch) == ("pr", "acme/app", "acme/app#1168", "ben/billing-stream")
    assert (big.labels, big.additions, big.deletions, big.fixes) == (("size/XXL",), 6812, 2210, ("PLAT-229",))
    assert big.opened_at == datetime(2026, 11, 10, 18, 2, tzinfo=UTC)
    assert big.merged_at == datetime(2026, 11, 12, 9, 44, tzinfo=UTC) and big.person_id is not None
    revert = found["github:acme/app#1175:revert"]
    assert revert.reverts == "github:acme/app#1168:merged" and not revert.is_outcome
    plat = found["github:acme/app#1190:merged"]  # "Resolves PLAT-250." in its body; a list page has no line counts
    assert plat.fixes == ("PLAT-250",) and plat.additions is None and plat.deletions is None
    unmerged = {"github:acme/app#1194:merged", "github:acme/app#1170:merged"}
    assert not unmerged & found.keys()
    assert not any(key.startswith("github:acme/app#1186") for key in found)  # Copilot's bot PR earns nothing
    # the same files again change nothing: every record a duplicate
    again = [ingest_file(acme_engine, FIXTURES / name, config=acme_config) for name in order]
    assert sum(r.stored for r in again) == 0 and items_by_key(acme_engine) == found


def test_the_webhook_stores_the_same_work_details(sqlite_engine: Engine) -> None:
    body = (FIXTURES / "github_webhook_pull_request_merged.json").read_bytes()
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1",
               "X-Hub-Signature-256": signature_of(b"s", body)}
    now = datetime(2026, 11, 20, 19, tzinfo=UTC)
    assert handle_github_webhook(sqlite_engine, b"s", headers, body, now=now).status == 200
    item = items_by_key(sqlite_engine)["github:acme/app#1195:merged"]
    assert (item.title, item.additions, item.deletions, item.branch) == (
        "fix: nil map in tenant cache warmup", 52, 18, "cara/misc-2")
    assert item.opened_at == datetime(2026, 11, 20, 14, 12, tzinfo=UTC)


def test_tickets_keep_issue_type_labels_points_and_start(acme_engine: Engine, acme_config: OrgConfig,
                                                         tmp_path: Path) -> None:
    jira = json.loads((FIXTURES / "jira_search.json").read_text())
    unestimated = copy.deepcopy(jira["issues"][0])
    unestimated["key"], unestimated["fields"]["customfield_10016"] = "PLAT-999", None
    unestimated["fields"]["issuetype"] = {"name": "Bug"}
    jira["issues"].append(unestimated)
    linear = json.loads((FIXTURES / "linear_issues.json").read_text())
    linear["data"]["issues"]["nodes"][0]["labels"] = {"nodes": [{"name": "Bug"}, {"name": "frontend"}]}
    for name, document in (("jira.json", jira), ("linear.json", linear)):
        (tmp_path / name).write_text(json.dumps(document))
        assert ingest_file(acme_engine, tmp_path / name, config=acme_config).rejected == 0
    found = items_by_key(acme_engine)
    billing = found["jira:PLAT-236"]
    assert (billing.source, billing.issue_type, billing.labels, billing.points) == ("jira", "Story", ("billing",), 5.0)
    assert billing.closed_at is not None and billing.ref == "PLAT-236" and billing.person_id is not None
    assert (found["jira:PLAT-999"].points, found["jira:PLAT-999"].issue_type) == (None, "Bug")  # None: nobody estimated
    onboarding = found["linear:PRD-412"]
    assert onboarding.labels == ("Bug", "frontend") and onboarding.points == 3.0
    assert onboarding.opened_at == datetime(2026, 11, 5, 8, 16, 58, 312000, tzinfo=UTC)
    assert onboarding.branch == "dev/prd-412-onboarding-checklist-v2"
    assert found["linear:PRD-426"].points is None


def test_work_details_are_erased_and_purged_with_the_rest(acme_engine: Engine, acme_config: OrgConfig) -> None:
    ingest_file(acme_engine, FIXTURES / "github_pulls.json", config=acme_config)
    before = rows(acme_engine)
    assert before > 0
    result = purge(acme_engine, 400, now=datetime(2028, 1, 31, tzinfo=UTC))
    assert result.removed["workdetail"] == before and rows(acme_engine) == 0
    ingest_file(acme_engine, FIXTURES / "github_pulls.json", config=acme_config)
    with session_scope(acme_engine) as session:
        caras = session.execute(
            select(func.count()).select_from(table(WorkDetail)).join(table(Identity))
            .where(table(Identity).c.kind == "github", table(Identity).c.value == "cara-codes")).scalar_one()
    assert caras > 0
    trimmed = acme_config.model_copy(update={"people": [p for p in acme_config.people if p.email != "cara@acme.test"]})
    done = forget(acme_engine, trimmed, "cara@acme.test", aliases=[IdentityRef.of("github", "cara-codes")])
    assert done.removed["workdetail"] == caras and rows(acme_engine) == before - caras


def test_model_fit_on_the_sample_org_says_not_enough_data_and_recommends_nothing(tmp_path: Path) -> None:
    common = ("--db", f"sqlite:///{tmp_path / 'tw.db'}", "--config", str(EXAMPLE_CONFIG))
    files = [str(FIXTURES / name) for name in SAMPLE] + [str(FIXTURES / "claude_code_analytics")]
    assert tokenworth("ingest", *files, *common, cwd=tmp_path).returncode == 0
    text = tokenworth("model-fit", "--weeks", "6", "--as-of", "2026-12-14", *common, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert "(estimates)" in lines[0] and "not a controlled experiment" in text.stdout
    cells = [line for line in lines if line.startswith("  ") and line.split()[0] in
             ("trivial", "small", "medium", "large", "unknown") and "no recommendation" not in line]
    # Cells below the floor are not even listed: a "not enough data" line would say which work ran on which tier.
    assert cells == [] and "not enough data in any cell" in text.stdout and "are not listed" in text.stdout
    assert "default to" not in text.stdout and "@acme.test" not in text.stdout
    as_json = json.loads(tokenworth("model-fit", "--json", "--as-of", "2026-12-14", "--team", "platform", *common,
                                    cwd=tmp_path).stdout)
    assert as_json["scope"] == "team platform" and as_json["estimate"] is True
    assert as_json["table"] == [] and "not listed" in as_json["hidden"]
    assert all(f["recommendation"] is None for f in as_json["findings"])
    unknown = tokenworth("model-fit", "--team", "nobody", *common, cwd=tmp_path)
    assert unknown.returncode != 0 and "unknown team 'nobody'" in unknown.stderr


def _write_planted(engine: Engine, planted: planted_org.Planted) -> None:
    """The planted org's people, work and spend written through the real store, as feeds would write them."""
    people = sorted({*planted_org.PEOPLE, planted_org.MAINTAINER})
    with session_scope(engine) as session:
        for p in people:
            session.execute(insert(table(Person)).values(id=p, email=f"p{p}@planted.test", kudos_opt_in=False))
            session.execute(insert(table(Identity)).values(kind="github", value=f"p{p}", person_id=p))
        work = [WorkRow(
            source="github" if item.is_pr else "jira", key=item.key,
            identity=IdentityRef.of("github", f"p{item.person_id}"), finished_at=item.finished_at, ref=item.ref,
            title=item.title, labels=as_json(item.labels),
            issue_type=item.issue_type, additions=item.additions, deletions=item.deletions, files=as_json(item.files),
            repo=item.repo, points=item.points, opened_at=item.opened_at, merged_at=item.merged_at,
            closed_at=item.closed_at, reverts=item.reverts, fixes=as_json(item.fixes), branch=item.branch,
        ) for item in planted.items if item.finished_at is not None]
        spend = [UsageRow(
            source="usage_csv", record_key=f"planted|{i}", identity=IdentityRef.of("github", f"p{day.person_id}"),
            day=day.day, provider="anthropic", tool="claude_code", model=day.model, cost_usd=day.spend_usd,
        ) for i, day in enumerate(planted.usage)]
        written: list[Row] = [*work, *spend]
        tally = store_records(session, [Record(f"work[{i}]", (row,)) for i, row in enumerate(written)])
        assert tally.rejected == 0 and tally.stored == len(work) + len(spend)


def test_the_planted_truth_survives_the_store(sqlite_engine: Engine, acme_config: OrgConfig,
                                              prices: PriceTable) -> None:
    planted = planted_org.generate()
    _write_planted(sqlite_engine, planted)
    weeks, as_of = 15, planted_org.AS_OF
    since = as_of.date() - timedelta(days=7 * weeks - 1)
    with session_scope(sqlite_engine) as session:
        everyone = scope(session)
        stored = judge_span(session, acme_config, prices, everyone, weeks, as_of)
        assert len(usage_days(session, everyone.person_ids, date(2025, 1, 1), date(2027, 1, 1), prices)) == len(
            planted.usage)
    direct = judge(planted.items, planted.usage, acme_config, since, as_of)
    recommended = {f.work_class: f.recommendation for f in stored.findings if f.recommendation}
    assert set(recommended) == {"trivial", "small"}  # the planted truth: never for large
    assert [(c.work_class, c.tier, c.figures) for c in stored.table] == [
        (c.work_class, c.tier, c.figures) for c in direct.table]
    for size, r in recommended.items():
        saving = planted_org.planted_weekly_saving(planted.frontier_spend[size], since, as_of)
        assert r.weekly_saving_low_usd <= saving <= r.weekly_saving_high_usd
    assert stored.rework.outcomes == direct.rework.outcomes and stored.rework.reverted == direct.rework.reverted
    assert Scope("the org", everyone.person_ids).people == 13


def test_bad_line_counts_are_rejected_with_the_field_and_closing_words_are_read() -> None:
    detail = json.loads((FIXTURES / "github_pull_detail.json").read_text())
    bad = [{**detail, "additions": -5}, {**detail, "number": 2, "deletions": "many"}]
    found = list(parse_pulls(bad))
    assert [type(i).__name__ for i in found] == ["Rejection", "Rejection"]
    assert "additions" in found[0].reason and "deletions" in found[1].reason  # type: ignore[union-attr]
    body = "Fixes abc-12, closes: ENG-7 and Resolved PROJ-3; see XYZ-9; fixes #44"
    rows = [r for i in parse_pulls({**detail, "body": body}) if isinstance(i, Record) for r in i.rows]
    work = next(r for r in rows if isinstance(r, WorkRow))
    assert json.loads(work.fixes) == ["ABC-12", "ENG-7", "PROJ-3"]


def test_cells_below_the_floor_and_findings_resting_on_them_are_not_shown() -> None:
    from bot.core.evidence import Cell, Figures
    from bot.core.model_fit import Finding
    from bot.finops.model_fit import shown

    enough = Figures(12, 6, 120.0, 8.0, 10.0, 12.0, 1, 0.01, 0.35)
    table = [Cell("small", "frontier", None, enough), Cell("small", "standard", None, None),
             Cell("large", "standard", None, enough), Cell("trivial", "frontier", None, None)]
    found = [Finding("small", None, "small work: the standard tier has not enough data"),
             Finding("large", None, "large work: none ran mostly on the frontier tier, nothing to move"),
             Finding("trivial", None, "trivial work: the frontier tier has not enough data")]
    cells, findings = shown(table, found)
    assert [(c.work_class, c.tier) for c in cells] == [("small", "frontier"), ("large", "standard")]
    assert [f.work_class for f in findings] == ["small"]


def test_usage_naming_its_work_is_linked_to_it_directly(acme_engine: Engine, acme_config: OrgConfig,
                                                        prices: PriceTable) -> None:
    """A usage record's work_ref (LiteLLM request tags, say) wins over the day's open work: linked `direct`."""
    ingest_file(acme_engine, FIXTURES / "github_pulls.json", config=acme_config)
    cara = IdentityRef.of("email", "cara@acme.test")
    spend = [UsageRow(source="usage_csv", record_key=f"cara|{ref or 'none'}", identity=cara, day=date(2026, 11, 19),
                      provider="anthropic", tool="claude_code", model="claude-sonnet-4-6", cost_usd=cost, work_ref=ref)
             for ref, cost in (("cara/plat-250-cache", 6.0), ("", 4.0))]
    with session_scope(acme_engine) as session:
        assert store_records(session, [Record(f"u[{i}]", (row,)) for i, row in enumerate(spend)]).stored == 2
        days = usage_days(session, scope(session).person_ids, date(2026, 11, 19), date(2026, 11, 20), prices)
        assert sorted(((d.link, d.spend_usd) for d in days), key=lambda d: d[1]) == [
            (None, 4.0), ("cara/plat-250-cache", 6.0)]
        judged = judge_span(session, acme_config, prices, scope(session), 2, datetime(2026, 11, 23, tzinfo=UTC))
    cache = "github:acme/app#1190:merged"  # its head branch is cara/plat-250-cache
    direct = [(link.outcome, link.amount_usd) for link in judged.links if link.how == "direct"]
    assert direct == [(cache, 6.0)]
    # the unnamed $4 is split over what Cara had open that day (#1190 and #1191), by window
    window = sorted((link.outcome, link.amount_usd) for link in judged.links if link.how == "window")
    assert window == [(cache, 2.0), ("github:acme/app#1191:merged", 2.0)]
    assert judged.linked.share("direct") == 0.6
