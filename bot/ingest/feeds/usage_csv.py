"""The generic usage CSV (docs/usage-csv.md): one row per day, person, provider, model and tool.

For tools tokenworth has no adapter for. A row's key is day|identity|provider|model|tool, so a
row sent again in a later file replaces the earlier figures; within one file a repeated key is
rejected by the store (`unique_keys`): the figures should have been added up into one row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from bot.core.prices import normalise_model
from bot.ingest.feeds._csv import Cells, header_of, read_rows
from bot.ingest.feeds.base import BaseFeed, IdentityRef, Record, Rejection, UsageRow, read_record

SOURCE = "usage_csv"
REQUIRED = ("day", "provider", "model", "email|identity")
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "requests")
IDENTITY_KINDS = (
    "email", "github", "github_id", "cursor", "anthropic_account", "api_key", "openai_user", "litellm",
    "linear", "jira", "otel", "anthropic_key_name", "anthropic_workspace", "openai_project",
)
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_COUNT = re.compile(r"^[0-9]+$")
MAX_COUNT = 2**63 - 1  # the usage columns are 64-bit integers


class UsageCsvFeed(BaseFeed):
    name = SOURCE
    unique_keys = True

    def sniff(self, head: str) -> bool:
        header = header_of(head, lowercase=True)
        return {"day", "provider", "model"} <= header and bool(header & {"email", "identity"})

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        for line, cells in read_rows(path, REQUIRED, lowercase=True):
            where = f"line {line}"
            if isinstance(cells, str):
                yield Rejection(where, cells)
                continue
            yield read_record(where, lambda cells: (_row(cells),), cells)


def _row(cells: Cells) -> UsageRow:
    problems: list[str] = []
    day = _day(cells["day"], problems)
    identity = _identity(cells, problems)
    counts = {name: _count(name, cells.get(name, ""), problems) for name in TOKENS}
    cost = _cost(cells.get("cost_usd", ""), problems)
    for name in ("provider", "model"):
        if not cells[name]:
            problems.append(f"{name}: empty")
    if problems or day is None or identity is None:
        raise ValueError("; ".join(problems))
    provider, model = cells["provider"].lower(), normalise_model(cells["model"])
    tool = (cells.get("tool") or "csv").lower()
    return UsageRow(
        source=SOURCE, record_key=f"{day}|{identity.kind}:{identity.value}|{provider}|{model}|{tool}",
        identity=identity, day=day, provider=provider, tool=tool, model=model, cost_usd=cost,
        input_tokens=counts["input_tokens"], output_tokens=counts["output_tokens"],
        cache_read_tokens=counts["cache_read_tokens"], cache_write_tokens=counts["cache_write_tokens"],
        requests=counts["requests"],
    )


def _day(text: str, problems: list[str]) -> date | None:
    try:
        if _DAY.match(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    problems.append(f"day: expected a date as YYYY-MM-DD (got {text[:30]!r})")
    return None


def _identity(cells: Cells, problems: list[str]) -> IdentityRef | None:
    written, email = cells.get("identity", ""), cells.get("email", "")
    kind, _, value = written.partition(":") if written else ("email", "", email)
    if written and email:
        problems.append("identity: give email or identity, not both")
    elif not written and not email:
        problems.append("identity: missing (fill in email or identity)")
    elif kind not in IDENTITY_KINDS:
        problems.append(f"identity: unknown kind {kind[:30]!r} (write kind:value; kinds: {', '.join(IDENTITY_KINDS)})")
    elif not value.strip():
        problems.append(f"identity: {written[:60]!r} has no value after the kind")
    elif kind == "email" and "@" not in value:
        problems.append(f"{'identity' if written else 'email'}: not an email address (got {value[:60]!r})")
    else:
        return IdentityRef.of(kind, value)
    return None


def _count(name: str, text: str, problems: list[str]) -> int:
    if not text:
        return 0
    if _COUNT.match(text) and int(text) <= MAX_COUNT:
        return int(text)
    if _COUNT.match(text):
        reason = f"more than {MAX_COUNT}, the most a usage row can hold"
    elif text.startswith("-"):
        reason = "must not be negative"
    else:
        reason = "expected a whole number"
    problems.append(f"{name}: {reason} (got {text[:30]!r})")
    return 0


def _cost(text: str, problems: list[str]) -> float | None:
    if not text:
        return None
    try:
        cost = float(text)
    except ValueError:
        cost = math.nan
    if not math.isfinite(cost) or cost < 0:
        problems.append(f"cost_usd: expected a dollar amount of 0 or more (got {text[:30]!r})")
        return None
    return cost


FEED = UsageCsvFeed()
