"""Counted once: when several feeds report the same usage, exactly one of them counts.

Anthropic API-billed usage per (person, UTC day, model) comes from the messages usage report if it
has any row for that key, otherwise from Claude Code Analytics rows billed to the API, otherwise
from Claude Code telemetry. Claude Code seats billed by subscription never appear in the usage
report: those rows always count, and telemetry for the same key is then ignored. A pure function.

Seat (subscription) usage per (person, UTC day, model) comes from Claude Enterprise Analytics if it has
any row for that key (it covers every product of a seat: claude.ai chat, Claude Code, Cowork), otherwise
from Claude Code Analytics rows billed by subscription; the two report the same seat usage, so never
both. Seat usage and API-billed usage are different money and each counts once: the precedence is

    seat:        claude_enterprise  >  claude_code (subscription)
    API-billed:  anthropic_usage    >  claude_code (api)
    telemetry:   claude_code_otel, only when neither kind has a row for the key

A LiteLLM gateway's daily aggregates (`litellm_daily`) count only on UTC days its spend logs (`litellm`) have no
row at all: the logs are the finer grain and name each request's user (litellm_daily_counts, below).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date

from bot.core.facts import UsageFact

USAGE_REPORT = "anthropic_usage"
ANALYTICS = "claude_code"
TELEMETRY = "claude_code_otel"
ENTERPRISE = "claude_enterprise"
ANTHROPIC_SOURCES = (USAGE_REPORT, ANALYTICS, TELEMETRY, ENTERPRISE)


def count_once(facts: Iterable[UsageFact], canonical: Callable[[str], str] = str,
               gateway_log_days: set[date] | None = None) -> list[UsageFact]:
    """The facts that count; `canonical` maps a model name to the price table's name for it; `gateway_log_days`
    the days with LiteLLM spend logs, org-wide (default: those among `facts`)."""
    kept: list[UsageFact] = []
    groups: dict[tuple[object, ...], list[UsageFact]] = defaultdict(list)
    for fact in litellm_daily_counts(facts, gateway_log_days):
        if fact.source in ANTHROPIC_SOURCES and fact.person_id is not None:
            groups[(fact.person_id, fact.day, canonical(fact.model))].append(fact)
        else:
            kept.append(fact)
    for group in groups.values():
        kept.extend(_anthropic_winners(group))
    return kept


def _anthropic_winners(group: list[UsageFact]) -> list[UsageFact]:
    enterprise = [f for f in group if f.source == ENTERPRISE]
    subscription = enterprise or [f for f in group if f.source == ANALYTICS and f.billing == "subscription"]
    report = [f for f in group if f.source == USAGE_REPORT]
    analytics_api = [f for f in group if f.source == ANALYTICS and f.billing != "subscription"]
    telemetry = [f for f in group if f.source == TELEMETRY]
    if report:
        return subscription + report
    if analytics_api:
        return subscription + analytics_api
    return subscription or telemetry


def unattributed(
    rows: Iterable[tuple[UsageFact, str, str]], gateways: Iterable[str],
    usage_report_days: set[date], gateway_log_days: set[date],
) -> list[tuple[UsageFact, str, str]]:
    """Org-level usage that belongs to nobody, counted once, each with its identity's kind and value.

    A Claude Code Analytics row of an API key (it carries the key's name, not its id) counts only on
    days the usage report does not cover at all. A gateway's provider-key rows count only on days no
    gateway log covers: otherwise the gateway's own log already attributes that traffic. So do a gateway's
    daily aggregates of keys nobody claims.
    """
    gateway_keys = set(gateways)
    kept = []
    for fact, kind, value in rows:
        if kind == "anthropic_key_name" and fact.day in usage_report_days:
            continue
        if kind == "api_key" and value in gateway_keys and fact.day in gateway_log_days:
            continue
        if fact.source == GATEWAY_DAILY and fact.day in gateway_log_days:
            continue
        kept.append((fact, kind, value))
    return kept


GATEWAY_LOG = "litellm"
GATEWAY_DAILY = "litellm_daily"


def litellm_daily_counts(facts: Iterable[UsageFact], log_days: set[date] | None = None) -> list[UsageFact]:
    """The facts without the gateway's daily aggregates of days its spend logs cover.

    `log_days` are the days with any spend-log row; by default, those among `facts` (pass the org's own set when
    `facts` are some people's only: a key's aggregate may belong to someone else than the log's user).
    """
    facts = list(facts)
    days = log_days if log_days is not None else {f.day for f in facts if f.source == GATEWAY_LOG}
    return [f for f in facts if f.source != GATEWAY_DAILY or f.day not in days]
