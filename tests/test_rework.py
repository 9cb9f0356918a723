"""Rework that sticks: a small org's verdicts and rework line, worked out by hand, and their invariants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.org import OrgConfig, ReworkRules
from bot.core.facts import ActivityFact
from bot.core.judgement_facts import WorkItem
from bot.core.rework import ReworkSummary, copilot_acceptance, cost_per_accepted_change, summarise, verdicts
from bot.core.signals import SuggestionFlow, copilot_suggestions, rework

D0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
ANA, BEN, CY = 1, 2, 3
CONFIG = OrgConfig()


def day(n: float) -> datetime:
    return D0 + timedelta(days=n)


def pr(name: str, author: int, merged: float, files: tuple[str, ...], title: str = "feat: change",
       repo: str = "acme/api", reverts: str | None = None, fixes: tuple[str, ...] = ()) -> WorkItem:
    return WorkItem(key=f"github:{repo}#{name}:merged", source="pr", person_id=author, ref=f"{repo}#{name}",
                    title=title, repo=repo, files=files, merged_at=day(merged), opened_at=day(merged - 1),
                    reverts=reverts, fixes=fixes, additions=10, deletions=2)


def ticket(ref: str, assignee: int, done: float, reopened: tuple[float, ...] = (), points: float | None = None,
           issue_type: str = "Story") -> WorkItem:
    return WorkItem(key=f"jira:{ref}", source="jira", person_id=assignee, ref=ref, issue_type=issue_type,
                    points=points, closed_at=day(done), reopened_at=tuple(day(r) for r in reopened))


A = pr("A", ANA, 0, ("src/cart.py", "src/total.py", "CHANGELOG.md"))
ITEMS = (
    A,
    pr("B", BEN, 5, ("src/total.py",), title="fix(cart): rounding"),  # fixes A: a file of A, within 21 days
    pr("C", ANA, 1, ("src/search.py",)),
    pr("R1", CY, 30, ("src/search.py",), title='Revert "feat: change"', reverts="github:acme/api#C:merged"),  # late
    pr("D", BEN, 2, ("src/auth.py",)),
    pr("R2", CY, 4, ("src/auth.py",), title='Revert "feat: change"', reverts="github:acme/api#D:merged"),
    pr("E", CY, 3, ("src/pay.py",)),
    pr("F", BEN, 26, ("src/pay.py",), title="fix: pay"),  # 23 days after E: outside the window
    pr("G", ANA, 6, ("src/cart.py",)),
    pr("H", CY, 8, ("src/cart.py",), title="fix: cart", repo="acme/web"),  # same path, another repository
    pr("I", BEN, 10, ("src/cart.py",), title="Handle an empty basket", fixes=("ABC-9",)),  # closes a Bug: fixes G
    pr("K", CY, 1, ("CHANGELOG.md", "docs/notes.md"), title="docs: notes"),
    pr("J", CY, 7, ("CHANGELOG.md",), title="fix: typo in the changelog"),  # an ignored file: K survives
    pr("P", ANA, 55, ("src/new.py",)),  # its window is still open on day 60
    ticket("ABC-9", BEN, 10, points=1, issue_type="Bug"),
    ticket("ABC-1", ANA, 0, reopened=(10,)),
    ticket("ABC-2", ANA, 0, reopened=(30,)),
    ticket("ABC-3", CY, 50, points=5),
)
AS_OF = day(60)


def judged(items=ITEMS, as_of: datetime = AS_OF, rules: ReworkRules = CONFIG.rework):  # type: ignore[no-untyped-def]
    return {v.key: v for v in verdicts(items, rules, CONFIG.work_classes.kinds, CONFIG.policy.points, as_of)}


def test_the_hand_worked_verdicts() -> None:
    found = judged()
    undone = {k.split("#")[-1].removesuffix(":merged"): (v.rework, v.undone_by) for k, v in found.items() if v.rework}
    assert undone == {
        "A": ("fixed_after", "github:acme/api#B:merged"),  # the earliest of B (day 5) and I (day 10)
        "D": ("reverted", "github:acme/api#R2:merged"),
        "G": ("fixed_after", "github:acme/api#I:merged"),  # found through PR files and a Bug ticket
        "jira:ABC-1": ("reopened", None),
    }
    assert "github:acme/api#R1:merged" not in found and "github:acme/api#R2:merged" not in found  # reverts: no outcomes
    assert {k for k, v in found.items() if v.provisional} == {"github:acme/api#P:merged", "jira:ABC-3"}


def test_the_hand_worked_rework_line() -> None:
    summary = summarise(judged().values())
    assert summary == ReworkSummary(
        merged_prs=12, closed_tickets=4, reverted=1, fixed_after=2, reopened=1, surviving_prs=9,
        surviving_points=9 * 3 + 1 + 1 + 5, provisional=2,
    )
    assert summary.outcomes == 16 and summary.reworked == 4 and summary.rework_rate == 0.25
    assert cost_per_accepted_change(450.0, summary) == 50.0
    assert cost_per_accepted_change(450.0, ReworkSummary()) is None and ReworkSummary().rework_rate is None


def test_rework_is_charged_to_the_original_author_not_the_fixer() -> None:
    found = judged()
    a, g = found[A.key], found["github:acme/api#G:merged"]
    assert (a.person_id, g.person_id) == (ANA, ANA)
    assert a.undone_at == day(5) and a.settles_at == day(21) and not a.survives
    ana = summarise(v for v in found.values() if v.person_id == ANA)
    ben = summarise(v for v in found.values() if v.person_id == BEN)
    assert (ana.fixed_after, ana.reopened, ben.fixed_after, ben.reverted) == (2, 1, 0, 1)


def test_only_events_up_to_as_of_count() -> None:
    early = judged(as_of=day(4))
    assert early[A.key].survives and early[A.key].provisional  # B merges on day 5
    assert early["github:acme/api#D:merged"].rework == "reverted"  # R2 merges exactly at as_of
    assert judged(as_of=day(3.9))["github:acme/api#D:merged"].provisional


def test_a_longer_window_catches_the_late_revert_and_fix() -> None:
    found = judged(rules=ReworkRules(window_days=30))
    assert found["github:acme/api#C:merged"].rework == "reverted"
    assert found["github:acme/api#E:merged"].rework == "fixed_after"
    assert found["jira:ABC-2"].rework == "reopened"


def test_ignored_files_are_configurable() -> None:
    found = judged(rules=ReworkRules(ignore_files=()))
    assert found["github:acme/api#K:merged"].undone_by == "github:acme/api#J:merged"


def test_naive_times_are_utc() -> None:
    naive = WorkItem(key="jira:X-1", source="jira", person_id=1, ref="X-1", closed_at=datetime(2026, 3, 2),
                     reopened_at=(datetime(2026, 3, 3),))
    assert naive.closed_at == datetime(2026, 3, 2, tzinfo=UTC)
    only = judged(items=(naive,), as_of=datetime(2026, 6, 1))
    assert only["jira:X-1"].rework == "reopened"


def test_copilot_suggestions_not_accepted_are_activity_not_rework() -> None:
    activity = [
        ActivityFact(ANA, date(2026, 3, 2), "copilot_usage", "suggestions", 40),
        ActivityFact(ANA, date(2026, 3, 2), "copilot_usage", "acceptances", 10),
        ActivityFact(ANA, date(2026, 3, 2), "cursor_daily", "totalRejects", 7),
    ]
    assert copilot_acceptance(activity) == 0.25
    assert copilot_acceptance(activity[2:]) is None
    assert summarise(judged().values()).reworked == 4  # the rework line reads verdicts only


def test_a_person_weeks_rework_signals_leave_copilot_out_and_its_acceptance_is_shown_as_activity() -> None:
    activity = [
        ActivityFact(ANA, date(2026, 3, 2), "copilot_usage", "suggestions", 30),
        ActivityFact(ANA, date(2026, 3, 3), "copilot_usage", "suggestions", 10),
        ActivityFact(ANA, date(2026, 3, 3), "copilot_usage", "acceptances", 12),
        ActivityFact(ANA, date(2026, 3, 2), "claude_code", "edits_rejected", 5),
    ]
    assert rework(activity, 1) == {"assistant_edits_rejected": 5, "prs_reverted": 1}
    flow = copilot_suggestions(activity)
    assert (flow.suggested, flow.accepted, flow.acceptance_rate) == (40, 12, 0.3)
    assert copilot_suggestions(activity[3:]) == SuggestionFlow() and SuggestionFlow().acceptance_rate is None
    assert SuggestionFlow(10, 14).acceptance_rate == 1.0  # a late acceptance of an earlier suggestion never exceeds 1


@settings(max_examples=40, deadline=None)
@given(st.permutations(ITEMS))
def test_the_order_of_records_changes_nothing(shuffled: list[WorkItem]) -> None:
    assert list(judged(tuple(shuffled)).values()) == list(judged().values())
