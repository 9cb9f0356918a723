"""Budget and cost-per-outcome regression alerts, posted to the owning team's manager channel.

Invariant: an alert goes out at most once per (subject, period, platform): a claim row (`alertclaim`)
is inserted before posting and only the process whose insert wins posts, as digests are claimed in
`bot.digest.ledger`; a failed post gives its claim back so the next run tries again. Budget thresholds
are claimed per calendar month, regressions per ISO week. Every figure passes `disclose` (a team's cost
only at the privacy floor, a driver only when enough people are in it and outside it; a workflow's usage
is nobody's); alerts name workflows, models and tools, never a person, and each post is in the access
log. Quiet periods post nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, delete, update
from sqlmodel import Session

from bot.config.org import OrgConfig
from bot.core.budgets import BudgetState, budget_text, drivers, regression, shares
from bot.core.disclosure import Breakdown, Candidate, Org, Sheet, Total, disclose
from bot.core.prices import PriceTable
from bot.core.weeks import Week
from bot.core.workflows import rules_of, workflow_costs
from bot.finops.charges import Charge, charges
from bot.finops.report import month_span
from bot.governance.access import Showing, record_showing
from bot.reads.finops import workflow_outcomes
from bot.reads.queries import outcome_facts, team_members
from storage.dialect import insert
from storage.engine import session_scope
from storage.models import AlertClaim, table

log = logging.getLogger("tokenworth.finops.alerts")
CLAIMS = table(AlertClaim)


class AlertSender(Protocol):
    platform: str

    def send(self, channel: str, text: str) -> str: ...


@dataclass(frozen=True)
class Alert:
    subject: str  # what is claimed: budget:team:platform:warning, regression:workflow:ci-pr-review
    period: str
    team: str
    text: str
    members: frozenset[int] = frozenset()  # the people whose costs are inside (for the access log), never shown


def budget_alerts(session: Session, config: OrgConfig, prices: PriceTable, today: date) -> list[Alert]:
    """Thresholds crossed this month, from the days before `today` (UTC), as far as `disclose` lets them be shown."""
    month = f"{today:%Y-%m}"
    start, end = month_span(month)
    found = charges(session, config, prices, start, today)
    subjects = [("team", name, name, amount, [c for c in found if c.team == name])
                for name, amount in config.budgets.teams.items()]
    owners = {w.name: w.team for w in config.workflows}
    subjects += [("workflow", name, owners[name], amount, [c for c in found if c.workflow == name])
                 for name, amount in config.budgets.workflows.items()]
    alerts = []
    for kind, name, team, amount, parts in subjects:
        sheet = _sheet(kind, parts, config.policy.min_group_size)
        actual = sheet.value("cost_usd")
        if actual is None:
            continue  # a team below the privacy floor: its cost is not shown to anyone, budget or not
        state = BudgetState(kind, name, team, month, amount, actual, (today - start).days, (end - start).days)
        why = drivers(_shown_shares(sheet), actual)
        alerts += [Alert(f"budget:{kind}:{name}:{threshold}", month, team, budget_text(state, threshold, why),
                         _people(parts)) for threshold in state.crossed(config.budgets.warning_share)]
    return alerts


def _people(parts: Iterable[Charge]) -> frozenset[int]:
    return frozenset(c.person for c in parts if c.person is not None)


def _cost(parts: Iterable[Charge]) -> float:
    return sum(c.metered_usd + c.fixed_usd for c in parts)


def _parts(parts: Iterable[Charge]) -> list[tuple[str, str, str, float]]:
    return [(c.workflow, c.model, c.tool, c.metered_usd + c.fixed_usd) for c in parts]


def _sheet(kind: str, parts: list[Charge], floor: int, extra: Candidate | None = None) -> Sheet:
    """A subject's cost and what drives it, through `disclose`: a workflow's usage is nobody's (org level);
    a team's figures cover its people, and a driver only some of them account for merges into "other"."""
    by = shares(_parts(parts))
    if kind == "workflow":
        return disclose(frozenset(), floor, [Org("cost_usd", _cost(parts)), *([extra] if extra else []), *(
            Org(f"{dimension}:{name}", usd) for dimension, values in by.items() for name, usd in values.items())])
    members: dict[tuple[str, str], set[int]] = defaultdict(set)
    for c in parts:
        for dimension, value in (("workflow", c.workflow), ("model", c.model), ("tool", c.tool)):
            if c.person is not None:
                members[(dimension, value)].add(c.person)
    group = frozenset(c.person for c in parts if c.person is not None)
    breakdowns = [Breakdown(dimension, {name: (usd, frozenset(members[(dimension, name)])) for name, usd in
                                        values.items()}) for dimension, values in by.items()]
    return disclose(group, floor, [Total("cost_usd", _cost(parts)), *([extra] if extra else []), *breakdowns])


