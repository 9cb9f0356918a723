"""The digest a manager meets (issue 18): one finding and one action, a rework line beside yield, the evidence
table in the thread, the price-ratio figure only as a ceiling, and no line that says zero or pins anyone.

The planted org (tests/planted_org.py) is judged as the digest judges a team: twelve people, the standard tier
fits trivial and small PRs, not large ones.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.config.org import OrgConfig
from bot.core.judgement import judge
from bot.core.metrics import PersonWeek
from bot.core.rework import FIXED_AFTER, REVERTED, Verdict
from bot.core.weeks import Week
from bot.digest.build import Digest, build_digest
from bot.digest.figures import Extras
from bot.digest.finding import finding, rework_line
from bot.digest.judged import WorkInputs, evidence_figures, week_end, work_inputs
from bot.digest.text import digest_text
from bot.slack.blocks import summary_blocks
from tests.planted_org import AS_OF, PEOPLE, SINCE, START, generate

WEEK = Week.of(AS_OF.date())
CONFIG = OrgConfig()
JUDGED = judge(generate().items, generate().usage, CONFIG, SINCE, week_end(WEEK))
WRONG = re.compile(r"\(s\)|(?<![\d.,])1 (people|outcomes|PRs|tickets|identities|seats|pages)\b|(?<![\d.,$])0 ")


def team_week(spend: float = 100.0, points: float = 6.0, tiers: dict[str, float] | None = None) -> PersonWeek:
    return PersonWeek(str(WEEK), spend_usd=spend, outcome_points=points, spend_by_tier=tiers or {"standard": spend},
                      spend_by_tool={"claude_code": spend}, active=True)


def digest_of(work: WorkInputs, people: int = 12, **week: object) -> Digest:
    figures = {(pid, str(WEEK)): team_week(**week) for pid in range(1, people + 1)}  # type: ignore[arg-type]
    return build_digest("shop", WEEK, figures, list(range(1, people + 1)), 5, extras=Extras(work=work),
                        min_outcomes=CONFIG.model_fit.min_outcomes)


def planted_digest() -> Digest:
    return digest_of(work_inputs(JUDGED, PEOPLE, WEEK, CONFIG.model_fit))


def test_the_top_message_leads_with_the_best_recommendation_labelled_an_estimate() -> None:
    digest = planted_digest()
    found = finding(digest)
    assert found.finding.startswith("Small work cost $") and "on the standard tier against $" in found.finding
    assert found.action.startswith("Default small work to claude-sonnet-4-6 (Claude Code: `/model claude-sonnet-4-6`")
    assert "an estimated $" in found.action and "a week (estimate from 120 outcomes by 12 people" in found.action
    assert "not a controlled experiment" in found.action
    text = digest_text(digest)
    assert text.index("Finding: Small work") < text.index("Outcome points") < text.index("Where the money went")
    blocks = json.dumps(summary_blocks(digest))
    assert blocks.index("Small work cost") < blocks.index("Outcome points")


def test_the_thread_carries_the_evidence_table_and_no_recommendation_for_large_work() -> None:
    text = digest_text(planted_digest())
    for size in ("trivial", "small", "large"):
        for tier in ("frontier", "standard"):
            assert f"{size} · {tier}: 60 outcomes from 12 people, $" in text
    assert "medium ·" not in text  # 4 outcomes from 2 people a tier: not listed at all
    assert "are not listed: listing them would say which work ran on which tier" in text
    assert "trivial work: default to claude-sonnet-4-6" in text and "large work: default to" not in text
    assert "Could have saved" not in text


def test_an_evidence_cell_or_a_saving_never_shows_below_the_floor_even_when_the_evidence_rule_passed_it() -> None:
    inputs = work_inputs(JUDGED, PEOPLE, WEEK, CONFIG.model_fit)
    assert {f.key.split("|")[0] for f in evidence_figures(inputs, 5)} == {"cell", "fit"}
    assert evidence_figures(inputs, 13) == ()  # the cells hold 12 people: a floor of 13 shows none of them
    assert planted_digest().sheet is not None and digest_of(inputs, people=4).sheet is None


def test_the_rework_line_stands_beside_yield_and_says_it_is_provisional() -> None:
    finished = START + timedelta(days=7 * 14)
    verdicts = [Verdict(f"pr-{n}", "pr", 1 + n % 12, finished, finished + timedelta(days=21), 3.0,
                        rework=REVERTED if n < 5 else FIXED_AFTER if n == 5 else None, provisional=n >= 6)
                for n in range(24)]
    digest = digest_of(WorkInputs(verdicts=tuple(verdicts)))
    line = rework_line(digest)
    # the one fix after merging is one person's: counted in the rate, never on its own
    assert line == ("Rework: 25% of 24 outcomes (5 PRs reverted); $66.67 per accepted change. Provisional: 18 "
                    "outcomes are still inside the 21-day window in which a revert or fix would count")
    text = digest_text(digest)
    assert text.index("People active") < text.index("Rework: 25%") < text.index("Where the money went")


def test_a_revert_by_one_of_twelve_is_not_counted_but_cost_per_accepted_change_is_shown() -> None:
    finished = START + timedelta(days=7 * 14)
    verdicts = [Verdict(f"pr-{n}", "pr", 1 + n, finished, finished + timedelta(days=21), 3.0,
                        rework=REVERTED if n == 0 else None) for n in range(12)]
    digest = digest_of(WorkInputs(verdicts=tuple(verdicts)))
    line = rework_line(digest) or ""
    assert line.startswith("Rework: not shown this week") and "1 PR reverted" not in digest_text(digest)
    assert "$109.09 per accepted change" in line  # $1,200 over the 11 PRs that stand
    assert digest.as_json()["rework"]["rework:reverted"] is None


def test_no_line_says_zero_or_uses_a_wrong_plural() -> None:
    verdicts = (Verdict("pr-1", "pr", 1, START, START + timedelta(days=21), 3.0),)
    digest = digest_of(WorkInputs(verdicts=verdicts), tiers={"standard": 100.0})
    text = digest_text(digest)
    assert not WRONG.search(text), text
    assert "Frontier share" not in text and "ceiling" not in text and "no spend" not in text
    assert rework_line(digest) == "Cost per accepted change: $1,200.00"
    assert "Unattributed" not in text and "Billed by vendors" not in text


def test_the_price_ratio_figure_shows_only_as_a_labelled_ceiling() -> None:
    figures = {(pid, str(WEEK)): PersonWeek(str(WEEK), spend_usd=100.0, outcome_points=3.0, active=True,
                                            spend_by_tier={"frontier": 100.0}, savings_usd=60.0)
               for pid in range(1, 7)}
    text = digest_text(build_digest("shop", WEEK, figures, list(range(1, 7)), 5))
    assert "Price-ratio ceiling: $360.00 (ceiling, not a saving: all frontier spend re-priced" in text
    assert "Could have saved" not in text and "saved" not in text


def test_a_week_with_no_data_says_so_instead_of_advising_to_merge_teams() -> None:
    figures = {(pid, str(WEEK)): PersonWeek(str(WEEK)) for pid in range(1, 7)}
    text = digest_text(build_digest("shop", WEEK, figures, list(range(1, 7)), 5))
    assert "no usage data reached tokenworth for this week: check the feeds" in text
    assert "merge small teams" not in text
