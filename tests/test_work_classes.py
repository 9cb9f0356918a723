"""Work classes: a kind and a size for every outcome, each with its reason; the `work_classes:` rules validate."""

from __future__ import annotations

import pytest
import yaml

from bot.config.org import OrgConfig, WorkClasses, WorkKinds, parse_config
from bot.core.judgement_facts import WorkItem
from bot.core.work import classify, is_fix, kind_of
from bot.errors import ConfigError
from tests.conftest import ROOT

RULES = WorkClasses()


def pr(title: str = "", labels: tuple[str, ...] = (), added: int | None = 100, deleted: int | None = 40,
       files: int = 3, fixes: tuple[str, ...] = ()) -> WorkItem:
    return WorkItem(key="github:acme/api#1:merged", source="pr", person_id=1, title=title, labels=labels,
                    additions=added, deletions=deleted, files=tuple(f"f{i}.py" for i in range(files)), fixes=fixes)


def ticket(source: str = "jira", issue_type: str | None = None, labels: tuple[str, ...] = (),
           points: float | None = 3, title: str = "Do the thing", ref: str = "ABC-1") -> WorkItem:
    return WorkItem(key=f"{source}:{ref}", source=source, person_id=1, ref=ref, title=title,  # type: ignore[arg-type]
                    issue_type=issue_type, labels=labels, points=points)


@pytest.mark.parametrize(("title", "kind", "reason"), [
    ("feat(cart): one-click checkout", "feat", "feat: title starts with 'feat(cart):'"),
    ("fix: null total", "fix", "fix: title starts with 'fix:'"),
    ("Fix!: breaking fix", "fix", "fix: title starts with 'Fix!:'"),
    ("hotfix - payments down", "fix", "fix: title starts with 'hotfix'"),
    ("[docs] explain retention", "docs", "docs: title starts with '[docs]'"),
    ("docs: README", "docs", "docs: title starts with 'docs:'"),
    ("test: cover refunds", "test", "test: title starts with 'test:'"),
    ("ci: cache wheels", "chore", "chore: title starts with 'ci:'"),
    ("build(deps): bump httpx", "chore", "chore: title starts with 'build(deps):'"),
    ("Bump lodash from 4.17.20 to 4.17.21", "chore", "chore: a dependency bump (title starts with 'bump')"),
    ("Update dependency react to v19", "chore", "chore: a dependency bump (title starts with 'update dependency')"),
    ("refactor: split the store", "refactor", "refactor: title starts with 'refactor:'"),
    ("perf: index outcome(ref)", "perf", "perf: title starts with 'perf:'"),
    ("Fix the flaky test", "other", "other: no title prefix, issue type or label matched"),
])
def test_kind_from_the_title_prefix(title: str, kind: str, reason: str) -> None:
    assert kind_of(pr(title), RULES.kinds) == (kind, reason)


def test_kind_from_labels_then_issue_type_then_other() -> None:
    assert kind_of(pr("Make totals right", labels=("needs-review", "bug")), RULES.kinds) == ("fix", "fix: label 'bug'")
    assert kind_of(pr("Explain it", labels=("type: documentation",)), RULES.kinds)[0] == "docs"
    assert kind_of(pr("Explain it", labels=("kind/Feature",)), RULES.kinds)[0] == "feat"
    assert kind_of(ticket(issue_type="Bug"), RULES.kinds) == ("fix", "fix: Jira issue type 'Bug'")
    assert kind_of(ticket(issue_type="Story", labels=("bug",)), RULES.kinds)[0] == "feat"  # the issue type first
    assert kind_of(ticket(issue_type="Task", labels=("bug",)), RULES.kinds)[0] == "fix"  # Task says nothing
    assert kind_of(ticket("linear", labels=("Improvement",), ref="ENG-7"), RULES.kinds) == (
        "feat", "feat: label 'Improvement'")
    assert kind_of(ticket(issue_type="Task"), RULES.kinds)[0] == "other"
    assert kind_of(pr("fix: x", labels=("documentation",)), RULES.kinds)[0] == "fix"  # the title first


@pytest.mark.parametrize(("added", "deleted", "files", "size", "reason"), [
    (100, 40, 3, "small", "small: 140 lines in 3 files"),
    (12, 8, 1, "trivial", "trivial: 20 lines in 1 file"),
    (15, 6, 2, "small", "small: 21 lines in 2 files"),
    (150, 50, 4, "small", "small: 200 lines in 4 files"),
    (150, 51, 4, "medium", "medium: 201 lines in 4 files"),
    (900, 100, 12, "medium", "medium: 1,000 lines in 12 files"),
    (900, 101, 12, "large", "large: 1,001 lines in 12 files"),
    (1, 0, 0, "trivial", "trivial: 1 line"),
    (None, None, 3, "unknown", "unknown: the feed gave no line counts"),
])
def test_pr_size_from_lines_with_the_reason(added: int | None, deleted: int | None, files: int, size: str,
                                            reason: str) -> None:
    found = classify(pr("feat: x", added=added, deleted=deleted, files=files), RULES)
    assert (found.size, found.size_reason) == (size, reason)


def test_docs_and_chore_are_trivial_whatever_their_size() -> None:
    found = classify(pr("docs: the whole manual", added=3000, deleted=0, files=40), RULES)
    assert (found.kind, found.size, found.size_reason) == ("docs", "trivial", "trivial: docs")
    assert classify(pr("Bump react from 18 to 19", added=5000, deleted=4000), RULES).size == "trivial"


