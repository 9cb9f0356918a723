"""`me` laid out to read at a glance: a title, facts (label and value), notes, tips and the work-class fit.

Invariant: this is where the wording of a one-week `me` lives (bot.answers.text keeps the other answers'):
every surface renders the same `Sheet`, the terminal as lines, Slack as section fields, Teams as a FactSet.
Lines are spans, never markup; no line says zero (a count of nothing is left out, not printed as 0), and
every estimate says it is one, with its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answers.fit import ClassFit, WorkFit
from bot.answers.me import MeReport, ModelSwitch, TeamStanding
from bot.answers.types import Code, Line, Span, Strong
from bot.core.evidence import Cell
from bot.core.metrics import PersonWeek
from bot.core.signals import Flag
from bot.digest.format import money, plural, points, ratio, share

REWORK_LABELS = {  # (one, many)
    "prs_reverted": ("PR reverted", "PRs reverted"),
    "assistant_edits_rejected": ("Claude Code edit rejected", "Claude Code edits rejected"),
    "cursor_rejects": ("Cursor suggestion rejected", "Cursor suggestions rejected"),
    "copilot_not_accepted": ("Copilot suggestion not accepted", "Copilot suggestions not accepted"),
}
NOTHING_YET: Line = ("No AI usage and no outcomes of yours reached tokenworth for this week (feeds can lag a day "
                     "or two).",)
SAVINGS_CEILING = ("a ceiling, not a saving: the same tokens at the standard model's list prices, when that work "
                   "may need more tokens or turns; `model-fit` and the digest say which work fits, from evidence")


@dataclass(frozen=True)
class Sheet:
    title: str
    facts: tuple[tuple[str, str], ...]  # (label, value), the figures at a glance
    notes: tuple[Line, ...]  # where the asker stands, estimates, rework
    tips: tuple[Line, ...]  # each flag with a tip naming what to change
    fit: tuple[Line, ...] = ()  # the asker's work by class beside the team's evidence

    def lines(self) -> list[Line]:
        return [(self.title,), *((f"{label}: {value}",) for label, value in self.facts), *self.notes, *self.tips,
                *self.fit]


def me_sheet(report: MeReport, fit: WorkFit | None = None) -> Sheet:
    f = report.figures
    if not f.active:  # a week nothing reached: say so once instead of a column of zeros
        return Sheet(f"{report.name or report.email} · week {report.week}", (), (NOTHING_YET,), (),
                     tuple(fit_lines(fit)) if fit else ())
    return Sheet(
        title=f"{report.name or report.email} · week {report.week}",
        facts=tuple(_facts(f, report.seat_cost_usd)), notes=tuple(_notes(report)),
        tips=tuple(_tips(report)), fit=tuple(fit_lines(fit)) if fit else (),
    )


def short_tokens(f: PersonWeek) -> str:
    """`213.7 M tokens, 84% cache reads`: the count in one short figure, and how much of it was cache reads."""
    total = f.tokens.total
    count = (f"{total / 1e9:,.1f} B" if total >= 1e9 else f"{total / 1e6:,.1f} M" if total >= 1e6
             else f"{total / 1e3:,.1f} k" if total >= 1e3 else f"{total:,}")
    text = f"{count} {'token' if total == 1 else 'tokens'}"
    reads = f.tokens.cache_read / total if total else 0.0
    return f"{text}, {reads:.0%} cache reads" if round(reads, 2) > 0 else text


def _facts(f: PersonWeek, seats: float = 0.0) -> list[tuple[str, str]]:
    o = f.outcomes
    done = [plural(o["pr_merged"], "merged PR") if o["pr_merged"] else "",
            f"{points(o['pr_reverted'])} reverted" if o["pr_reverted"] else "",
            plural(o["tickets_closed"], "ticket closed", "tickets closed") if o["tickets_closed"] else ""]
    seats = f.seat_cost_usd or seats
    facts = [("AI spend", money(f.spend_usd))] if f.spend_usd >= 0.005 or seats < 0.005 else []
    if seats >= 0.005:
        facts.append(("Seats", f"{money(seats)} (subscriptions, prorated per day)"))
        facts.append(("AI cost", f"{money(f.spend_usd + seats)}: {money(f.spend_usd)} metered + {money(seats)} seats"
                      if f.spend_usd >= 0.005 else f"{money(seats)}: seats only"))
    if f.tokens.total:
        facts.append(("Tokens", short_tokens(f)))
    if any(done):
        facts.append(("Outcomes", f"{', '.join(d for d in done if d)} → {plural(f.outcome_points, 'outcome point')}"))
    facts.append(("Outcome points", points(f.outcome_points)))
    facts.append(("Yield", "not measured: it needs at least $1 of AI cost" if f.yield_per_100usd is None
                  else f"{ratio(f.yield_per_100usd)} points per $100"))
    if f.frontier_share:
        facts.append(("Frontier share", f"{share(f.frontier_share)} of spend"))
    return facts


def _notes(report: MeReport) -> list[Line]:
    f = report.figures
    notes: list[Line] = [(standing_line(report),)]
    if report.at_or_above_middle:
        notes.append((Strong("Nice work:"), " your yield is at or above your team's middle this week. Whatever you "
                      "are doing with your tools, it pays off.",))
    tipped = report.switch is not None and any(flag.name == "frontier_heavy" for flag in report.flags)
    if f.savings_usd >= 0.005 and not tipped:  # the frontier tip says the same figure, next to what to change
        notes.append((f"Price-ratio ceiling: your frontier work would cost {money(f.savings_usd)} less on the "
                      f"standard tier ({SAVINGS_CEILING}).",))
    if f.unpriced_models:
        notes.append((f"Not priced yet (left out of spend): {', '.join(sorted(f.unpriced_models))}",))
    rework = {k: v for k, v in report.rework.items() if v}
    if rework:
        notes.append(("Rework: " + ", ".join(plural(v, *REWORK_LABELS.get(k, (k, k)))
                                              for k, v in sorted(rework.items())),))
    return notes


def standing_line(report: MeReport) -> str:
    """Where the asker stands in their team, in one line: the band and what a band is, or why there is none."""
    team, own = report.team, ratio(report.figures.yield_per_100usd)
    if team is None:
        return "Team comparison: hidden, your team is smaller than the privacy floor."
    middle = _middle(team)
    if team.band is None:
        why = f" No band: {team.band_withheld}." if team.band_withheld else ""
        return f"Your yield: {own} per $100, beside your team's ({middle}).{why}"
    return (f"Band: your yield of {own} per $100 is in the {team.band} of your team of {team.people} ({middle}). "
            f"Bands split the team's yields into thirds (lower, middle, upper), each holding at least "
            f"{team.min_group_size} people; nobody is ranked.")


def _middle(team: TeamStanding) -> str:
    if team.median_yield_per_100usd is None:
        return "team middle not shown this week"
    return (f"team middle {ratio(team.median_yield_per_100usd)} per $100, the mean of the middle "
            f"{'two' if team.middle_of % 2 == 0 else 'three'} of {team.middle_of} yields")


def _tips(report: MeReport) -> list[Line]:
    if not report.flags:
        return [("No flags this week.",)]
    return [_flag(flag, report) for flag in report.flags]


def _flag(flag: Flag, report: MeReport) -> Line:
    switch = report.switch
    if flag.name != "frontier_heavy" or switch is None:
        return (f"⚑ {flag.detail}. Tip: {flag.tip}",)
    return (f"⚑ {flag.detail}. Tip: default to ", Strong(switch.standard_model), f" instead of {switch.frontier_model}"
            " and switch up only for hard problems: ", *setting(switch.standard_model, switch),
            f". At list prices the same tokens cost up to {money(report.figures.savings_usd)} less (a ceiling, "
            "not a saving: some of that work may need the frontier tier).")


def setting(model: str, switch: ModelSwitch | None = None) -> list[Span]:
    """Where to make `model` the default, for the tools the asker uses (all three when none is known)."""
    tools = set(switch.tools) if switch else set()
    known = tools & {"claude_code", "cursor", "litellm"}
    spans: list[Span] = []
    if model.startswith("claude") and ("claude_code" in tools or not known):
        spans += ["in Claude Code ", Code(f"/model {model}"), ", or set ", Code("model"), f' to "{model}" in '
                  "settings.json"]
    if "cursor" in tools or not known:
        spans += [*(["; "] if spans else []), f"in Cursor, make {model} the default model (Settings → Models)"]
    if "litellm" in tools or not known:
        spans += [*(["; "] if spans else []), "through the gateway, point your LiteLLM model alias at ",
                  Code(model)]
    return spans


def fit_lines(fit: WorkFit) -> list[Line]:
    """The asker's classes beside the team's evidence, then one tip, or that they already fit."""
    if not fit.classes:
        return []
    if not any(c.team for c in fit.classes):  # nothing of the team's to set beside: the asker's own, in one line
        own = ", ".join(f"{c.work_class} {money(c.cost_median)} ({plural(c.outcomes, 'outcome')})" for c in fit.classes)
        return [(f"Your cost per outcome by work class (estimates from the {fit.weeks} weeks to {fit.as_of:%Y-%m-%d}): "
                 f"{own}. Your team has no evidence above the privacy floor to set beside it yet ({fit.min_outcomes} "
                 f"outcomes from {fit.min_people} people per class and tier).",)]
    head = (f"Your work by class, beside your team's evidence (estimates from the {fit.weeks} weeks to "
            f"{fit.as_of:%Y-%m-%d}; the team's figures cover at least {fit.min_outcomes} outcomes from "
            f"{fit.min_people} people, or are not shown):")
    found: list[Line] = [(head,), *((_class_line(c),) for c in fit.classes)]
    tip = fit.tip
    if tip is not None and tip.recommendation is not None:
        r = tip.recommendation
        found.append(("Tip: on ", Strong(f"{tip.work_class} work"), ", default to ", Strong(r.model), ": ",
                      *setting(r.model), f". Your team's {r.tier}-tier outcomes cost {money(r.cheaper.cost_median)} "
                      f"each against {money(r.frontier.cost_median)} on frontier, reworked no more (an estimate: "
                      f"{plural(r.cheaper.outcomes, 'outcome')} from {r.cheaper.people} people against "
                      f"{r.frontier.outcomes} from {r.frontier.people}).",))
    for held in (c for c in fit.classes if c.held):
        why = (held.held or "").removeprefix(f"no recommendation for {held.work_class} work: ")
        found.append((f"Your {held.work_class} work runs mostly on the frontier tier, and your team's evidence keeps "
                      f"it there: {why} (an estimate).",))
    for fits in fit.fitting:
        found.append((f"Your {fits.work_class} work already runs mostly on the {fits.tier} tier, as your team's "
                      "evidence suggests: nothing to change there.",))
    return found


def _class_line(c: ClassFit) -> str:
    each = " each (median)" if c.outcomes != 1 else ""
    mine = f"• {c.work_class}: your {plural(c.outcomes, 'outcome')} cost {money(c.cost_median)}{each}, mostly on the " \
           f"{c.tier} tier."
    team = "; ".join(_cell(cell) for cell in c.team)
    return f"{mine} Team: {team}." if team else f"{mine} Team: no evidence above the privacy floor yet."


def _cell(cell: Cell) -> str:
    f = cell.figures
    assert f is not None, "only cells above the floor are kept"
    return (f"{cell.tier} {money(f.cost_median)} per outcome ({plural(f.outcomes, 'outcome')} from {f.people} "
            f"people, reworked {f.rework_rate:.0%})")
