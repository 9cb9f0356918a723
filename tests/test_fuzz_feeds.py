"""Fuzz every feed (issue 14): one record of a real fixture, anywhere inside it set to arbitrary JSON, a huge or
non-finite number, odd text or an odd date. Ingesting the file never raises and never makes it unusable; the
only rejection is that record's, by its location; and every other record of the file is stored."""

from __future__ import annotations

import copy
import csv
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from bot.ingest.feeds import FEEDS
from bot.ingest.feeds.base import (
    ActivityRow,
    BilledRow,
    IdentityLink,
    OutcomeRow,
    Record,
    SeatRow,
    UsageEvent,
    UsageRow,
    WorkRow,
)
from bot.ingest.files import FileReport, ingest_file
from bot.ingest.once import natural_key, once
from storage import ledger, make_engine, upgrade
from storage.models import Activity, Billed, EventLedger, Outcome, Seat, Usage, WorkDetail, table
from storage.rollups import event_key
from tests.conftest import FIXTURES
from tests.test_feeds_outcomes import doc_example

Path_ = list[str | int]  # a path into a JSON document
EXAMPLES = 8  # per feed: about 4 s for all of them on two workers


@dataclass(frozen=True)
class Target:
    source: str
    text: Callable[[], str]  # the fixture's text
    shape: str  # "json", "lines" (one JSON value per line) or "csv"
    records: Callable[[Any], list[tuple[str, Path_]]] = lambda doc: []  # json: (location, path) of each record


def _list(where: str, *path: str | int) -> Callable[[Any], list[tuple[str, Path_]]]:
    def records(document: Any) -> list[tuple[str, Path_]]:
        items = _at(document, list(path))
        return [(f"{where}[{i}]", [*path, i]) for i in range(len(items))]
    return records


def _results(document: Any) -> list[tuple[str, Path_]]:
    return [(f"data[{b}].results[{r}]", ["data", b, "results", r])
            for b, bucket in enumerate(document["data"]) for r in range(len(bucket["results"]))]


def _points(document: Any) -> list[tuple[str, Path_]]:
    found = []
    for i, resource in enumerate(document["resourceMetrics"]):
        for j, scope in enumerate(resource["scopeMetrics"]):
            for k, metric in enumerate(scope["metrics"]):
                for p in range(len(metric.get("sum", {}).get("dataPoints", []))):
                    where = f"resourceMetrics[{i}].scopeMetrics[{j}].metrics[{k}].sum.dataPoints[{p}]"
                    path: Path_ = ["resourceMetrics", i, "scopeMetrics", j, "metrics", k, "sum", "dataPoints", p]
                    found.append((where, path))
    return found


def _fixture(name: str) -> Callable[[], str]:
    return lambda: (FIXTURES / name).read_text(encoding="utf-8")


def _otel_three_sessions() -> str:
    document = json.loads(_fixture("claude_code_otlp_metrics.json")())
    return json.dumps({**document, "resourceMetrics": document["resourceMetrics"][:3]}, indent=1)


def _litellm_lines() -> str:
    return "".join(json.dumps(row) + "\n" for row in json.loads(_fixture("litellm_spend_logs.json")())["data"])


