"""GitHub: Copilot per-user daily reports and seats, and a repository's closed pull requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.config.settings import Settings
from bot.core.weeks import to_utc
from bot.errors import SettingsError, UsageError
from bot.ingest.pull.base import Page, PullWindow, SubFeed, Target, Vendor, has, json_of, midnight, secret
from bot.ingest.pull.http import PullError, Sleep, VendorClient, next_link

MAX_PAGES = 10_000


def client(settings: Settings, sleep: Sleep) -> VendorClient:
    token = secret(settings, "github_token", "from GitHub")
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
               "X-GitHub-Api-Version": "2022-11-28"}
    return VendorClient(settings.github_api_url, headers=headers, secrets=(token,), sleep=sleep)


def copilot_client(settings: Settings, sleep: Sleep) -> VendorClient:
    secret(settings, "github_org", "Copilot reports and seats from GitHub")
    return client(settings, sleep)


def _org(target: Target) -> str:
    if not target.org:
        raise SettingsError("GITHUB_ORG is not set; it is needed to pull Copilot reports and seats")
    return target.org


def copilot_usage_pages(client: VendorClient, window: PullWindow, target: Target) -> Iterator[Page]:
    """Per day, the report lists signed NDJSON links; those are fetched without our token."""
    path = f"/orgs/{_org(target)}/copilot/metrics/reports/users-1-day"
    for day in window.days():
        response = client.get(path, {"day": day.isoformat()}, missing_ok=True)
        if response is None:
            continue  # no report for that day (before reports began, or not generated yet)
        links = json_of(response, f"{path} {day}")
        links = links.get("download_links") if isinstance(links, dict) else None
        if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
            raise PullError(f"{path} {day}: expected download_links, a list of URLs")
        for number, link in enumerate(links, 1):
            yield Page(client.download(link).content, f"copilot users {day} part {number}", ".ndjson")


def copilot_seats_pages(client: VendorClient, window: PullWindow, target: Target) -> Iterator[Page]:
    """A snapshot of today's seats; the file name carries its day, which the seats feed reads."""
    path = f"/orgs/{_org(target)}/copilot/billing/seats"
    for number, response in enumerate(_linked(client, path, {"per_page": 100}), 1):
        yield Page(response.content, f"copilot-seats {target.today or window.until} page {number}")


def pull_pages(client: VendorClient, window: PullWindow, target: Target) -> Iterator[Page]:
    """Closed PRs, most recently updated first, until a whole page is older than the window."""
    if not target.repo or target.repo.count("/") != 1:
        raise UsageError("pulling GitHub pull requests needs --repo OWNER/NAME")
    path = f"/repos/{target.repo}/pulls"
    params = {"state": "closed", "sort": "updated", "direction": "desc", "per_page": 100}
    for number, response in enumerate(_linked(client, path, params), 1):
        pulls = json_of(response, f"{path} page {number}")
        if not isinstance(pulls, list):
            raise PullError(f"{path} page {number}: expected a list of pull requests")
        yield Page(response.content, f"pulls page {number}")
        if all(_older(pull, window) for pull in pulls):
            return


def _older(pull: Any, window: PullWindow) -> bool:
    try:
        return to_utc(datetime.fromisoformat(pull["updated_at"])) < midnight(window.since)
    except (TypeError, KeyError, ValueError):
        return False  # unreadable: keep paging; the adapter will reject the record itself


def _linked(client: VendorClient, path: str, params: dict[str, Any]) -> Iterator[Any]:
    """Follow the Link header's rel="next", on GitHub's own host only (it gets our token)."""
    url: str | None = path
    for _ in range(MAX_PAGES):
        if url is None:
            return
        response = client.get(url, params if url == path else None)
        assert response is not None
        yield response
        url = next_link(response.headers.get("link"))
        if url is not None and not client.same_origin(url):
            raise PullError(f"{path}: the next page link points off {client.base_url}; not sending the token there")
    raise PullError(f"{path}: more than {MAX_PAGES} pages")


COPILOT = Vendor(
    name="github-copilot",
    feeds=(
        SubFeed("usage", "copilot_usage", copilot_usage_pages), SubFeed("seats", "copilot_seats", copilot_seats_pages),
    ),
    client=copilot_client,
    configured=lambda s: has(s, "github_token", "github_org"),
    trailing_days=28,
)

PULLS = Vendor(
    name="github",
    feeds=(SubFeed("pulls", "github", pull_pages),),
    client=client,
    configured=lambda s: has(s, "github_token", "github_repos"),
)
