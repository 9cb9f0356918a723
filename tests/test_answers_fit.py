"""`me` beside the team's evidence (#13), on the generated org with a planted truth (tests/planted_org.py):
the standard tier fits trivial and small PRs, not large ones. A person gets their own cost per outcome by class,
the team's cells above the floor only, one concrete tip naming the model and the setting, or is told they fit."""

from __future__ import annotations

from bot.answers.as_json import fit_json
from bot.answers.fit import WorkFit, fit_of
from bot.answers.sheet import fit_lines
from bot.answers.text import plain
from bot.config.org import ModelFit, OrgConfig
from tests.planted_org import AS_OF, SINCE, generate

PLANTED = generate()
CONFIG = OrgConfig()


def text_of(fit: WorkFit) -> list[str]:
    return [plain(line) for line in fit_lines(fit)]


def test_someone_on_the_frontier_tier_gets_one_tip_naming_the_model_and_the_setting() -> None:
    fit = fit_of(2, PLANTED.items, PLANTED.usage, CONFIG, SINCE, AS_OF)
    assert [c.work_class for c in fit.classes] == ["large", "medium", "small", "trivial"]
    advised = {c.work_class: c.recommendation.model for c in fit.classes if c.recommendation}
    assert advised == {"small": "claude-sonnet-4-6", "trivial": "claude-sonnet-4-6"}  # never large
    assert fit.tip is not None and fit.tip.work_class == "small"  # the larger saving of the two
    lines = text_of(fit)
    [tip] = [line for line in lines if line.startswith("Tip:")]
    assert tip.startswith("Tip: on small work, default to claude-sonnet-4-6: in Claude Code \"/model "
                          "claude-sonnet-4-6\"")
    assert "Cursor" in tip and "LiteLLM" in tip and "an estimate: 60 outcomes from 12 people" in tip
    assert lines[0].startswith("Your work by class, beside your team's evidence (estimates from the 14 weeks to "
                               "2026-04-15;")
    [small] = [line for line in lines if line.startswith("• small:")]
    assert "your 10 outcomes cost $" in small and "frontier $" in small and "standard $" in small
    assert "from 12 people, reworked 10%" in small
    [large] = [line for line in lines if line.startswith("Your large work")]
    assert large.startswith("Your large work runs mostly on the frontier tier, and your team's evidence keeps it "
                            "there: standard-tier outcomes were reworked more (30% of 60)")


def test_someone_already_on_the_standard_tier_is_told_they_fit() -> None:
    usage = tuple(u for u in PLANTED.usage if not (u.person_id == 1 and u.tier == "frontier"))
    fit = fit_of(1, PLANTED.items, usage, CONFIG, SINCE, AS_OF, frozenset(range(1, 18)))  # 5 more in the team
    assert fit.tip is None
    lines = text_of(fit)
    assert not [line for line in lines if line.startswith("Tip:")]
    assert "Your small work already runs mostly on the standard tier, as your team's evidence suggests: nothing " \
           "to change there." in lines
    assert any(line.startswith("Your trivial work already runs mostly on the standard tier") for line in lines)
    assert not any(line.startswith("Your large work already") for line in lines)  # no evidence says so for large


def test_cells_below_the_floor_show_nothing_and_give_no_tip() -> None:
    strict = CONFIG.model_copy(update={"model_fit": ModelFit(min_outcomes=1000)})
    fit = fit_of(2, PLANTED.items, PLANTED.usage, strict, SINCE, AS_OF)
    assert fit.classes and all(not c.team and c.recommendation is None for c in fit.classes)
    assert fit.tip is None
    [line] = text_of(fit)
    assert line.startswith("Your cost per outcome by work class (estimates from the 14 weeks to 2026-04-15): large $")
    assert line.endswith("Your team has no evidence above the privacy floor to set beside it yet (1000 outcomes from 5 "
                         "people per class and tier).")
    assert "frontier" not in line and "standard" not in line and "reworked" not in line
    assert fit_json(fit)["classes"][0]["team"] == []  # type: ignore[index]


def test_the_fit_is_labelled_as_an_estimate_with_its_evidence() -> None:
    found = fit_json(fit_of(2, PLANTED.items, PLANTED.usage, CONFIG, SINCE, AS_OF))
    assert found is not None and found["estimate"] is True and found["min_people"] == 5
    cells = [cell for c in found["classes"] for cell in c["team"]]
    assert cells and all(cell["outcomes"] >= 10 and cell["people"] >= 5 for cell in cells)
    assert found["tip"] == {"work_class": "small", "model": "claude-sonnet-4-6", "tier": "standard"}


def test_a_person_without_outcomes_gets_no_fit_lines() -> None:
    assert fit_lines(fit_of(77, PLANTED.items, PLANTED.usage, CONFIG, SINCE, AS_OF)) == []


def test_a_cell_is_shown_only_when_disclose_lets_it_through_about_the_team() -> None:
    """12 of a team of 15 did the work: the other 3 are fewer than the floor, so no cell (and no tip) is shown,
    as the digest would not show a tier used by all but 3 people."""
    team = frozenset({*range(1, 13), 100, 101, 102})
    fit = fit_of(2, PLANTED.items, PLANTED.usage, CONFIG, SINCE, AS_OF, team)
    assert fit.classes and not any(c.team or c.recommendation or c.held for c in fit.classes) and fit.tip is None
    everyone = fit_of(2, PLANTED.items, PLANTED.usage, CONFIG, SINCE, AS_OF, frozenset(range(1, 13)))
    assert everyone.tip is not None  # all of the team is fine: none and all are
    bigger = fit_of(2, PLANTED.items, PLANTED.usage, CONFIG, SINCE, AS_OF, frozenset(range(1, 18)))
    assert bigger.tip is not None  # 12 and 5 others: both sides hold the floor
