"""`tokenworth identities`: who each feed identity belongs to, and what nobody claims yet.

Usage a configured workflow claims is not unmapped. An unmapped service identity (an API key, a key
name, a project, a workspace, a gateway user that is no email address) comes with the `workflows:`
entry that would claim it; an API key whose daily tokens match the gateway log's for its provider on
every day both report comes with a `gateways:` hint instead, because the gateway log already names
whose traffic it is.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from sqlmodel import Session

from bot.config.finops import WorkflowConfig
from bot.core.metrics import spend_of
from bot.core.prices import PriceTable
from bot.core.workflows import WORKFLOW_IDENTITY, rules_of, split_unattributed, suggestion
from bot.reads.finops import key_tokens_by_day, tokens_by_day
from bot.reads.queries import identity_listing, unattributed_facts

GATEWAY_SOURCE = "litellm"
GATEWAY_MATCH = 0.02  # a provider key whose tokens are within 2% of the gateway's on each shared day


def identity_lines(session: Session) -> list[str]:
    lines = []
    for kind, value, email, linked_via in identity_listing(session):
        owner = email or ("its workflow's outcomes" if kind == WORKFLOW_IDENTITY else "unmapped")
        how = f" (learned from {linked_via})" if linked_via else (" (config)" if email else "")
        lines.append(f"{kind}:{value} -> {owner}{how}")
    return lines


def unmapped_lines(
    session: Session, prices: PriceTable, gateways: Iterable[str], days: int, today: date | None = None,
    workflows: Sequence[WorkflowConfig] = (),
) -> list[str]:
    """Unclaimed identities with their spend over the last `days` days, largest first, each with a hint."""
    end = (today or date.today()) + timedelta(days=1)
    start = end - timedelta(days=days + 1)
    _flows, rows = split_unattributed(unattributed_facts(session, gateways, start, end), rules_of(workflows))
    spend: dict[tuple[str, str], float] = defaultdict(float)
    unpriced: set[tuple[str, str]] = set()
    for fact, kind, value in rows:
        value_usd = spend_of(fact, prices)
        if value_usd is None:
            unpriced.add((kind, value))
        spend[(kind, value)] += value_usd or 0.0
    gateway_keys = _gateway_like(tokens_by_day(session, GATEWAY_SOURCE, start, end), key_tokens_by_day(rows))
    ordered = sorted(spend.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        f"{kind}:{value}  ${amount:,.2f}{' (+ unpriced usage)' if (kind, value) in unpriced else ''}"
        f"{_hint(kind, value, (kind, value) in gateway_keys)}"
        for (kind, value), amount in ordered
    ]


def _hint(kind: str, value: str, gateway: bool) -> str:
    if gateway:
        return f"  looks like a gateway's provider key: add it to gateways: [{value}]"
    if kind == "litellm" and "@" in value:
        return ""  # a person's address: an alias, not a workflow
    entry = suggestion(kind, value)
    return f"  suggested workflow: {entry}" if entry else ""


def _gateway_like(
    gateway: dict[tuple[date, str], int], keys: dict[tuple[str, str], dict[tuple[date, str], int]],
) -> set[tuple[str, str]]:
    """API keys whose tokens equal the gateway log's (within GATEWAY_MATCH) on every day-and-provider both have."""
    found = set()
    for (kind, value), daily in keys.items():
        shared = [cell for cell in daily if cell in gateway]
        if kind == "api_key" and shared and all(
            abs(daily[cell] - gateway[cell]) <= GATEWAY_MATCH * max(gateway[cell], 1) for cell in shared
        ):
            found.add((kind, value))
    return found
