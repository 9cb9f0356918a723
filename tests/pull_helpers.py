"""Shared by the pull tests: settings aimed at a local fake vendor server, and a sink that keeps pages."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config.settings import DOCUMENTED, Settings, load_settings
from bot.core.weeks import to_utc
from storage.models import Activity, Billed, Identity, Outcome, Seat, Usage, table
from tests.conftest import FIXTURES
from tests.fakes.vendor_server import Reply, VendorServer

PULL_FIXTURES = FIXTURES / "pull"
NOW = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
KEYS = {
    "anthropic_admin_key": "sk-ant-admin01-test-secret",
    "openai_admin_key": "sk-admin-openai-test-secret",
    "cursor_api_key": "key_cursor_test_secret",
    "litellm_api_key": "sk-litellm-test-secret",
    "github_token": "ghp_test_secret",
    "github_org": "acme",
}


def clear_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in DOCUMENTED:
        monkeypatch.delenv(name, raising=False)


def settings_for(server: VendorServer, **values: Any) -> Settings:
    urls = {"anthropic_api_url": server.url, "openai_api_url": f"{server.url}/v1", "cursor_api_url": server.url,
            "github_api_url": server.url, "litellm_api_url": server.url}
    return load_settings(**{**urls, **values})


def day(text: str) -> date:
    return date.fromisoformat(text)


def fixture_json(name: str) -> Any:
    return json.loads((PULL_FIXTURES / name).read_text())


@dataclass
class Collected:
    """A sink that keeps what would have been ingested: (source, file name, bytes)."""

    pages: list[tuple[str, str, bytes]] = field(default_factory=list)

    def __call__(self, path: Path, source: str) -> int:
        content = path.read_bytes()
        self.pages.append((source, path.name, content))
        if path.suffix == ".ndjson":
            return len(content.splitlines())
        document = json.loads(content)
        items = document if isinstance(document, list) else next(
            (v for k, v in document.items() if k in ("data", "usageEvents", "seats")), [])
        return len(items)

    def bodies(self, source: str | None = None) -> list[Any]:
        wanted = [c for s, name, c in self.pages if (source is None or s == source) and name.endswith(".json")]
        return [json.loads(c) for c in wanted]


def github_pages(server: VendorServer, path: str, size: int) -> list[list[dict[str, Any]]]:
    """The fixture PRs, most recently updated first, served `size` to a page with Link headers."""
    pulls = sorted(json.loads((FIXTURES / "github_pulls.json").read_text()),
                   key=lambda p: p["updated_at"], reverse=True)
    pages = [pulls[i:i + size] for i in range(0, len(pulls), size)]
    for number, items in enumerate(pages, 1):
        link = f'<{server.url}{path}?state=closed&page={number + 1}>; rel="next"' if number < len(pages) else ""
        server.route("GET", path, Reply(body=items, headers={"Link": link} if link else {}),
                     match={"page": str(number)} if number > 1 else {})
    return pages


def stored(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every counted table, identities as (kind, value) and times in UTC: comparable across databases."""
    with engine.connect() as conn:
        identities = {row.id: (row.kind, row.value) for row in conn.execute(select(table(Identity)))}
        tables = {}
        for model in (Usage, Activity, Outcome, Billed, Seat):
            rows = conn.execute(select(table(model))).mappings()
            tables[model.__name__] = sorted(
                tuple(
                    (k, identities[v] if k == "identity_id" else _plain(v)) for k, v in sorted(row.items()) if k != "id"
                )
                for row in rows)
    return tables


def _plain(value: Any) -> Any:
    if isinstance(value, float):  # a rollup sums the same costs in the order they arrived: equal to 1e-9
        return round(value, 9)
    return to_utc(value).isoformat() if isinstance(value, datetime) else value
