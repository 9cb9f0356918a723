"""GitHub: Copilot per-user daily reports and seats, and a repository's closed pull requests with their files.

After each page of pull requests, every merged one by a person (not a bot) updated inside the window gets its files
from `GET /pulls/{n}/files` (100 a page, at most 3,000 files), and is ingested again as one page: the PR object
as the list gave it, with GitHub's files list under `files`. Webhooks carry no files, so this is where they come
from. A PR whose files GitHub no longer finds (404) is ingested without them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bot.config.settings import Settings
from bot.core.weeks import to_utc
from bot.errors import SettingsError, UsageError
from bot.ingest.pull.base import Page, PullWindow, SubFeed, Target, Vendor, has, json_of, midnight, secret
from bot.ingest.pull.http import PullError, Sleep, VendorClient, next_link

log = logging.getLogger(__name__)

MAX_PAGES = 10_000
MAX_FILE_PAGES = 30  # GitHub lists at most 3,000 files, 100 a page


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
        for pull in pulls:
            if _wants_files(pull, window):
                yield from _with_files(client, target.repo, pull)
        if all(_older(pull, window) for pull in pulls):
            return


def _wants_files(pull: Any, window: PullWindow) -> bool:
    """A merged PR by a person, updated inside the window (older ones were fetched by an earlier pull)."""
    if not isinstance(pull, dict) or not pull.get("merged_at") or _older(pull, window):
        return False
    user, number = pull.get("user"), pull.get("number")
    if not isinstance(user, dict) or not isinstance(number, int) or isinstance(number, bool):
        return False
    login = user.get("login")
    return isinstance(login, str) and user.get("type") != "Bot" and not login.endswith("[bot]")


def _with_files(client: VendorClient, repo: str, pull: dict[str, Any]) -> Iterator[Page]:
    path = f"/repos/{repo}/pulls/{pull['number']}/files"
    files: list[Any] | None = None
    for number, response in enumerate(_linked(client, path, {"per_page": 100}, missing_ok=True), 1):
        page = json_of(response, f"{path} page {number}")
        if not isinstance(page, list):
            raise PullError(f"{path} page {number}: expected a list of files")
        files = (files or []) + page
        if number == MAX_FILE_PAGES:
            break
    if files is None:
        log.warning("%s: not found; the PR is stored without its files", path)
        return
    yield Page(json.dumps({**pull, "files": files}).encode(), f"pull {pull['number']} files")


def _older(pull: Any, window: PullWindow) -> bool:
    try:
        return to_utc(datetime.fromisoformat(pull["updated_at"])) < midnight(window.since)
    except (TypeError, KeyError, ValueError):
        return False  # unreadable: keep paging; the adapter will reject the record itself


def _linked(client: VendorClient, path: str, params: dict[str, Any], missing_ok: bool = False) -> Iterator[Any]:
    """Follow the Link header's rel="next", on GitHub's own host only (it gets our token).

    With `missing_ok`, a first page GitHub does not find (404) yields nothing.
    """
    url: str | None = path
    for _ in range(MAX_PAGES):
        if url is None:
            return
        response = client.get(url, params if url == path else None, missing_ok=missing_ok and url == path)
        if response is None:
            return
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
