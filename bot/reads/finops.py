"""The FinOps read side: the org's counted-once usage split into people's, workflows' and nobody's,
workflow outcomes, seat snapshots and gateway traffic, each one query over the stored columns.

Invariant: every FinOps figure (reports, export, budgets, `identities --unmapped`) reads usage here,
through `unattributed_facts` and `usage_facts`, so it agrees with `reconcile` and the digest to the cent.
Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.attribution import count_once
from bot.core.facts import UsageFact
from bot.core.seats import SeatSnapshot
from bot.core.workflows import WORKFLOW_IDENTITY, Unattributed, WorkflowRule, rules_of, split_unattributed
from bot.reads.queries import unattributed_facts, usage_facts
from storage.models import Billed, Identity, Outcome, Person, Seat, Usage, table


@dataclass(frozen=True)
class OrgUsage:
    """All usage of [start, end) counted once: people's, each workflow's, and what stays nobody's."""

    people: list[UsageFact]
    workflows: list[tuple[UsageFact, WorkflowRule]]
    nobody: list[Unattributed]
    teams: dict[int, str | None]  # person id -> team

    def all_facts(self) -> list[UsageFact]:
        return [*self.people, *(f for f, _ in self.workflows), *(f for f, _, _ in self.nobody)]


def org_usage(
    session: Session, config: OrgConfig, canonical: Callable[[str], str], start: date, end: date,
) -> OrgUsage:
    teams = {pid: team for pid, team in session.execute(select(table(Person).c.id, table(Person).c.team))}
    people = count_once(usage_facts(session, list(teams), start, end), canonical)
    flows, nobody = split_unattributed(unattributed_facts(session, config.gateways, start, end),
                                       rules_of(config.workflows))
    return OrgUsage(people, flows, nobody, teams)


def workflow_outcomes(session: Session, start: date, end: date) -> list[tuple[str, str, float, date]]:
    """(workflow, kind, units, UTC day) of outcomes reported for workflows on days in [start, end)."""
    o, i = table(Outcome).c, table(Identity).c
    query = (
        select(i.value, o.kind, o.quantity, o.occurred_at)
        .join_from(table(Outcome), table(Identity), o.identity_id == i.id)
        .where(i.kind == WORKFLOW_IDENTITY, o.occurred_at >= _instant(start), o.occurred_at < _instant(end))
    )
    return [(name, kind, float(units), _day(at)) for name, kind, units, at in session.execute(query)]


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _day(moment: datetime) -> date:
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def seat_snapshots(session: Session, end: date) -> list[SeatSnapshot]:
    """Every seat snapshot taken before `end` (earlier ones decide when a seat was first assigned)."""
    s, i = table(Seat).c, table(Identity).c
    query = (
        select(i.person_id, s.identity_id, s.source, s.day, s.plan, s.monthly_cost_usd, s.pending_cancellation)
        .join_from(table(Seat), table(Identity), s.identity_id == i.id)
        .where(s.day < end)
    )
    return [SeatSnapshot(owner, str(seat), source, day, plan, monthly, pending)
            for owner, seat, source, day, plan, monthly, pending in session.execute(query)]


def tokens_by_day(session: Session, source: str, start: date, end: date) -> dict[tuple[date, str], int]:
    """Input plus output tokens per (UTC day, provider) a source reports: gateway traffic, to spot its provider keys."""
    u = table(Usage).c
    query = (
        select(u.day, u.provider, func.sum(u.input_tokens + u.output_tokens + u.cache_read_tokens))
        .where(u.source == source, u.day >= start, u.day < end).group_by(u.day, u.provider)
    )
    return {(day, provider): int(total or 0) for day, provider, total in session.execute(query)}


def key_tokens_by_day(rows: list[Unattributed]) -> dict[tuple[str, str], dict[tuple[date, str], int]]:
    """The same sums for each unmapped identity, from rows already read."""
    found: dict[tuple[str, str], dict[tuple[date, str], int]] = defaultdict(lambda: defaultdict(int))
    for fact, kind, value in rows:
        found[(kind, value)][(fact.day, fact.provider)] += fact.input_tokens + fact.output_tokens \
            + fact.cache_read_tokens
    return found


def billed_days(session: Session, start: date, end: date) -> dict[str, set[date]]:
    """The UTC days each provider's billed ledger covers, so `reconcile` can name the days one side lacks."""
    b = table(Billed).c
    query = select(b.provider, b.day).where(b.day >= start, b.day < end).distinct()
    found: dict[str, set[date]] = defaultdict(set)
    for provider, day in session.execute(query):
        found[provider].add(day)
    return dict(found)
