"""Feed adapters: detection from content, and the outcome semantics of GitHub pulls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bot.errors import FeedError
from bot.ingest.feeds import FEEDS, detect
from bot.ingest.feeds.base import ActivityRow, OutcomeRow, Record, Rejection, UsageRow
from bot.ingest.feeds.github_pulls import parse_pulls
from tests.conftest import FIXTURES
from tests.contract import FeedCase, check_contract


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def rows(items: Iterable[Record | Rejection]) -> list[Any]:
    return [row for item in items if isinstance(item, Record) for row in item.rows]


def test_formats_are_detected_from_content_not_names() -> None:
    for name, source in [("claude_code_analytics.json", "claude_code"), ("github_pulls.json", "github"),
                         ("github_pull_detail.json", "github"), ("github_webhook_pull_request_merged.json", "github")]:
        assert detect((FIXTURES / name).read_text()[:65536]).name == source
    with pytest.raises(FeedError, match="unknown source"):
        detect("{}", forced="myspace")
    with pytest.raises(FeedError, match="not a format tokenworth knows"):
        detect('{"hello": "world"}')


def test_claude_code_record_becomes_usage_and_activity() -> None:
    found = rows(FEEDS["claude_code"].parse(FIXTURES / "claude_code_analytics.json"))
    ben = [r for r in found if isinstance(r, UsageRow) and r.identity.value == "ben@acme.test"
           and r.record_key.endswith("local|claude-opus-4-6")]
    assert len(ben) == 1
    assert (ben[0].input_tokens, ben[0].output_tokens, ben[0].cache_read_tokens, ben[0].cache_write_tokens) == (
        592517, 802713, 81528740, 4490219)
    assert ben[0].cost_usd == pytest.approx(96.0682)  # 9606.82 cents
    activity = {r.metric: r.value for r in found if isinstance(r, ActivityRow) and r.identity.value == "ben@acme.test"
                and "|local" in r.record_key}
    assert activity["edits_accepted"] == 310 and activity["edits_rejected"] == 74 and activity["sessions"] == 11
    ci = [r for r in found if isinstance(r, UsageRow) and r.identity.kind == "anthropic_key_name"]
    assert {r.identity.value for r in ci} == {"ci-pr-review"}


def outcomes(document: Any) -> list[OutcomeRow]:
    return [r for r in rows(parse_pulls(document)) if isinstance(r, OutcomeRow)]


def test_sample_pulls_give_merges_and_one_revert() -> None:
    found = outcomes(load("github_pulls.json"))
    merged = sorted(r.identity.value for r in found if r.kind == "pr_merged")
    assert merged.count("cara-codes") == 10 and merged.count("ana-acme") == 5 and merged.count("benb") == 2
    assert not any(login in merged for login in ("dependabot[bot]", "copilot"))
    reverts = [r for r in found if r.kind == "pr_revert"]
    assert [(r.identity.value, r.ref, r.occurred_at.isoformat()) for r in reverts] == [
        ("ana-acme", "github:acme/app#1168:merged", "2026-11-13T09:17:00+00:00")]


def pull(number: int, login: str = "ana", merged: str | None = "2026-11-10T10:00:00Z", **extra: Any) -> dict[str, Any]:
    return {"number": number, "title": extra.pop("title", f"change {number}"), "merged_at": merged,
            "user": {"login": login, "type": extra.pop("type", "User")},
            "head": {"ref": extra.pop("ref", f"b{number}")},
            "base": {"repo": {"full_name": "o/r"}}, "body": extra.pop("body", ""), **extra}


@pytest.mark.parametrize(
    ("revert", "expected"),
    [
        (pull(2, "cara", ref="revert-1-b1"),
         [("pr_merged", "ana", None), ("pr_revert", "cara", "github:o/r#1:merged")]),
        (pull(2, "cara", body="Reverts o/r#1"),
         [("pr_merged", "ana", None), ("pr_revert", "cara", "github:o/r#1:merged")]),
        (pull(2, "cara", title='Revert "change 1"'),
         [("pr_merged", "ana", None), ("pr_revert", "cara", "github:o/r#1:merged")]),
        (pull(2, "cara", body="Reverts o/r#99"),
         [("pr_merged", "ana", None), ("pr_revert", "cara", "github:o/r#99:merged")]),
        (pull(2, "cara", title='Revert "unknown"'), [("pr_merged", "ana", None)]),  # nothing to point at
        (pull(2, "cara", merged=None, ref="revert-1-b1"), [("pr_merged", "ana", None)]),  # revert not merged
    ],
)
def test_a_merged_revert_points_at_the_merge_it_undoes_and_is_not_a_merge(revert: dict, expected: list) -> None:
    found = outcomes([pull(1), revert])
    assert [(r.kind, r.identity.value, r.ref) for r in found] == expected


def test_bot_prs_and_unmerged_prs_earn_nothing() -> None:
    found = outcomes([pull(1), pull(4, "dependabot[bot]"), pull(5, "Copilot", type="Bot"), pull(6, merged=None)])
    assert [(r.kind, r.identity.value) for r in found] == [("pr_merged", "ana")]


def test_bad_pull_is_rejected_and_the_rest_kept() -> None:
    document = [pull(1), {"number": "seven", "merged_at": "yesterday", "head": {}}, pull(3)]
    items = list(parse_pulls(document))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == ["[1]"]
    assert "number" in rejected[0].reason and "merged_at" in rejected[0].reason
    assert len(outcomes(document)) == 2


def test_single_pull_and_webhook_payload_shapes() -> None:
    detail = outcomes(load("github_pull_detail.json"))
    assert [(r.kind, r.identity.value, r.key) for r in detail] == [("pr_merged", "benb", "github:acme/app#1168:merged")]
    webhook = json.loads((FIXTURES / "github_webhook_pull_request_merged.json").read_text())
    assert [(r.kind, r.identity.value) for r in outcomes(webhook)] == [("pr_merged", "cara-codes")]


def _first_data_record(text: str, change: Callable[[dict], None]) -> str:
    document = json.loads(text)
    change(document["data"][0] if isinstance(document, dict) else document[0])
    return json.dumps(document)


def _every_record(text: str) -> str:
    document = json.loads(text)
    for record in document["data"] if isinstance(document, dict) else document:
        record["x_unknown_field"] = {"nested": [1, 2]}
    return json.dumps(document)


CASES = [
    FeedCase(
        "claude_code", FIXTURES / "claude_code_analytics.json",
        corrupt=lambda t: _first_data_record(t, lambda r: r["core_metrics"].update(num_sessions="many")),
        bad_location="data[0]", add_unknown_field=_every_record,
        empty='{"data": [], "has_more": false, "next_page": null}',
    ),
    FeedCase(
        "github", FIXTURES / "github_pulls.json",
        corrupt=lambda t: _first_data_record(t, lambda r: r.update(merged_at="last tuesday")),
        bad_location="[0]", add_unknown_field=_every_record, empty="[]",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_feed_contract(case: FeedCase, sqlite_engine, tmp_path) -> None:
    check_contract(case, sqlite_engine, tmp_path)
