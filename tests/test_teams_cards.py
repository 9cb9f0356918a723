"""Adaptive Cards for Teams: every card is valid Adaptive Card 1.5 and fits in a Teams message.

Also home of the helpers the other Teams tests share: the sample org with Teams aliases, and the
card checks.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.answers.commands import answer
from bot.answers.text import lines
from bot.answers.types import Code, Strong
from bot.config.settings import Settings
from bot.ingest.files import ingest_paths
from bot.msteams.cards import MAX_BYTES, answer_card, digest_card, markdown
from bot.people.directory import prepare
from bot.runtime import Runtime
from tests.conftest import EXAMPLE_CONFIG, FIXTURES

SCHEMA = FIXTURES / "adaptive-card.schema.1.5.0.json"
CARA_AAD = "5f1c7a2e-0b7d-4c55-9a8e-2f0d9c1b3a47"
ANA_AAD = "0a4c9e3b-7f15-4e61-8d2a-c1b5e9f70d36"
PLATFORM_CHANNEL = "19:platform-leads@thread.tacv2"
PRODUCT_CHANNEL = "19:product-leads@thread.tacv2"
IN_W47 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday of 2026-W47


@cache
def _validator() -> jsonschema.Draft6Validator:
    return jsonschema.Draft6Validator(json.loads(SCHEMA.read_text()))


def assert_valid_card(card: dict[str, Any]) -> None:
    """Adaptive Card 1.5 (the schema requires neither type nor version, so both are checked here), under 28 KB."""
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"
    errors = sorted(_validator().iter_errors(card), key=lambda e: list(e.path))
    assert not errors, [(list(e.path), e.message, [c.message for c in e.context]) for e in errors]
    assert len(json.dumps(card).encode()) < MAX_BYTES


def card_texts(card: dict[str, Any]) -> list[str]:
    """Every text a card shows, in order: text blocks, and facts as `title: value`."""
    found: list[str] = []

    def walk(element: Any) -> None:
        if isinstance(element, list):
            for item in element:
                walk(item)
        elif isinstance(element, dict):
            if element.get("type") == "TextBlock":
                found.append(element["text"])
            elif element.get("type") == "FactSet":
                found.extend(f"{fact['title']}: {fact['value']}" for fact in element["facts"])
            walk(element.get("body") or element.get("items") or [])

    walk(card)
    return found


def sample_org(tmp_path: Path, **settings: Any) -> Runtime:
    """The sample org (examples/tokenworth.yml) with Teams channels and two `teams` aliases, fixtures ingested."""
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    raw["teams"][0]["teams_channel"] = PLATFORM_CHANNEL
    raw["teams"][1]["teams_channel"] = PRODUCT_CHANNEL
    aad = {"cara@acme.test": CARA_AAD, "ana@acme.test": ANA_AAD}
    for person in raw["people"]:
        if person["email"] in aad:
            person["aliases"]["teams"] = aad[person["email"]]
    config = tmp_path / "tokenworth.yml"
    config.write_text(yaml.safe_dump(raw))
    runtime = Runtime(Settings(**settings), f"sqlite:///{tmp_path / 'tokenworth.db'}", str(config))
    prepare(runtime)
    ingest_paths(runtime.engine, [FIXTURES / "claude_code_analytics", FIXTURES / "github_pulls.json"])
    return runtime


@pytest.fixture
def acme(tmp_path: Path) -> Runtime:
    return sample_org(tmp_path)


COMMANDS = ["help", "me", "me last-week", "me 2026-W46", "me 4w", "trend", "preview", "kudos on", "kudos off",
            "kudos", "privacy", "team", "team platform 2026-W47", "team product", "me 2026-W99", "dance",
            "me 2026-w47", "me this-week", "team platform last-week", "team nope", "trend 4w"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_answer_card_is_valid_for_a_member_and_a_manager(acme: Runtime, command: str) -> None:
    for email in ("cara@acme.test", "ana@acme.test", None):
        reply = answer(acme, email, command, now=IN_W47, prefix="@tokenworth")
        assert_valid_card(answer_card(reply, "https://bot.acme.test/charts/abc.png"))


def test_the_me_card_shows_the_core_answer_line_for_line(acme: Runtime) -> None:
    reply = answer(acme, "cara@acme.test", "me", now=IN_W47)
    texts = card_texts(answer_card(reply))
    assert texts[0] == "Cara Chen · week 2026-W47"
    assert "AI spend: $6.48" in texts and "Outcome points: 15" in texts
    assert [markdown(line) for line in lines(reply)[1:]] == texts[-len(lines(reply)) + 1:]


def test_the_sample_org_digest_card_is_valid_with_and_without_figures(acme: Runtime) -> None:
    from bot.core.weeks import Week
    from bot.digest.build import load_digest
    from storage.engine import session_scope

    with session_scope(acme.engine) as session:
        digest = load_digest(session, acme.config, acme.prices, "platform", Week.parse("2026-W47"))
    card = digest_card(digest, [("spend", "https://bot.acme.test/charts/a.png")])
    assert_valid_card(card)
    assert digest.suppressed  # the sample teams are below the privacy floor
    assert any("No team figures this week" in text for text in card_texts(card))


def test_commands_and_emphasis_become_adaptive_card_markdown(acme: Runtime) -> None:
    assert markdown((Strong("@tokenworth help"), ": this list")) == "**@tokenworth help**: this list"
    assert markdown(("Say ", Code("kudos on"), " or ", Code("kudos off"), ".")) == "Say **kudos on** or **kudos off**."
    assert markdown(("2 * 3 = 6, $6.48",)) == "2 * 3 = 6, $6.48"
    helped = card_texts(answer_card(answer(acme, "cara@acme.test", "help", now=IN_W47, prefix="@tokenworth")))
    assert "**@tokenworth help**: this list" in helped
    kudos = card_texts(answer_card(answer(acme, "cara@acme.test", "kudos maybe", now=IN_W47, prefix="@tokenworth")))
    assert "Say **kudos on** or **kudos off**." in kudos


def test_an_oversized_card_is_cut_to_fit_keeping_its_first_and_last_element() -> None:
    from bot.msteams.cards import adaptive_card

    body = [{"type": "TextBlock", "text": f"line {i} " + "x" * 500, "wrap": True} for i in range(100)]
    card = adaptive_card(body, "fallback")
    assert_valid_card(card)
    assert card["body"][0]["text"].startswith("line 0 ") and card["body"][-1]["text"].startswith("line 99 ")
    assert len(card["body"]) < 100
