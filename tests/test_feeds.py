"""Feed adapters: detection from content, and the outcome semantics of GitHub pulls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.errors import FeedError
from bot.feeds import FEEDS, detect
from bot.feeds.base import ActivityRow, OutcomeRow, Record, Rejection, UsageRow
from tests.conftest import FIXTURES


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def rows(document: Any, source: str) -> list[Any]:
    return [row for item in FEEDS[source].parse(document) if isinstance(item, Record) for row in item.rows]


def test_formats_are_detected_from_content_not_names() -> None:
    assert detect(load("claude_code_analytics.json")).name == "claude_code"
    assert detect(load("github_pulls.json")).name == "github"
    assert detect(load("github_pull_detail.json")).name == "github"
    with pytest.raises(FeedError, match="unknown source"):
        detect({}, forced="myspace")


def test_claude_code_record_becomes_usage_and_activity() -> None:
    found = rows(load("claude_code_analytics.json"), "claude_code")
    ben = [r for r in found if isinstance(r, UsageRow) and r.identity.value == "ben@acme.test" and r.record_key.endswith("local|claude-opus-4-6")]
    assert len(ben) == 1
    assert (ben[0].input_tokens, ben[0].output_tokens, ben[0].cache_read_tokens, ben[0].cache_write_tokens) == (
        592517, 802713, 81528740, 4490219)
    assert ben[0].cost_usd == pytest.approx(96.0682)  # 9606.82 cents
    activity = {r.metric: r.value for r in found if isinstance(r, ActivityRow) and r.identity.value == "ben@acme.test"
                and "|local" in r.record_key}
    assert activity["edits_accepted"] == 310 and activity["edits_rejected"] == 74 and activity["sessions"] == 11
    ci = [r for r in found if isinstance(r, UsageRow) and r.identity.kind == "anthropic_key_name"]
    assert {r.identity.value for r in ci} == {"ci-pr-review"}


def outcomes(pulls: list[dict[str, Any]]) -> list[OutcomeRow]:
    return [r for r in rows(pulls, "github") if isinstance(r, OutcomeRow)]


def test_sample_pulls_give_merges_and_one_revert_charge() -> None:
    found = outcomes(load("github_pulls.json"))
    merged = sorted(r.identity.value for r in found if r.kind == "pr_merged")
    assert merged.count("cara-codes") == 10 and merged.count("ana-acme") == 5 and merged.count("benb") == 2
    assert not any(login in merged for login in ("dependabot[bot]", "copilot"))
    reverts = [r for r in found if r.kind == "pr_reverted"]
    assert [(r.identity.value, r.key, r.occurred_at.isoformat()) for r in reverts] == [
        ("benb", "github:acme/app#1168:reverted", "2026-11-13T09:17:00+00:00")]


def pull(number: int, login: str = "ana", merged: str | None = "2026-11-10T10:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": extra.pop("title", f"change {number}"), "merged_at": merged,
            "user": {"login": login, "type": extra.pop("type", "User")}, "head": {"ref": extra.pop("ref", f"b{number}")},
            "base": {"repo": {"full_name": "o/r"}}, "body": extra.pop("body", ""), **extra}


@pytest.mark.parametrize(
    ("revert", "expected"),
    [
        (pull(2, "cara", ref="revert-1-b1"), [("pr_merged", "ana"), ("pr_reverted", "ana")]),
        (pull(2, "cara", body="Reverts o/r#1"), [("pr_merged", "ana"), ("pr_reverted", "ana")]),
        (pull(2, "cara", title='Revert "change 1"'), [("pr_merged", "ana"), ("pr_reverted", "ana")]),
        (pull(2, "cara", body="Reverts o/r#99"), [("pr_merged", "ana")]),  # unknown PR: nobody charged
        (pull(2, "cara", merged=None, ref="revert-1-b1"), [("pr_merged", "ana")]),  # revert not merged
    ],
)
def test_revert_charges_the_reverted_author_and_is_not_a_merge(revert: dict, expected: list) -> None:
    found = outcomes([pull(1), revert])
    assert [(r.kind, r.identity.value) for r in found] == expected


def test_revert_of_a_revert_and_bot_prs_charge_nothing() -> None:
    found = outcomes([
        pull(1), pull(2, "cara", ref="revert-1-b1"), pull(3, "dev", ref="revert-2-revert-1-b1"),
        pull(4, "dependabot[bot]"), pull(5, "Copilot", type="Bot"), pull(6, merged=None),
    ])
    assert [(r.kind, r.identity.value) for r in found] == [("pr_merged", "ana"), ("pr_reverted", "ana")]


def test_bad_pull_is_rejected_and_the_rest_kept() -> None:
    document = [pull(1), {"number": "seven", "merged_at": "yesterday", "head": {}}, pull(3)]
    items = list(FEEDS["github"].parse(document))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == ["[1]"]
    assert "number" in rejected[0].reason and "merged_at" in rejected[0].reason
    assert len(outcomes(document)) == 2


def test_single_pull_and_webhook_payload_shapes() -> None:
    detail = outcomes(load("github_pull_detail.json"))
    assert [(r.kind, r.identity.value, r.key) for r in detail] == [("pr_merged", "benb", "github:acme/app#1168:merged")]
    webhook = json.loads((FIXTURES / "github_webhook_pull_request_merged.json").read_text())
    assert [(r.kind, r.identity.value) for r in outcomes(webhook)] == [("pr_merged", "cara-codes")]