TARGETS = {
    t.source if t.source != "litellm" or t.shape == "json" else "litellm lines": t for t in [
        Target("claude_code", _fixture("claude_code_analytics.json"), "json", _list("data", "data")),
        Target("github", _fixture("github_pulls.json"), "json", _list("")),
        Target("jira", _fixture("jira_search.json"), "json", _list("issues", "issues")),
        Target("linear", _fixture("linear_issues.json"), "json", _list("data.issues.nodes", "data", "issues", "nodes")),
        Target("cursor_daily", _fixture("cursor_daily_usage.json"), "json", _list("data", "data")),
        Target("cursor_events", _fixture("cursor_usage_events.json"), "json", _list("usageEvents", "usageEvents")),
        Target("copilot_seats", _fixture("copilot_billing_seats.json"), "json", _list("seats", "seats")),
        Target("copilot_metrics", _fixture("copilot_metrics.json"), "json", _list("")),
        Target("litellm", _fixture("litellm_spend_logs.json"), "json", _list("data", "data")),
        Target("anthropic_usage", _fixture("anthropic_usage_report.json"), "json", _results),
        Target("anthropic_cost", _fixture("anthropic_cost_report.json"), "json", _results),
        Target("openai_usage", _fixture("openai_usage_completions.json"), "json", _results),
        Target("openai_costs", _fixture("openai_costs.json"), "json", _results),
        Target("claude_code_otel", _otel_three_sessions, "json", _points),
        Target("copilot_usage", _fixture("copilot_user_metrics.ndjson"), "lines"),
        Target("litellm", _litellm_lines, "lines"),
        Target("focus", _fixture("focus_ai_costs.csv"), "csv"),
        Target("usage_csv", _fixture("usage_csv_tools.csv"), "csv"),
        Target("outcomes_csv", doc_example, "csv"),
    ]
}

ODD_DATES = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1999-12-31", "2026-02-30",
             "2026-11-17T25:00:00Z", "0000-00-00", "2026-11-17T00:00:00+14:00", "0001-01-01T00:00:00+05:00",
             "9999-12-31T23:59:59-05:00", "-2026-11-17", "", "yesterday", "2126-11-17"]
HUGE = [2**63 - 1, 2**63, 2**64, 2**70, -(2**63) - 1, -1, 10**30, 253402300800, 253402300800000, 10**20]
ODD_TEXT = ["\x00", "a\x00b", "\ud800", "x\udfff", "NaN", "Infinity", "-Infinity", "1e999", "9223372036854775808",
            "-0", " ", "\n", "|", "=", "a|account_id=b"]
ODD = st.sampled_from([*HUGE, *map(str, HUGE), *ODD_DATES, *ODD_TEXT,
                       float("inf"), float("-inf"), float("nan"), 1e308, -0.0, 5e-324])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12))
NESTED = st.recursive(SCALARS | ODD, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8), inner, max_size=3), max_leaves=6)
VALUES = st.one_of(ODD, ODD, SCALARS, NESTED)  # half of them odd on purpose


def _at(document: Any, path: Path_) -> Any:
    for step in path:
        document = document[step]
    return document


def _inner_paths(value: Any, prefix: Path_) -> Iterator[Path_]:
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _inner_paths(inner, [*prefix, key])
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _inner_paths(inner, [*prefix, index])


