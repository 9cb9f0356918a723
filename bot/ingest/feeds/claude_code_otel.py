"""Claude Code OpenTelemetry metrics as OTLP/JSON: one ExportMetricsServiceRequest, or JSON-lines of them.

A series is (metric, resource attributes, point attributes, startTimeUnixNano). A CUMULATIVE series
is a running total, so only its newest point counts: its rows are keyed by the series and carry the
point time as `observed_at`, and the store keeps the newest reading of a key, in a file as in the
database. Every DELTA point counts once: its rows are keyed by series and point time, so a resent
export repeats keys the store has already taken. A point's other identities ride along as links.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.prices import normalise_model
from bot.errors import FeedError
from bot.ingest.feeds._jsonl import is_json_lines, lines, utc_day_of_ns
from bot.ingest.feeds.base import (
    BAD_RECORD,
    ActivityRow,
    BaseFeed,
    IdentityLink,
    IdentityRef,
    Record,
    Rejection,
    Row,
    UsageRow,
    load_json,
    reason,
)

SOURCE = "claude_code_otel"
DELTA, CUMULATIVE = 1, 2
TOKENS, COST = "claude_code.token.usage", "claude_code.cost.usage"
_TOKEN_KINDS = ("input", "output", "cacheRead", "cacheCreation")
# metric -> (attribute that splits it, {attribute value: activity metric}); None splits nothing
_COUNTERS: dict[str, tuple[str | None, dict[str | None, str]]] = {
    "claude_code.session.count": (None, {None: "sessions"}),
    "claude_code.commit.count": (None, {None: "commits"}),
    "claude_code.pull_request.count": (None, {None: "pull_requests"}),
    "claude_code.lines_of_code.count": ("type", {"added": "lines_added", "removed": "lines_removed"}),
    "claude_code.code_edit_tool.decision": ("decision", {"accept": "edits_accepted", "reject": "edits_rejected"}),
}
_KNOWN = frozenset({TOKENS, COST, *_COUNTERS})
_IDENTITY_ATTRIBUTES = (("user.email", "email"), ("user.account_id", "anthropic_account"), ("user.id", "otel"))


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _KeyValue(_Lenient):
    key: str
    value: dict[str, Any] = {}


class _Attributes(_Lenient):
    attributes: list[_KeyValue] = []


class _Sum(_Lenient):
    aggregationTemporality: int = 0
    dataPoints: list[Any] = []  # each point is validated on its own: a bad one costs only itself


class _Metric(_Lenient):
    name: str
    sum: _Sum | None = None


class _Scope(_Lenient):
    metrics: list[Any] = []  # each metric is validated on its own


class _ResourceMetrics(_Lenient):
    resource: _Attributes = _Attributes()
    scopeMetrics: list[_Scope] = []


class _Point(_Attributes):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    startTimeUnixNano: int = Field(default=0, ge=0)
    timeUnixNano: int = Field(gt=0)
    asInt: int | None = Field(default=None, ge=0)
    asDouble: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _has_value(self) -> _Point:
        if self.asInt is None and self.asDouble is None:
            raise ValueError("a data point needs asInt or asDouble")
        return self

    @property
    def value(self) -> float:
        return float(self.asInt) if self.asInt is not None else float(self.asDouble or 0.0)


@dataclass(frozen=True)
class _Found:
    where: str
    metric: str
    temporality: int
    resource: dict[str, str]
    raw: Any


@dataclass(frozen=True)
class _Reading:
    where: str
    metric: str
    temporality: int
    series: str
    attributes: dict[str, str]
    time_ns: int
    day: date
    at: datetime
    value: float


class ClaudeCodeOtelFeed(BaseFeed):
    name = SOURCE

    def sniff(self, head: str) -> bool:
        return '"resourceMetrics"' in head and ('"claude_code.' in head or "com.anthropic.claude_code" in head)

    def parse(self, path: Path) -> Iterator[Record | Rejection]:
        if not is_json_lines(path):
            document = load_json(path)
            if not _is_export(document):
                raise FeedError(f"{path}: expected an OTLP ExportMetricsServiceRequest with a resourceMetrics list")
            yield from _records(document, "")
            return
        for item in lines(path):
            if isinstance(item, Rejection):
                yield item
            elif not _is_export(item[1]):
                yield Rejection(item[0], "expected an ExportMetricsServiceRequest with a resourceMetrics list")
            else:
                yield from _records(item[1], f"{item[0]} ")


def _records(document: dict[str, Any], prefix: str) -> Iterator[Record | Rejection]:
    for found in _walk(document, prefix):
        yield found if isinstance(found, Rejection) else _record(found)


def _record(found: _Found) -> Record | Rejection:
    """One data point: its row, after the links between the identities it carries."""
    try:
        reading = _read(found)
        identity, links = _identity(reading.attributes)
        return Record(found.where, (*links, *_rows(reading, identity)))
    except BAD_RECORD as exc:
        return Rejection(found.where, reason(exc))


def _is_export(document: Any) -> bool:
    return isinstance(document, dict) and isinstance(document.get("resourceMetrics"), list)


def _walk(document: dict[str, Any], prefix: str) -> Iterator[_Found | Rejection]:
    for i, raw in enumerate(document["resourceMetrics"]):
        where = f"{prefix}resourceMetrics[{i}]"
        try:
            resource = _ResourceMetrics.model_validate(raw)
            attributes = _strings(resource.resource.attributes)
        except BAD_RECORD as exc:
            yield Rejection(where, reason(exc))
            continue
        for j, scope in enumerate(resource.scopeMetrics):
            for k, raw_metric in enumerate(scope.metrics):
                yield from _metric(f"{where}.scopeMetrics[{j}].metrics[{k}]", raw_metric, attributes)


def _metric(where: str, raw: Any, resource: dict[str, str]) -> Iterator[_Found | Rejection]:
    """The points of a metric tokenworth reads; a metric it does not read is passed over unvalidated."""
    name = raw.get("name") if isinstance(raw, dict) else None
    if not isinstance(name, str) or name not in _KNOWN:
        return
    try:
        metric = _Metric.model_validate(raw)
    except BAD_RECORD as exc:
        yield Rejection(where, reason(exc))
        return
    yield from _points(where, metric, resource)


def _points(where: str, metric: _Metric, resource: dict[str, str]) -> Iterator[_Found | Rejection]:
    if metric.sum is None:
        yield Rejection(where, f"{metric.name}: expected a sum metric")
    elif metric.sum.aggregationTemporality not in (DELTA, CUMULATIVE):
        yield Rejection(where, f"sum.aggregationTemporality: expected 1 (delta) or 2 (cumulative) "
                               f"(got {metric.sum.aggregationTemporality})")
    else:
        for p, raw in enumerate(metric.sum.dataPoints):
            yield _Found(f"{where}.sum.dataPoints[{p}]", metric.name, metric.sum.aggregationTemporality, resource, raw)


def _read(found: _Found) -> _Reading:
    point = _Point.model_validate(found.raw)
    own = _strings(point.attributes)
    identity = [found.metric, sorted(found.resource.items()), sorted(own.items()), point.startTimeUnixNano]
    series = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]
    day, at = utc_day_of_ns(point.timeUnixNano)
    return _Reading(found.where, found.metric, found.temporality, series, {**found.resource, **own},
                    point.timeUnixNano, day, at, point.value)


def _strings(attributes: list[_KeyValue]) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in attributes:
        for variant in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if variant in item.value:
                values[item.key] = str(item.value[variant])
                break
    return values


def _identity(attributes: dict[str, str]) -> tuple[IdentityRef, list[IdentityLink]]:
    """user.email, else user.account_id, else user.id; the others it carries are linked to the first."""
    refs = [IdentityRef.of(kind, attributes[key])
            for key, kind in _IDENTITY_ATTRIBUTES if attributes.get(key, "").strip()]
    if not refs:
        raise ValueError("attributes: no user.email, user.account_id or user.id to attribute the point to")
    return refs[0], [IdentityLink(SOURCE, refs[0], other) for other in refs[1:]]


def _delta_key(reading: _Reading) -> str:
    return f"{reading.series}|{reading.time_ns}"


def _rows(reading: _Reading, identity: IdentityRef) -> tuple[Row, ...]:
    cumulative = reading.temporality == CUMULATIVE
    key = reading.series if cumulative else _delta_key(reading)
    if reading.metric in (TOKENS, COST):
        return (_usage(reading, identity, key, reading.at if cumulative else None),)
    split, names = _COUNTERS[reading.metric]
    label = reading.attributes.get(split) if split else None
    if label not in names:
        raise ValueError(f"attributes.{split}: expected one of {', '.join(map(str, names))} (got {label!r})")
    observed_at = reading.at if cumulative else None
    return (ActivityRow(SOURCE, key, identity, reading.day, names[label], reading.value, observed_at),)


def _usage(reading: _Reading, identity: IdentityRef, key: str, observed_at: datetime | None) -> UsageRow:
    model = reading.attributes.get("model", "").strip()
    if not model:
        raise ValueError(f"attributes.model: {reading.metric} needs a model")
    kind = reading.attributes.get("type") if reading.metric == TOKENS else None
    if reading.metric == TOKENS and kind not in _TOKEN_KINDS:
        raise ValueError(f"attributes.type: expected one of {', '.join(_TOKEN_KINDS)} (got {kind!r})")
    tokens = round(reading.value) if kind else 0
    return UsageRow(
        source=SOURCE, record_key=key, identity=identity, day=reading.day, provider="anthropic",
        tool="claude_code", model=normalise_model(model),
        input_tokens=tokens if kind == "input" else 0, output_tokens=tokens if kind == "output" else 0,
        cache_read_tokens=tokens if kind == "cacheRead" else 0,
        cache_write_tokens=tokens if kind == "cacheCreation" else 0,
        cost_usd=0.0 if kind else reading.value,  # the cost series already prices the token series
        observed_at=observed_at,
    )


FEED = ClaudeCodeOtelFeed()
