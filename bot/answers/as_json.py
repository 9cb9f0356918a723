"""Answers as JSON, for `--json` on the command line: the same figures the sentences are built from.

Invariant: a JSON answer holds exactly what its text shows (the asker's own figures, or a guarded team
digest), never more; estimates carry `"estimate": true` with their evidence (outcomes, people).
"""

from __future__ import annotations

from typing import Any

from bot.answers.fit import ClassFit, WorkFit
from bot.answers.text import plain_text
from bot.answers.types import (
    Answer,
    KudosAnswer,
    MeAnswer,
    PreviewAnswer,
    PrivacyAnswer,
    TeamAnswer,
    TrendAnswer,
)
from bot.core.evidence import Cell


def answer_json(answer: Answer) -> dict[str, Any]:
    """The answer's data; answers without figures (help, refusals, usage problems) as their text."""
    match answer:
        case MeAnswer(reports=(report,)):
            return {**report.as_json(), "work_fit": fit_json(answer.fit)}
        case MeAnswer():
            return {"email": answer.latest.email, "weeks": [r.as_json() for r in answer.reports],
                    "work_fit": fit_json(answer.fit)}
        case TrendAnswer():
            return {"weeks": [{"week": w.week, "spend_usd": round(w.spend_usd, 4),
                               "seat_cost_usd": round(w.seat_cost_usd, 4), "cost_usd": round(w.cost_usd, 4),
                               "outcome_points": w.outcome_points, "yield_per_100usd": w.yield_per_100usd}
                              for w in answer.weeks]}
        case TeamAnswer():
            return answer.digest.as_json()
        case PreviewAnswer():
            return {"team": answer.team, "kudos_opt_in": answer.kudos_opt_in, "named": answer.named,
                    "rules": list(answer.rules), "text": plain_text(answer)}
        case PrivacyAnswer():
            return {"sources": list(answer.sources), "min_group_size": answer.min_group_size,
                    "retention_days": answer.retention_days,
                    "shown": [{"surface": e.surface, "audience": e.audience, "times": e.times,
                               "first": e.first.isoformat(), "last": e.last.isoformat()} for e in answer.shown]}
        case KudosAnswer():
            return {"kudos": "on" if answer.on else "off"}
        case _:
            return {"kind": answer.kind, "text": plain_text(answer)}


def fit_json(fit: WorkFit | None) -> dict[str, Any] | None:
    if fit is None:
        return None
    tip = fit.tip
    return {"estimate": True, "weeks": fit.weeks, "as_of": fit.as_of.isoformat(), "min_outcomes": fit.min_outcomes,
            "min_people": fit.min_people, "classes": [_class(c) for c in fit.classes],
            "tip": None if tip is None or tip.recommendation is None else {
                "work_class": tip.work_class, "model": tip.recommendation.model, "tier": tip.recommendation.tier}}


def _class(c: ClassFit) -> dict[str, Any]:
    return {"work_class": c.work_class, "outcomes": c.outcomes, "cost_per_outcome_median": round(c.cost_median, 2),
            "tier": c.tier, "fits": c.fits, "team": [_cell(cell) for cell in c.team],
            "recommended_model": c.recommendation.model if c.recommendation else None, "held": c.held}


def _cell(cell: Cell) -> dict[str, Any]:
    f = cell.figures
    assert f is not None, "only cells above the floor are kept"
    return {"tier": cell.tier, "outcomes": f.outcomes, "people": f.people,
            "cost_per_outcome_median": round(f.cost_median, 2), "rework_rate": round(f.rework_rate, 4)}
