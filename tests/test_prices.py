from __future__ import annotations

import pytest

from bot.config.org import PriceConfig
from bot.core.prices import PriceTable, Tokens, normalise_model


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("openai/gpt-5-mini-2025-08-07", "gpt-5-mini"),
        ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
        ("Claude-Opus-4-6", "claude-opus-4-6"),
        ("anthropic/claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("gpt-5.5", "gpt-5.5"),
    ],
)
def test_model_names_are_normalised(raw: str, normal: str) -> None:
    assert normalise_model(raw) == normal


def test_cost_uses_every_token_kind() -> None:
    table = PriceTable.builtin()
    tokens = Tokens(
        input=1_000_000, output=1_000_000, cache_read=1_000_000, cache_write=2_000_000, cache_write_1h=1_000_000
    )
    # Opus 4.6: 5 input + 25 output + 0.5 read + 6.25 (5-minute write) + 10 (1-hour write)
    assert table.cost("claude-opus-4-6-20260101", tokens) == pytest.approx(46.75)
    assert table.tier("claude-opus-4-6") == "frontier"
    assert table.tier("claude-haiku-4-5-20251001") == "economy"


def test_unpriced_model_is_none_not_zero() -> None:
    assert PriceTable.builtin().cost("mystery-model-9", Tokens(input=10)) is None


def test_config_prices_extend_and_override() -> None:
    override = PriceConfig(provider="acme", tier="economy", input=1, output=2, aliases=("house-model-latest",))
    table = PriceTable.builtin({
        "house-model": override,
        "gpt-5": PriceConfig(provider="openai", tier="standard", input=2, output=20),
    })
    assert table.cost("house-model-latest", Tokens(input=1_000_000, output=1_000_000)) == pytest.approx(3)
    assert table.cost("gpt-5-2025-08-07", Tokens(output=1_000_000)) == pytest.approx(20)


def test_cursor_thinking_model_names_price_as_their_base_model() -> None:
    table = PriceTable.builtin()
    assert table.canonical("claude-4.6-opus-high-thinking") == "claude-opus-4-6"
    assert table.tier("claude-4.6-sonnet-thinking") == "standard"