def _set(document: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    changed = copy.deepcopy(document)
    _at(changed, path[:-1])[path[-1]] = value
    return changed


def _without(document: Any, path: Path_) -> Any:
    changed = copy.deepcopy(document)
    del _at(changed, path[:-1])[path[-1]]
    return changed


class Case:
    def __init__(self, location: str, change: str, mutated: str, without: str) -> None:
        self.location = location  # where a rejection of the changed record must point
        self.change = change  # what was changed, as shown when a case fails
        self.mutated = mutated  # the file's text with that record changed
        self.without = without  # the file's text without that record

    def __repr__(self) -> str:
        return f"Case(at {self.location}: {self.change})"


@st.composite
def cases(draw: st.DrawFn, target: Target) -> Case:
    text = target.text()
    if target.shape == "csv":
        return _csv_case(draw, text)
    lines = target.shape == "lines"
    document = [json.loads(line) for line in text.splitlines() if line.strip()] if lines else json.loads(text)
    records = [(f"line {i + 1}", [i]) for i in range(len(document))] if lines else target.records(document)
    location, record = draw(st.sampled_from(records))
    inside = draw(st.sampled_from(list(_inner_paths(_at(document, record), record))))
    if draw(st.booleans()) and isinstance(_at(document, inside), dict):
        inside = [*inside, draw(st.text(max_size=8))]  # a new key
        _at(document, inside[:-1])[inside[-1]] = None
    value = draw(VALUES)
    mutated, without = _set(document, inside, value), _without(document, record)
    change = _shown(inside, value)
    if lines:
        return Case(location, change, *("".join(json.dumps(item) + "\n" for item in doc) for doc in (mutated, without)))
    return Case(location, change, json.dumps(mutated, indent=1), json.dumps(without, indent=1))


def _shown(path: Path_ | str, value: Any) -> str:
    return f"{path} = {value!r:.200}"


def _csv_case(draw: st.DrawFn, text: str) -> Case:
    reader = csv.DictReader(io.StringIO(text))
    header, rows = list(reader.fieldnames or []), list(reader)
    index = draw(st.integers(0, len(rows) - 1))
    column = draw(st.sampled_from(header))
    value = draw(VALUES)
    changed = [dict(row) for row in rows]
    changed[index][column] = value if isinstance(value, str) else json.dumps(value)
    return Case(f"line {index + 2}", _shown(column, value), _csv(header, changed),
                _csv(header, rows[:index] + rows[index + 1:]))


def _csv(header: list[str], rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


KEYS: dict[type, tuple[Any, tuple[str, ...]]] = {
    UsageRow: (Usage, ("source", "record_key")), ActivityRow: (Activity, ("source", "record_key", "metric")),
    OutcomeRow: (Outcome, ("key",)), BilledRow: (Billed, ("source", "record_key")),
    SeatRow: (Seat, ("source", "record_key")), WorkRow: (WorkDetail, ("source", "key")),
}


def stored_keys(engine: Engine) -> set[tuple[Any, ...]]:
    found: set[tuple[Any, ...]] = set()
    with engine.connect() as conn:
        for row_type, (model, columns) in KEYS.items():
            t = table(model)
            found |= {(row_type, *row) for row in conn.execute(select(*(t.c[c] for c in columns)))}
        found |= {(EventLedger, key) for key in ledger.stored_keys(conn)}
    return found


def _stored_as(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A usage event is stored as its rollup's figures and its key's hash in the dedup ledger."""
    return (EventLedger, event_key(key[1], key[2])) if key[0] is UsageEvent else key


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


def ingest_text(template: Path, folder: Path, text: str, source: str) -> tuple[FileReport, set[tuple[Any, ...]]]:
    """The report of ingesting `text` into a fresh database, and the natural keys it stored."""
    db = folder / "fuzz.db"
    shutil.copyfile(template, db)
    engine = make_engine(f"sqlite:///{db}")
    try:
        return ingest_file(engine, write(folder, text), source=source), stored_keys(engine)
    finally:
        engine.dispose()


def write(folder: Path, text: str) -> Path:
    path = folder / "feed.data"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


_KEPT: dict[tuple[str, str], set[tuple[Any, ...]]] = {}


def kept_keys(name: str, case: Case, folder: Path) -> set[tuple[Any, ...]]:
    """The keys the file without the changed record stores: the store's rule applied, no database needed."""
    if (name, case.location) not in _KEPT:
        feed = FEEDS[TARGETS[name].source]
        items = once(feed.parse(write(folder, case.without)), feed.unique_keys)
        _KEPT[name, case.location] = {_stored_as(natural_key(row)) for item in items if isinstance(item, Record)
                                      for row in item.rows if not isinstance(row, IdentityLink)}
    return _KEPT[name, case.location]


@pytest.mark.parametrize("name", list(TARGETS))
def test_one_hostile_record_costs_that_record_at_most(name: str, template: Path) -> None:
    target = TARGETS[name]

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=cases(target))
    def check(case: Case) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            others = kept_keys(name, case, folder)
            report, keys = ingest_text(template, folder, case.mutated, target.source)
        assert not report.unusable, report.errors
        strays = [e for e in report.errors if e["where"] != f"{folder / 'feed.data'}: {case.location}"
                  and "appears twice" not in e["reason"]]
        assert not strays, strays
        assert others <= keys, (report.errors, sorted(others - keys, key=str)[:3])

    check()
