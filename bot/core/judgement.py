"""Judging the work in one call: class every outcome, find what was undone, link spend, weigh the evidence.

A pure function of the records, the config and `as_of`: the same inputs in any order give the same judgement.
The rework line of a group (a team) counts the outcomes of its people, wherever the rework came from, beside
the spend of its people in the period.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from bot.config.org import OrgConfig
from bot.core.evidence import Cell, JudgedOutcome, evidence_table
from bot.core.judgement_facts import UsageDay, WorkItem
from bot.core.linking import Link, LinkTotals, OutcomeCost, link_spend, link_totals, outcome_costs
from bot.core.model_fit import Finding, findings
from bot.core.rework import ReworkSummary, cost_per_accepted_change, summarise, verdicts
from bot.core.weeks import to_utc
from bot.core.work import classify


@dataclass(frozen=True)
class Judgement:
    outcomes: tuple[JudgedOutcome, ...]  # the outcomes finished in the period, sorted by key
    links: tuple[Link, ...]  # every dollar of the usage given, linked or not
    table: tuple[Cell, ...]  # the evidence table by tier
    findings: tuple[Finding, ...]
    since: date | None = None  # the period's first day; links before it are spend on work opened earlier

    @property
    def rework(self) -> ReworkSummary:
        return summarise(o.verdict for o in self.outcomes)

    def rework_of(self, people: Collection[int]) -> ReworkSummary:
        """The rework line of these people's outcomes (rework is charged to the original author or assignee)."""
        return summarise(o.verdict for o in self.outcomes if o.verdict.person_id in people)

    def spend_usd(self, people: Collection[int] | None = None) -> float:
        """The spend in the period (from `since`), of these people or of everyone given."""
        return sum(
            link.amount_usd for link in sorted(self.links, key=lambda k: (k.person_id, k.day, k.amount_usd))
            if (self.since is None or link.day >= self.since) and (people is None or link.person_id in people)
        )

    def cost_per_accepted_change(self, people: Collection[int] | None = None) -> float | None:
        """Spend in the period ÷ merged PRs that survived, of these people or of everyone; none when none survived."""
        summary = self.rework if people is None else self.rework_of(people)
        return cost_per_accepted_change(self.spend_usd(people), summary)

    @property
    def linked(self) -> LinkTotals:
        return link_totals(self.links)


def judge(
    items: Iterable[WorkItem], usage: Iterable[UsageDay], config: OrgConfig, since: date, as_of: datetime
) -> Judgement:
    """The period [since, as_of]: outcomes finished in it are judged; earlier items still take their spend.

    `items`: every PR merged and ticket done up to `as_of` (reverts, fixes and the tickets PRs close included),
    keys unique; `usage`: counted, priced spend. Give both from a little before `since` (two weeks, say), so
    spend on work opened before the period lands on it; `links` then covers those days too.
    """
    known = list(items)
    as_of = to_utc(as_of)
    links = link_spend(usage, known)
    costs = outcome_costs(links)
    classes = {item.key: classify(item, config.work_classes) for item in known if item.is_outcome}
    found = verdicts(known, config.rework, config.work_classes.kinds, config.policy.points, as_of)
    judged = tuple(
        JudgedOutcome(v, classes[v.key], costs.get(v.key, OutcomeCost()))
        for v in found if to_utc(v.finished_at).date() >= since
    )
    weeks = max((as_of.date() - since).days + 1, 1) / 7
    table = evidence_table(judged, config.model_fit, config.policy.min_group_size, as_of)
    advice = findings(judged, config.model_fit, config.policy.min_group_size, as_of, weeks)
    return Judgement(judged, tuple(links), tuple(table), tuple(advice), since)