@pytest.mark.parametrize(("points", "size", "reason"), [
    (1, "small", "small: 1 point"), (2, "small", "small: 2 points"), (3, "medium", "medium: 3 points"),
    (7.5, "medium", "medium: 7.5 points"), (8, "large", "large: 8 points"), (13, "large", "large: 13 points"),
    (None, "unknown", "unknown: nobody estimated it"),
])
def test_ticket_size_from_points(points: float | None, size: str, reason: str) -> None:
    found = classify(ticket(issue_type="Story", points=points), RULES)
    assert (found.size, found.size_reason) == (size, reason)


def test_class_labels_by_size_or_kind_and_size() -> None:
    found = classify(pr("feat: x"), RULES)
    assert found.label("size") == "small" and found.label("kind_and_size") == "small feat"


def test_a_fix_by_title_hotfix_label_or_closing_a_bug_ticket() -> None:
    bug, story = ticket(issue_type="Bug", ref="ABC-1"), ticket(issue_type="Story", ref="ABC-2")
    tickets = {"abc-1": bug, "abc-2": story}
    assert is_fix(pr("fix(api): null"), tickets, RULES.kinds)
    assert is_fix(pr("Hotfix: payments"), tickets, RULES.kinds)
    assert is_fix(pr("Make it right", labels=("enhancement", "bug")), tickets, RULES.kinds)
    assert is_fix(pr("Handle empty cart", fixes=("ABC-1",)), tickets, RULES.kinds)
    assert not is_fix(pr("Add cart", fixes=("ABC-2",)), tickets, RULES.kinds)
    assert not is_fix(pr("Add cart", fixes=("ABC-404",)), tickets, RULES.kinds)
    assert not is_fix(pr("feat: cart", labels=("enhancement",)), tickets, RULES.kinds)


def test_defaults_and_config_rules_extend_them() -> None:
    config = OrgConfig()
    assert config.rework.window_days == 21 and config.model_fit.min_outcomes == 10
    assert config.model_fit.group_by == "size"
    sizes = config.work_classes.sizes
    assert (sizes.trivial_lines, sizes.small_lines, sizes.large_lines) == (20, 200, 1000)
    assert (sizes.small_points, sizes.large_points, sizes.trivial_kinds) == (2, 8, ("docs", "chore"))
    custom = parse_config({"work_classes": {
        "kinds": {"labels": {"Type/Defect": "fix", "bug": "other"}, "title_prefixes": {"wip": "other"}},
        "sizes": {"trivial_lines": 10},
    }, "rework": {"window_days": 14}, "model_fit": {"min_outcomes": 20, "group_by": "kind_and_size"}})
    kinds = custom.work_classes.kinds
    assert kinds.labels["type/defect"] == "fix" and kinds.labels["documentation"] == "docs"  # defaults kept
    assert kind_of(pr("Make it right", labels=("bug",)), kinds)[0] == "other"  # a default switched off
    assert kind_of(pr("Make it right", labels=("Type/Defect",)), kinds)[0] == "fix"
    assert custom.work_classes.sizes.trivial_lines == 10 and custom.work_classes.sizes.small_lines == 200
    assert custom.rework.window_days == 14 and custom.model_fit.min_outcomes == 20
    assert WorkKinds().labels["bug"] == "fix"  # the defaults themselves are untouched


@pytest.mark.parametrize(("raw", "expected"), [
    ({"work_classes": {"kinds": {"labels": {"bug": "bugs"}}}}, "work_classes.kinds.labels.bug: Input should be"),
    ({"work_classes": {"sizes": {"small_lines": 10}}}, "work_classes.sizes: must rise: trivial_lines < small_lines"),
    ({"work_classes": {"sizes": {"large_points": 1}}}, "work_classes.sizes: must rise: small_points < large_points"),
    ({"work_classes": {"sizes": {"trivial_kinds": ["typo"]}}}, "work_classes.sizes.trivial_kinds[0]"),
    ({"work_classes": {"colour": "blue"}}, "work_classes.colour: Extra inputs are not permitted"),
    ({"rework": {"window_days": 0}}, "rework.window_days: Input should be greater than or equal to 1"),
    ({"model_fit": {"min_outcomes": 3}}, "model_fit.min_outcomes: must be at least 5"),
    ({"model_fit": {"group_by": "team"}}, "model_fit.group_by"),
])
def test_bad_rules_name_the_key_path(raw: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, source="tokenworth.yml")
    assert f"tokenworth.yml: {expected}" in str(caught.value)


def test_the_readme_example_is_a_valid_config() -> None:
    section = (ROOT / "README.md").read_text().split("## Judging the work", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = parse_config(yaml.safe_load(block), source="README.md")
    assert config.work_classes.kinds.labels["type/defect"] == "fix" and config.rework.window_days == 21
    assert config.work_classes == parse_config({"work_classes": {"kinds": {
        "labels": {"type/defect": "fix", "spike": "other"}, "issue_types": {"Spike": "other"},
        "title_prefixes": {"wip": "other"}}}}).work_classes  # the sizes shown are the defaults
    assert config.model_fit == OrgConfig().model_fit