def _shown_shares(sheet: Sheet) -> dict[str, dict[str, float]]:
    return {dimension: {f.key.split(":", 1)[1]: f.value for f in sheet.parts(dimension)}
            for dimension in ("workflow", "model", "tool")}


def regression_alerts(session: Session, config: OrgConfig, prices: PriceTable, week: Week) -> list[Alert]:
    """Teams and workflows whose cost per outcome point in `week` jumped against the trailing weeks."""
    weeks = [week.shift(-back) for back in range(config.alerts.trailing_weeks, -1, -1)]
    found = charges(session, config, prices, weeks[0].monday, week.end)
    cost: dict[tuple[str, str, str], float] = defaultdict(float)
    for c in found:
        label = str(Week.of(c.day))
        cost[("team", c.team, label)] += c.metered_usd + c.fixed_usd
        cost[("workflow", c.workflow, label)] += c.metered_usd + c.fixed_usd
    points, scorers = _points(session, config, weeks)
    subjects = [("team", t.name, t.name) for t in config.teams] + [("workflow", w.name, w.team)
                                                                   for w in config.workflows]
    alerts = []
    for kind, name, team in subjects:
        series = [(cost[(kind, name, str(w))], points[(kind, name, str(w))]) for w in weeks]
        found_regression = regression(kind, name, team, str(week), series[-1], series[:-1],
                                      config.alerts.regression_factor, config.alerts.min_points)
        if found_regression is None:
            continue
        mine = [c for c in found if Week.of(c.day) == week and getattr(c, kind) == name]
        if kind == "team":
            mine += [Charge(week.monday, team, "", "", "", "", "", person=pid) for pid in scorers[(name, str(week))]]
        sheet = _sheet(kind, mine, config.policy.min_group_size, _per_point(kind, found_regression.cost_per_point))
        if sheet.value("cost_per_point") is not None:  # below the floor a team's cost per point is nobody's to see
            alerts.append(Alert(f"regression:{kind}:{name}", str(week), team,
                                found_regression.text(drivers(_shown_shares(sheet), sheet.value("cost_usd") or 0)),
                                _people(mine)))
    return alerts


def _per_point(kind: str, value: float) -> Candidate:
    return Org("cost_per_point", value) if kind == "workflow" else Total("cost_per_point", value)


def _points(
    session: Session, config: OrgConfig, weeks: Sequence[Week],
) -> tuple[dict[tuple[str, str, str], float], dict[tuple[str, str], set[int]]]:
    """Outcome points per (kind, name, week): a team's people's and its workflows', each workflow's own; and
    who in each team scored in each week (they are active, and the privacy floor counts them)."""
    found: dict[tuple[str, str, str], float] = defaultdict(float)
    scorers: dict[tuple[str, str], set[int]] = defaultdict(set)
    p = config.policy.points
    per_unit = {"pr_merged": p.pr_merged, "pr_reverted": p.pr_reverted, "ticket_closed": p.ticket_closed}
    for team in config.teams:
        ids = [m.id for m in team_members(session, team.name) if m.id is not None]
        for fact in outcome_facts(session, ids, [str(w) for w in weeks]) if ids else []:
            unit = per_unit.get(fact.kind, 0.0)
            found[("team", team.name, fact.week)] += unit * (fact.quantity if fact.kind == "ticket_closed" else 1)
            if fact.person_id is not None:
                scorers[(team.name, fact.week)].add(fact.person_id)
    rules = rules_of(config.workflows)
    for week in weeks:
        outcomes = [(n, k, u) for n, k, u, _ in workflow_outcomes(session, week.monday, week.end)]
        for name, flow in workflow_costs(rules, [], outcomes, config.outcome_kinds).items():
            found[("workflow", name, str(week))] += flow.points
            found[("team", flow.team, str(week))] += flow.points
    return found, scorers


