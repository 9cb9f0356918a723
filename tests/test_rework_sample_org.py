"""The sample org's rework figures against a table worked out by hand from the raw fixture files.

The org: tests/fixtures/github_pulls.json (pulled from the fake vendor server, with each merged PR's files from
tests/fixtures/sample_org/pull_files/ and #1168's two pages from github_pull_files*.json), jira_search.json with
its changelogs, linear_issues.json with its state history, and Claude Code Analytics for the spend. Judged as of
2026-12-14, when every rework window (21 days from 2026-11-09 to 2026-11-20) has closed: nothing provisional.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.config.org import OrgConfig
from bot.core.judgement import Judgement
from bot.core.prices import PriceTable
from bot.ingest.files import ingest_paths
from bot.ingest.pull import pull
from bot.reads.work import judge_span, scope
from storage.engine import session_scope
from tests.conftest import FIXTURES
from tests.fakes.vendor_server import Reply, VendorServer, route_linked_pages
from tests.pull_helpers import KEYS, NOW, day, github_pages, settings_for

AS_OF = datetime(2026, 12, 14, 12, tzinfo=UTC)
PULLS = "/repos/acme/app/pulls"

# Worked by hand. Points: a merged PR 3, a ticket 1 x its story points or estimate (1 when none).
# platform = ana, ben, cara (Jira PLAT); product = dev, eli, fay (Linear PRD).
HAND = {
    # platform: 17 merged PRs (ana 1165 1166 1176 1183 1188; ben 1168 1179; cara 1163 1164 1169 1172 1173 1180
    #   1185 1190 1191 1195) + 13 PLAT tickets = 30 outcomes.
    #   reverted: #1168 by the revert #1175 (2026-11-13, a day after its merge).
    #   fixed after: #1190 (PLAT-250, merged 11-20 13:03) by #1195 "fix: nil map in tenant cache warmup" (11-20 18:12),
    #     found only through PR files: both touch internal/tenant/cache_warmup.go; nothing else links them.
    #   reopened: PLAT-243, first done 11-10 09:20, reopened 11-10 16:05 (changelog: resolution cleared), done 11-11.
    #   rework rate 3 / 30; surviving points: 15 PRs x 3 = 45, tickets 43 - 2 (PLAT-243) = 41; 86 in all.
    #   spend: Claude Code estimated_cost of ana 9,052.80 + ben 113,775.55 + cara 1,263.14 cents = $1,240.9149,
    #   over 15 surviving PRs = $82.72766 per accepted change.
    "platform": dict(outcomes=30, reverted=1, fixed_after=1, reopened=1, rate=3 / 30, surviving_prs=15,
                     surviving_points=86.0, spend=1240.9149, per_change=1240.9149 / 15),
    # product: 13 merged PRs (dev 1161 1167 1174 1181 1187 1192; eli 1162 1177 1184 1193; fay 1171 1182 1189)
    #   + 15 PRD issues = 28 outcomes.
    #   fixed after: #1162 (11-10) by #1177 (11-16), a fix because it says "Fixes PRD-417" and PRD-417 is labelled
    #     Bug; both touch internal/email/format.go. Both also touch CHANGELOG.md, which ties nothing (ignore_files):
    #     else #1177 would also "fix" #1161, #1171, #1174 and six platform PRs that touched it before.
    #   reopened: PRD-420, first completed 11-13 15:02, back to In Progress 11-16 09:31 (history), completed 11-17.
    #   rework rate 2 / 28; surviving points: 12 PRs x 3 = 36, estimates 32 - 2 (PRD-420) = 30; 66 in all.
    #   spend: only eli uses Claude Code: 5,057.91 cents = $50.5791, over 12 surviving PRs.
    "product": dict(outcomes=28, reverted=0, fixed_after=1, reopened=1, rate=2 / 28, surviving_prs=12,
                    surviving_points=66.0, spend=50.5791, per_change=50.5791 / 12),
    # the org: both teams; the CI key's $16.5734 belongs to nobody and is no one's spend.
    "org": dict(outcomes=58, reverted=1, fixed_after=2, reopened=2, rate=5 / 58, surviving_prs=27,
                surviving_points=152.0, spend=1291.494, per_change=1291.494 / 27),
}


pytestmark = pytest.mark.usefixtures("clean_environment")  # no .env, no vendor keys from the shell


@pytest.fixture
def server() -> Iterator[VendorServer]:
    with VendorServer() as running:
        github_pages(running, PULLS, 100)
        pages = [json.loads((FIXTURES / f"github_pull_files{n}.json").read_text()) for n in ("", ".page2")]
        route_linked_pages(running, f"{PULLS}/1168/files", pages, per_page="100")
        for path in sorted((FIXTURES / "sample_org" / "pull_files").glob("*.json")):
            running.route("GET", f"{PULLS}/{path.stem}/files", Reply.file(path))
        yield running


@pytest.fixture
def judged(acme_engine: Engine, acme_config: OrgConfig, prices: PriceTable,
           server: VendorServer) -> Iterator[tuple[Judgement, dict[str, tuple[int, ...]]]]:
    [result] = pull(acme_engine, settings_for(server, **KEYS), "github", since=day("2026-11-01"),
                    until=day("2026-11-23"), repo="acme/app", sleep=lambda _: None, clock=lambda: NOW)
    assert result.ok, result.error
    assert len([r for r in server.seen() if r.path.endswith("/files")]) == 32  # 31 merged PRs by people, #1168 twice
    reports = ingest_paths(acme_engine, [FIXTURES / "jira_search.json", FIXTURES / "linear_issues.json",
                                         FIXTURES / "claude_code_analytics"], config=acme_config)
    assert all(r.rejected == 0 and not r.unusable for r in reports)
    with session_scope(acme_engine) as session:
        org = scope(session)
        teams = {name: scope(session, name).person_ids for name in ("platform", "product")}
        yield judge_span(session, acme_config, prices, org, 6, AS_OF), {**teams, "org": org.person_ids}


def test_rework_figures_match_the_table_worked_by_hand(judged: tuple[Judgement, dict[str, tuple[int, ...]]]) -> None:
    judgement, people = judged
    for group, hand in HAND.items():
        found = judgement.rework_of(people[group])
        assert (found.outcomes, found.reverted, found.fixed_after, found.reopened) == (
            hand["outcomes"], hand["reverted"], hand["fixed_after"], hand["reopened"]), group
        assert found.rework_rate == pytest.approx(hand["rate"]), group
        assert (found.surviving_prs, found.surviving_points, found.provisional) == (
            hand["surviving_prs"], hand["surviving_points"], 0), group
        assert judgement.spend_usd(people[group]) == pytest.approx(hand["spend"]), group
        assert judgement.cost_per_accepted_change(people[group]) == pytest.approx(hand["per_change"]), group
    # each rework names what undid it, and is charged to the original author or assignee
    undone = {o.verdict.key: (o.verdict.rework, o.verdict.undone_by) for o in judgement.outcomes if o.verdict.rework}
    assert undone == {
        "github:acme/app#1168:merged": ("reverted", "github:acme/app#1175:revert"),
        "github:acme/app#1190:merged": ("fixed_after", "github:acme/app#1195:merged"),
        "github:acme/app#1162:merged": ("fixed_after", "github:acme/app#1177:merged"),
        "jira:PLAT-243": ("reopened", None),
        "linear:PRD-420": ("reopened", None),
    }
    assert judgement.rework == judgement.rework_of(people["org"])
