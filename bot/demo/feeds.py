"""More of the demo org's tools, in their vendors' formats: Cursor events, an LLM gateway log, Copilot seats."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

from bot.core.prices import PriceTable, Tokens

CURSOR_MAX_MODE = 1.2  # Cursor's markup on max mode


class Person(Protocol):
    @property
    def email(self) -> str: ...

    @property
    def login(self) -> str: ...

    @property
    def persona(self) -> Any: ...


def write_more_tools(
    people: Sequence[Person], days: Sequence[date], rng: random.Random, prices: PriceTable, out: Path
) -> None:
    heavy = {p.email for p in people if p.persona.name == "tokenmaxxer"}
    cursor_users = [p for i, p in enumerate(people) if i % 2 == 0 or p.email in heavy]
    events = [e for day in days if day.weekday() < 5 for p in cursor_users
              for e in _cursor_events(p.email, day, p.email in heavy, rng, prices)]
    page = {"totalUsageEventsCount": len(events), "usageEvents": events,
            "pagination": {"numPages": 1, "currentPage": 1, "pageSize": len(events), "hasNextPage": False,
                           "hasPreviousPage": False}}
    (out / "cursor_usage_events.json").write_text(json.dumps(page), encoding="utf-8")
    with (out / "litellm_spend_logs.jsonl").open("w", encoding="utf-8") as log:
        for day in (d for d in days if d.weekday() < 5):
            for person in people:
                for row in _gateway_requests(person.email, day, person.email in heavy, rng, prices):
                    log.write(json.dumps(row) + "\n")
    last = days[-1]
    seats = [_seat(p, last, p.email in heavy or rng.random() < 0.15, rng) for p in people if rng.random() < 0.7]
    (out / f"copilot-seats-{last}.json").write_text(
        json.dumps({"total_seats": len(seats), "seats": seats}), encoding="utf-8"
    )


def _cursor_events(email: str, day: date, heavy: bool, rng: random.Random, prices: PriceTable) -> list[dict[str, Any]]:
    if rng.random() > (0.9 if heavy else 0.5):
        return []
    events = []
    for _ in range(rng.randint(8, 30) if heavy else rng.randint(1, 6)):
        model = "claude-4.6-opus-high-thinking" if heavy else rng.choice(["claude-4.6-sonnet", "gpt-5"])
        tokens = Tokens(input=rng.randint(500, 6000), output=rng.randint(300, 5000),
                        cache_read=rng.randint(10_000, 300_000), cache_write=rng.randint(1000, 30_000))
        cents = round((prices.cost(model, tokens) or 0) * 100 * (CURSOR_MAX_MODE if heavy else 1), 4)
        stamp = datetime.combine(day, time(rng.randint(8, 19), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=UTC)
        events.append({
            "timestamp": str(int(stamp.timestamp() * 1000) + rng.randint(0, 999)), "userEmail": email, "model": model,
            "kind": "Usage-based" if heavy else "Included in Business", "maxMode": heavy, "requestsCosts": 1,
            "isTokenBasedCall": True, "isChargeable": heavy, "isHeadless": False, "chargedCents": cents if heavy else 0,
            "isFreeBugbot": False,
            "tokenUsage": {"inputTokens": tokens.input, "outputTokens": tokens.output,
                           "cacheWriteTokens": tokens.cache_write, "cacheReadTokens": tokens.cache_read,
                           "totalCents": cents},
        })
    return events


def _gateway_requests(
    email: str, day: date, heavy: bool, rng: random.Random, prices: PriceTable
) -> list[dict[str, Any]]:
    rows = []
    for n in range(rng.randint(5, 25) if heavy else rng.randint(0, 6)):
        model = "gpt-5.5" if heavy else "gpt-5-mini"
        prompt, completion = rng.randint(2000, 20_000), rng.randint(200, 3000)
        cached = rng.randint(0, prompt // 2)
        spend = prices.cost(model, Tokens(input=prompt - cached, cache_read=cached, output=completion)) or 0.0
        start = datetime.combine(day, time(rng.randint(8, 19), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=UTC)
        rows.append({
            "request_id": f"chatcmpl-demo-{email.split('@')[0]}-{day:%Y%m%d}-{n}", "call_type": "acompletion",
            "spend": round(spend, 8), "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion, "startTime": start.isoformat(),
            "endTime": (start + timedelta(seconds=rng.randint(2, 40))).isoformat(), "model": model,
            "model_group": model, "custom_llm_provider": "openai", "user": email, "status": "success",
            "metadata": {"user_api_key_user_id": email, "status": "success",
                         "additional_usage_values": {"prompt_tokens_details": {"cached_tokens": cached}}},
        })
    return rows


def _seat(person: Person, last: date, idle: bool, rng: random.Random) -> dict[str, Any]:
    seen = last - timedelta(days=rng.randint(20, 60) if idle else rng.randint(0, 5))
    stamp = datetime.combine(seen, time(10), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:00:00Z", "pending_cancellation_date": None,
        "last_activity_at": stamp, "last_activity_editor": "vscode/1.106.2/copilot-chat/0.33.2",
        "last_authenticated_at": stamp, "plan_type": "business", "assignee": {"login": person.login, "type": "User"},
    }