def run_alerts(
    engine: Engine, config: OrgConfig, prices: PriceTable, senders: Sequence[AlertSender], now: datetime,
) -> list[str]:
    """Compute this month's budget alerts and last week's regressions, and post each once per platform."""
    today = now.astimezone(UTC).date()
    with session_scope(engine) as session:
        alerts = budget_alerts(session, config, prices, today)
        alerts += regression_alerts(session, config, prices, Week.of(today).shift(-1))
    results = []
    for alert in alerts:
        for sender in senders:
            channel = _channel(config, alert.team, sender.platform)
            if channel is not None:
                results.append(_post_once(engine, alert, sender, channel, now))
    return results


def _channel(config: OrgConfig, team: str, platform: str) -> str | None:
    found = config.team(team)
    return None if found is None else getattr(found, f"{platform}_channel", None)


def _post_once(engine: Engine, alert: Alert, sender: AlertSender, channel: str, now: datetime) -> str:
    where = (CLAIMS.c.subject == alert.subject) & (CLAIMS.c.period == alert.period) & (
        CLAIMS.c.platform == sender.platform)
    row = {"subject": alert.subject, "period": alert.period, "platform": sender.platform, "claimed_at": now}
    with session_scope(engine) as session:
        claim = insert(session, CLAIMS).values(**row).on_conflict_do_nothing().returning(CLAIMS.c.id)
        won = session.execute(claim).first() is not None
    if not won:
        return f"{alert.subject} {alert.period} on {sender.platform}: already claimed"
    try:
        message_id = sender.send(channel, alert.text)
    except Exception as exc:  # noqa: BLE001 - any failure gives the claim back: the next run tries again
        with session_scope(engine) as session:
            session.execute(delete(CLAIMS).where(where))
        log.warning("alert %s on %s not posted (%s): retried next run", alert.subject, sender.platform,
                    type(exc).__name__)
        return f"{alert.subject} {alert.period} on {sender.platform}: failed, retried next run"
    with session_scope(engine) as session:
        session.execute(update(CLAIMS).where(where).values(state="posted", posted_at=now, channel=channel,
                                                           message_id=message_id))
        record_showing(session, Showing("finops_alert", "channel", channel, sender.platform, alert.team,
                                        alert.period, alert.members, alert.subject), now)
    return f"{alert.subject} {alert.period} on {sender.platform}: posted"


def text_sender(poster: Any) -> AlertSender | None:
    """A digest poster (Slack's or Teams') as an alert sender: plain text to a channel."""
    if getattr(poster, "client", None) is not None:
        return _SlackText(poster.client)
    if hasattr(poster, "_card") and hasattr(poster, "_reference"):
        return _TeamsText(poster)
    return None


class _SlackText:
    platform = "slack"

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, channel: str, text: str) -> str:
        sent = self.client.chat_postMessage(channel=channel, text=text, unfurl_links=False)
        return str(sent["ts"])


class _TeamsText:
    platform = "teams"

    def __init__(self, poster: Any) -> None:
        self.poster = poster

    def send(self, channel: str, text: str) -> str:
        card = {"type": "AdaptiveCard", "version": "1.5", "fallbackText": text,
                "body": [{"type": "TextBlock", "text": line, "wrap": True} for line in text.split("\n")]}
        posted = self.poster._card(self.poster._reference(channel), channel, card, text.split("\n")[0])
        return str(posted.message_id)

