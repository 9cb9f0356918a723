"""The sentences a manager acts on: the week's one finding and action, the rework line, the evidence table.

Invariant: every number here is a disclosed `Figure` of the digest's sheet (or a config value). The finding is
the best model-fit recommendation when one is shown, else the largest signal that is, else it says nothing
stands out; estimates say they are estimates, with their evidence (outcomes, people). A line that would say zero
is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.disclosure import Figure
from bot.core.model_fit import ESTIMATE, settings_for
from bot.digest.build import Digest
from bot.digest.format import money, plural, share
from bot.digest.judged import CELL, CELL_FIGURES, EVIDENCE_WEEKS, FIT, SEP


@dataclass(frozen=True)
class Finding:
    finding: str
    action: str


@dataclass(frozen=True)
class Recommended:
    work_class: str
    tier: str
    model: str
    low: Figure
    median: Figure
    high: Figure


def finding(digest: Digest) -> Finding:
    """The one finding and the one action the top message leads with."""
    best = top_recommendation(digest)
    if best is not None:
        return _recommendation(digest, best)
    return _signal(digest) or Finding(
        "Nothing stands out this week.",
        f"No model recommendation yet: each cell of the evidence table needs {digest.min_outcomes} outcomes from "
        f"{digest.min_group_size} people, over the last {EVIDENCE_WEEKS} weeks.")


def recommendations(digest: Digest) -> list[Recommended]:
    """The recommendations shown, largest estimated weekly saving first."""
    figures = {f.key: f for f in (digest.sheet.figures if digest.sheet else ()) if f.key.startswith(FIT + SEP)}
    found = []
    for key in figures:
        if key.endswith(f"{SEP}median"):
            _fit, work_class, tier, model, _median = key.split(SEP)
            base = key.rsplit(SEP, 1)[0]
            found.append(Recommended(work_class, tier, model, figures[f"{base}{SEP}low"], figures[key],
                                     figures[f"{base}{SEP}high"]))
    return sorted(found, key=lambda r: (-r.median.value, r.work_class))


def top_recommendation(digest: Digest) -> Recommended | None:
    return next(iter(recommendations(digest)), None)


def cell(digest: Digest, work_class: str, tier: str, name: str) -> Figure | None:
    return digest.figure(SEP.join((CELL, work_class, tier, name)))


def _recommendation(digest: Digest, r: Recommended) -> Finding:
    cheap = {n: f.value for n in CELL_FIGURES if (f := cell(digest, r.work_class, r.tier, n)) is not None}
    dear = {n: f.value for n in CELL_FIGURES if (f := cell(digest, r.work_class, "frontier", n)) is not None}
    outcomes = cheap.get("outcomes", 0.0) + dear.get("outcomes", 0.0)
    return Finding(
        f"{r.work_class.capitalize()} work cost {money(cheap.get('cost_median'))} per outcome on the {r.tier} tier "
        f"against {money(dear.get('cost_median'))} on frontier, with no more rework "
        f"({share(cheap.get('rework_rate'))} against {share(dear.get('rework_rate'))}).",
        f"Default {r.work_class} work to {r.model} ({settings_for(r.model)[0]}): an estimated "
        f"{money(r.low.value)}–{money(r.high.value)} a week (estimate from {plural(outcomes, 'outcome')} by "
        f"{plural(r.median.people, 'person', 'people')} over the last {EVIDENCE_WEEKS} weeks: "
        f"{ESTIMATE.removeprefix('estimate: ')}).")


def _signal(digest: Digest) -> Finding | None:
    """The largest signal shown: idle paid seats (dollars) first, else the count that covers the most people."""
    seats, cost = digest.figure("signal:idle_seat"), digest.figure("signal:idle_seat_cost_usd")
    if seats and cost and seats.value and cost.value:
        return Finding(
            f"{plural(seats.value, 'person holds', 'people hold')} a paid seat idle for over 14 days "
            f"({money(cost.value)} a month).",
            "Release or reassign those seats in the vendor's admin console.")
    active = digest.current.people_active or 0
    counts = [(f.value, key) for key in ACTIONS if (f := digest.figure(key)) is not None and f.value > 0]
    if not counts:
        return None
    value, key = max(counts)
    words, action = ACTIONS[key]
    subject = f"{value:.0f} of {active} people" if key.startswith("signal:") else plural(
        value, "outcome was", "outcomes were")
    return Finding(f"{subject} {words.format(money=money(digest.spend_without_outcomes_usd))}.", action)


ACTIONS = {
    "signal:spend_without_outcomes": ("spent at least {money} with no outcome points",
                                      "Ask the team what that work was for: exploration is fine, a forgotten agent "
                                      "is not."),
    "signal:frontier_heavy": ("ran mostly on frontier models with a yield below the team's middle",
                              "Suggest the standard tier as the default for routine work (Claude Code `/model`, "
                              "Cursor's default model)."),
    "signal:spike": ("had a spend spike against their usual weeks",
                     "Check that nothing runs unattended (a loop, an agent left running)."),
    "rework:reworked": ("reverted, fixed after merging or reopened this week",
                        "Look at what the undone changes had in common at the next review."),
}


def rework_line(digest: Digest) -> str | None:
    """Beside yield: rework rate, what was undone and how, cost per accepted change; provisional while open."""
    outcomes = digest.figure("rework:outcomes")
    if outcomes is None or not outcomes.value:
        return None
    parts = []
    rate, reworked = digest.figure("rework_rate"), digest.figure("rework:reworked")
    if reworked is None:
        parts.append(f"Rework: not shown this week (a count of people whose work was undone is shown only when "
                     f"at least {digest.min_group_size} are on each side of it)")
    elif reworked.value and rate is not None:
        undone = [plural(f.value, one, many) for key, one, many in UNDONE_WORDS
                  if (f := digest.figure(key)) is not None and f.value]
        parts.append(f"Rework: {share(rate.value)} of {plural(outcomes.value, 'outcome')}"
                     + (f" ({', '.join(undone)})" if undone else ""))
    accepted = digest.figure("cost_per_accepted_change")
    if accepted is not None:
        parts.append(f"{money(accepted.value)} per accepted change" if parts else
                     f"Cost per accepted change: {money(accepted.value)}")
    provisional = digest.figure("rework:provisional")
    line = "; ".join(parts)
    if not line:
        return None
    if provisional is not None and provisional.value:
        line += (f". Provisional: {plural(provisional.value, 'outcome is', 'outcomes are')} still inside the "
                 f"{digest.rework_window_days}-day window in which a revert or fix would count")
    return line


UNDONE_WORDS = (("rework:reverted", "PR reverted", "PRs reverted"),
                ("rework:fixed_after", "PR fixed after merging", "PRs fixed after merging"),
                ("rework:reopened", "ticket reopened", "tickets reopened"))


def evidence_lines(digest: Digest) -> list[str]:
    """The evidence table in the thread: cells above the thresholds only, and where to act on each recommendation."""
    rule = (f"cells with not enough data (fewer than {digest.min_outcomes} outcomes from {digest.min_group_size} "
            "people) are not listed: listing them would say which work ran on which tier")
    keys = sorted({tuple(f.key.split(SEP)[1:3]) for f in (digest.sheet.figures if digest.sheet else ())
                   if f.key.startswith(CELL + SEP)})
    lines = [_cell_line(digest, work_class, tier) for work_class, tier in keys]
    for r in recommendations(digest):
        lines.append(f"{r.work_class} work: default to {r.model}, set in " + "; ".join(settings_for(r.model)))
    if not keys:
        return [f"Not enough data yet: {rule}."]
    return [*lines, f"Estimates ({ESTIMATE}); {rule}."]


def _cell_line(digest: Digest, work_class: str, tier: str) -> str:
    get = {n: cell(digest, work_class, tier, n) for n in CELL_FIGURES}
    if any(f is None for f in get.values()):
        return f"{work_class} · {tier}: not enough data"
    v = {n: f.value for n, f in get.items() if f is not None}
    people = get["outcomes"].people if get["outcomes"] else 0
    return (f"{work_class} · {tier}: {plural(v['outcomes'], 'outcome')} from {plural(people, 'person', 'people')}, "
            f"{money(v['cost_median'])} per outcome (IQR {money(v['cost_q1'])}–{money(v['cost_q3'])}), reworked "
            f"{share(v['rework_rate'])} (95% interval {share(v['rework_low'])}–{share(v['rework_high'])})")
