"""The person-week read model: figures for every (person, week) asked for, from two queries.

Every answer and digest builds its figures here, once per request, and passes them on.
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.attribution import count_once
from bot.core.facts import OutcomeFact, UsageFact
from bot.core.metrics import PersonWeek, person_week
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.reads.queries import outcome_facts, usage_facts


def people_weeks(
    session: Session, config: OrgConfig, prices: PriceTable, person_ids: list[int], weeks: list[Week]
) -> dict[tuple[int, str], PersonWeek]:
    """Figures for every (person, week), from two queries."""
    start, end = min(weeks).monday, max(weeks).end
    usage = count_once(usage_facts(session, person_ids, start, end), prices.canonical)
    outcomes = outcome_facts(session, person_ids, [str(w) for w in weeks])
    usage_by: dict[tuple[int | None, str], list[UsageFact]] = defaultdict(list)
    for fact in usage:
        usage_by[(fact.person_id, str(Week.of(fact.day)))].append(fact)
    outcomes_by: dict[tuple[int | None, str], list[OutcomeFact]] = defaultdict(list)
    for outcome in outcomes:
        outcomes_by[(outcome.person_id, outcome.week)].append(outcome)
    return {
        (pid, str(w)): person_week(str(w), usage_by[(pid, str(w))], outcomes_by[(pid, str(w))], config.policy, prices)
        for pid in person_ids
        for w in weeks
    }
