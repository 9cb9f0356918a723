"""List prices per million tokens: the built-in table, extended and overridden by the config."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

from bot.config.org import PriceConfig

_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")
MILLION = 1_000_000


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0  # part of cache_write billed at the 1-hour rate

    @property
    def total(self) -> int:
        return self.input + self.output + self.cache_read + self.cache_write


def normalise_model(name: str) -> str:
    """`openai/gpt-5-mini-2025-08-07` -> `gpt-5-mini`; `claude-haiku-4-5-20251001` -> `claude-haiku-4-5`."""
    model = name.strip().lower()
    if "/" in model:
        model = model.rsplit("/", 1)[1]
    return _DATE_SUFFIX.sub("", model)


class PriceTable:
    def __init__(self, entries: Mapping[str, PriceConfig]):
        self._entries = dict(entries)
        self._names: dict[str, str] = {}
        for name, entry in self._entries.items():
            self._names[normalise_model(name)] = name
            for alias in entry.aliases:
                self._names[normalise_model(alias)] = name

    @classmethod
    def builtin(cls, overrides: Mapping[str, PriceConfig] | None = None) -> PriceTable:
        raw = json.loads(resources.files("bot.core").joinpath("data/prices.json").read_text())
        entries = {name: PriceConfig(**spec) for name, spec in raw["models"].items()}
        entries.update(overrides or {})
        return cls(entries)

    def canonical(self, model: str) -> str:
        """The table's name for a model, or the normalised name when the model is unpriced."""
        normal = normalise_model(model)
        return self._names.get(normal, normal)

    def get(self, model: str) -> PriceConfig | None:
        return self._entries.get(self.canonical(model))

    def tier(self, model: str) -> str | None:
        entry = self.get(model)
        return entry.tier if entry else None

    def cost(self, model: str, tokens: Tokens) -> float | None:
        """List-price value of the tokens, or None when the model has no price."""
        entry = self.get(model)
        return None if entry is None else cost_at(entry, tokens)


def cost_at(entry: PriceConfig, tokens: Tokens) -> float:
    cache_write = entry.cache_write if entry.cache_write is not None else entry.input
    cache_1h = entry.cache_write_1h if entry.cache_write_1h is not None else 2 * entry.input
    cache_read = entry.cache_read if entry.cache_read is not None else entry.input
    five_minute = tokens.cache_write - tokens.cache_write_1h
    dollars = (
        tokens.input * entry.input
        + tokens.output * entry.output
        + tokens.cache_read * cache_read
        + five_minute * cache_write
        + tokens.cache_write_1h * cache_1h
    )
    return dollars / MILLION
