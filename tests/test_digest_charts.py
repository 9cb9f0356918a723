"""Digest charts (issue 18): yield on one axis with the team's middle, spend by model named as the text names
it, and weeks without figures marked "no data" (before the org's first data) or "not published", never $0."""

from __future__ import annotations

from bot.core.metrics import PersonWeek
from bot.core.weeks import Week
from bot.digest.build import Digest, build_digest
from bot.digest.charts import gap_notes, spend_by_model_figure, yield_trend_figure
from bot.digest.figures import Extras
from bot.digest.judged import WorkInputs
from bot.digest.summary import money_lines

WEEK = Week.parse("2026-W47")
FIRST_DATA = WEEK.shift(-2)  # the org's first week of data
MODELS = {"frontier|claude-opus-4-6": 30.0, "standard|claude-sonnet-4-6": 60.0, "economy|claude-haiku-4-5": 10.0}


def digest(first_data: Week | None = FIRST_DATA) -> Digest:
    figures = {(pid, str(WEEK)): PersonWeek(str(WEEK), spend_usd=100.0, outcome_points=5.0 + pid, active=True,
                                            spend_by_tier={"frontier": 30.0, "standard": 60.0, "economy": 10.0})
               for pid in range(6)}
    work = WorkInputs(model_spend={pid: MODELS for pid in range(6)})
    return build_digest("shop", WEEK, figures, list(range(6)), 5, extras=Extras(work=work),
                        first_data=first_data.monday if first_data else None)


def test_weeks_before_the_first_data_say_no_data_and_later_unpublished_weeks_say_so() -> None:
    notes = gap_notes(digest())
    assert notes[:5] == ["no data"] * 5  # W40-W44 ended before W45, the org's first week of data
    assert notes[5:] == ["not published", "not published", None]
    texts = [(t.get_text(), t.get_position()[0]) for t in spend_by_model_figure(digest()).axes[0].texts]
    assert texts == [("no data", 2.0), ("not published", 5.5)]  # one label over each run of weeks, centred


def test_yield_is_drawn_on_one_axis_with_the_team_middle() -> None:
    figure = yield_trend_figure(digest())
    assert len(figure.axes) == 1
    labels = [line.get_label() for line in figure.axes[0].get_lines()]
    assert labels == ["Team yield", "Team middle (median)"]
    assert figure.axes[0].get_ylabel() == "Outcome points per $100"
    team_yield = figure.axes[0].get_lines()[0].get_ydata()[-1]
    assert abs(team_yield - (sum(5.0 + p for p in range(6)) / 600 * 100)) < 1e-9


def test_spend_by_model_names_models_and_tiers_as_the_text_does() -> None:
    shown = digest()
    legend = [text.get_text() for text in spend_by_model_figure(shown).legends[0].get_texts()]
    assert legend == ["claude-opus-4-6 (frontier)", "claude-sonnet-4-6 (standard)", "claude-haiku-4-5 (economy)"]
    by_model = next(line for line in money_lines(shown) if line.startswith("By model:"))
    assert all(name in by_model for name in legend)
