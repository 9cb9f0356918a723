"""The doctor's data checks: how far each feed's data reaches, what its latest ingests rejected, unmapped spend.

Invariant: freshness is the data's own latest day (a usage, activity, ledger or seat day, an outcome's
time), never when a file was ingested; and nothing here names or ranks a person: unmapped spend is a
total over identities nobody claims.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.digest.format import plural
from bot.reads.queries import latest_data_day_per_source, latest_runs_with_rejections, unattributed_facts
from bot.serve.doctor import Check, Setup
from storage.engine import session_scope

STALE_DAYS = 8  # older than this, the data cannot reach the end of the week that just ended
RETIRED = frozenset({"copilot_metrics"})  # GitHub closed the legacy metrics API down on 2026-04-02
UNMAPPED_DAYS = 30
UNMAPPED_FLOOR_USD = 1.0
PULLS = {"anthropic": "anthropic", "claude_code": "anthropic", "openai": "openai", "cursor": "cursor",
         "litellm": "litellm", "copilot": "github-copilot", "github": "github"}


def feed_checks(setup: Setup) -> list[Check]:
    if setup.engine is None:
        return []
    with session_scope(setup.engine) as session:
        reach = latest_data_day_per_source(session)
        rejected = latest_runs_with_rejections(session)
    today = setup.now.date()
    if not reach:
        return [Check("feeds", "warn", "no feed data yet",
                      "ingest your feed files with `tokenworth ingest PATH`, or set the vendor keys for `tokenworth "
                      "pull`")]
    checks = [_freshness(source, day, today) for source, day in sorted(reach.items()) if source not in RETIRED]
    return checks + _rejections(rejected)


def _freshness(source: str, day: date, today: date) -> Check:
    age = (today - day).days
    detail = f"data through {day:%Y-%m-%d} ({age} days ago)" if age > 1 else f"data through {day:%Y-%m-%d}"
    if age <= STALE_DAYS:
        return Check(f"feed {source}", "ok", detail)
    pull = next((cmd for prefix, cmd in PULLS.items() if source.startswith(prefix)), None)
    how = f"`tokenworth pull {pull}`, or ingest a newer export" if pull else "ingest a newer export"
    return Check(f"feed {source}", "warn", f"{detail}: the feed has stopped, and the week that just ended lacks it",
                 f"check the {source} export or API key, then {how}")


def _rejections(rejected: list[tuple[str, str | None, int]]) -> list[Check]:
    if not rejected:
        return [Check("rejections", "ok", "the latest ingest of every file rejected nothing")]
    per_source: dict[str, list[int]] = defaultdict(list)
    for _path, source, count in rejected:
        per_source[source or "unusable"].append(count)
    fix = "`tokenworth ingest-errors` shows each record and why; correct the export and ingest it again"
    return [Check(f"rejections {source}", "warn", f"{plural(sum(counts), 'record')} rejected in the latest ingest "
                                                  f"of {plural(len(counts), 'file')}", fix)
            for source, counts in sorted(per_source.items())]


def unmapped_checks(setup: Setup) -> list[Check]:
    """AI spend of the last UNMAPPED_DAYS on identities nobody claims, counted as `identities --unmapped` counts it."""
    if setup.engine is None:
        return []
    prices = PriceTable.builtin(setup.config.prices if setup.config else {})
    gateways = setup.config.gateways if setup.config else ()
    end = setup.now.date() + timedelta(days=1)
    total, identities = 0.0, set()
    with session_scope(setup.engine) as session:
        for fact, kind, value in unattributed_facts(session, gateways, end - timedelta(days=UNMAPPED_DAYS + 1), end):
            total += spend_of(fact, prices) or 0.0
            identities.add((kind, value))
    return [_unmapped(total, len(identities))]


def _unmapped(total: float, identities: int) -> Check:
    if total < UNMAPPED_FLOOR_USD:
        return Check("unmapped spend", "ok", f"all AI spend of the last {UNMAPPED_DAYS} days is on people's identities")
    return Check("unmapped spend", "warn",
                 f"${total:,.2f} of AI spend in the last {UNMAPPED_DAYS} days is on "
                 f"{plural(identities, 'identity', 'identities')} nobody claims, so no team's digest counts it",
                 "`tokenworth identities --unmapped` lists them: add each as an alias of its person in the config "
                 "(past usage is re-attributed, nothing to re-ingest)")
