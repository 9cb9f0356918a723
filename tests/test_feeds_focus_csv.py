"""FOCUS and the generic usage CSV: contract, totals, line-numbered rejections, the documented
example; and detection: each of the usage feeds claims its own fixtures and no one else's."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from bot.core.prices import normalise_model
from bot.errors import FeedError
from bot.ingest.feeds import FEEDS, detect
from bot.ingest.feeds.base import BilledRow, IdentityRef, Record, Rejection, UsageRow
from bot.ingest.files import HEAD_CHARS, ingest_file
from storage.models import Billed, Usage
from storage.models import table as table_of
from tests.conftest import FIXTURES, ROOT
from tests.contract import FeedCase, as_stored, check_contract

FOCUS = FIXTURES / "focus_ai_costs.csv"
USAGE_CSV = FIXTURES / "usage_csv_tools.csv"
DOC = ROOT / "docs" / "usage-csv.md"
USAGE_HEADER = ("day,email,identity,provider,model,tool,input_tokens,output_tokens,cache_read_tokens,"
                "cache_write_tokens,requests,cost_usd")


def parse(source: str, path: Path) -> list[Record | Rejection]:
    return list(FEEDS[source].parse(path))


def rows(items: Iterable[Record | Rejection]) -> list[Any]:
    return [row for item in items if isinstance(item, Record) for row in item.rows]


def write(tmp_path: Path, text: str, name: str = "file.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rewrite_csv(change: Callable[[list[str], list[dict[str, str]]], list[str]]) -> Callable[[str], str]:
    """Fixture text -> the same CSV with `change` applied to its rows (it returns the new header)."""
    def edit(text: str) -> str:
        reader = csv.DictReader(io.StringIO(text))
        table = list(reader)
        header = change(list(reader.fieldnames or []), table)
        out = io.StringIO()
        writer = csv.DictWriter(out, header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
        return out.getvalue()
    return edit


def _set(index: int, column: str, value: str) -> Callable[[list[str], list[dict[str, str]]], list[str]]:
    def change(header: list[str], table: list[dict[str, str]]) -> list[str]:
        table[index][column] = value
        return header
    return change


def _add_column(header: list[str], table: list[dict[str, str]]) -> list[str]:
    for row in table:
        row["x_Unknown"] = "something new"
    return [*header, "x_Unknown"]


CASES = [
    FeedCase(
        "focus", FOCUS, corrupt=rewrite_csv(_set(3, "BilledCost", "a lot")), bad_location="line 5",
        add_unknown_field=rewrite_csv(_add_column), empty=FOCUS.read_text().split("\n", 1)[0] + "\n",
    ),
    FeedCase(
        "usage_csv", USAGE_CSV, corrupt=rewrite_csv(_set(1, "output_tokens", "-9000")), bad_location="line 3",
        add_unknown_field=rewrite_csv(_add_column), empty=USAGE_HEADER + "\n",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.source)
def test_feed_contract(case: FeedCase, sqlite_engine: Engine, tmp_path: Path) -> None:
    check_contract(case, sqlite_engine, tmp_path)


# --- detection ----------------------------------------------------------------------------------------

OWN = {
    "anthropic_usage": re.compile(r"^anthropic_usage_report(\.page\d+)?\.json$"),
    "anthropic_cost": re.compile(r"^anthropic_cost_report\.json$"),
    "openai_usage": re.compile(r"^openai_usage_completions\.json$"),
    "openai_costs": re.compile(r"^openai_costs\.json$"),
    "focus": re.compile(r"^focus_.*\.csv$"),
    "usage_csv": re.compile(r"^usage_csv_.*\.csv$"),
}


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.suffix in {".json", ".csv", ".ndjson", ".jsonl"})


def head(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.read(HEAD_CHARS)


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_usage_feeds_claim_their_own_fixtures_and_no_others(path: Path) -> None:
    claims = {name for name in OWN if FEEDS[name].sniff(head(path))}
    owners = {name for name, pattern in OWN.items() if pattern.match(path.name)}
    assert claims == owners
    if owners:
        assert detect(head(path)).name in owners


def test_every_usage_feed_has_a_fixture_it_claims() -> None:
    names = {p.name for p in fixture_files()}
    assert all(any(pattern.match(n) for n in names) for pattern in OWN.values())


# --- FOCUS --------------------------------------------------------------------------------------------

def test_focus_totals_per_source_feed_match_the_export() -> None:
    with FOCUS.open(newline="") as handle:
        raw = list(csv.DictReader(handle))
    exact: dict[str, Decimal] = defaultdict(Decimal)
    for r in raw:
        exact[r["x_SourceFeed"]] += Decimal(r["BilledCost"])
    expected = {"anthropic_cost_report": Decimal("1902.84"), "openai_costs": Decimal("144.65"),
                "cursor_spend_estimate": Decimal("385.35"), "cursor_filtered_usage_events": Decimal("21.28"),
                "copilot_billing_seats": Decimal("114.00")}
    assert {k: v.quantize(Decimal("0.01")) for k, v in exact.items()} == expected
    items = parse("focus", FOCUS)
    assert [i.location for i in items] == [f"line {n}" for n in range(2, len(raw) + 2)]
    found: dict[str, float] = defaultdict(float)
    for r, item in zip(raw, items, strict=True):
        assert isinstance(item, Record)
        (row,) = item.rows
        assert isinstance(row, BilledRow)
        assert (row.day, row.provider, row.description) == (
            date.fromisoformat(r["ChargePeriodStart"][:10]), r["ProviderName"].lower(), r["ChargeDescription"])
        assert row.model == (normalise_model(r["x_Model"]) if r["x_Model"] else None)
        found[r["x_SourceFeed"]] += row.amount_usd
    assert {k: round(v, 2) for k, v in found.items()} == {k: float(v) for k, v in expected.items()}
    assert len({r.record_key for r in rows(items)}) == len(raw)


def focus_text(*lines: dict[str, str]) -> str:
    header = ["BilledCost", "BillingCurrency", "ChargePeriodStart", "ChargeDescription", "ProviderName", "SkuId",
              "x_Model"]
    base = {"BilledCost": "1.50", "BillingCurrency": "USD", "ChargePeriodStart": "2026-11-17T00:00:00Z",
            "ChargeDescription": "Tokens", "ProviderName": "Anthropic", "SkuId": "anthropic:opus:output", "x_Model": ""}
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows({**base, **line} for line in lines)
    return out.getvalue()


def test_focus_bad_rows_are_rejected_by_line_and_the_rest_kept(tmp_path: Path) -> None:
    text = focus_text({"ChargeDescription": "spans\ntwo lines"}, {"BilledCost": "NaN"},
                      {"ChargePeriodStart": "last week"}, {"BillingCurrency": "EUR"}, {"SkuId": "b"}, {"SkuId": "c"})
    text += '1,USD,2026-11-17T00:00:00Z,Tokens,Anthropic,d,,extra\n'
    items = parse("focus", write(tmp_path, text))
    rejected = [(i.location, i.reason.split(":")[0]) for i in items if isinstance(i, Rejection)]
    assert rejected == [("line 4", "BilledCost"), ("line 5", "ChargePeriodStart"), ("line 6", "BillingCurrency"),
                        ("line 9", "8 fields, the header has 7")]
    assert [i.location for i in items if isinstance(i, Record)] == ["line 2", "line 7", "line 8"]


def test_focus_rows_that_are_not_utf8_are_rejected_alone(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(focus_text({"SkuId": "a"}, {"SkuId": "b"}, {"SkuId": "c"}).replace("Tokens", "T\u00f6kens", 1)
                     .encode("utf-8").replace(b"a,\n", "a,\xe9\n".encode("latin-1")))
    items = parse("focus", path)
    assert [(type(i).__name__, i.location) for i in items] == [
        ("Rejection", "line 2"), ("Record", "line 3"), ("Record", "line 4")]


def test_focus_header_without_mandatory_columns_is_unusable(tmp_path: Path) -> None:
    text = "BilledCost,ChargePeriodStart,SkuId\n1,2026-11-17T00:00:00Z,x\n"
    path = write(tmp_path, text)
    assert FEEDS["focus"].sniff(text)
    with pytest.raises(FeedError, match="BillingCurrency, ChargeDescription, ProviderName or ServiceProviderName$"):
        next(iter(FEEDS["focus"].parse(path)))


def test_focus_1_3_names_the_provider_service_provider(tmp_path: Path) -> None:
    text = focus_text({"SkuId": "a"}).replace("ProviderName", "ServiceProviderName", 1)
    (row,) = rows(parse("focus", write(tmp_path, text)))
    assert (row.provider, row.amount_usd) == ("anthropic", 1.5)


def test_the_same_charge_twice_in_an_export_is_kept_twice_and_a_restated_charge_replaces(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    ingest_file(sqlite_engine, write(tmp_path, focus_text({"SkuId": "a"}, {"SkuId": "a"}, {"SkuId": "b"}), "v1.csv"))
    restated = focus_text({"SkuId": "a"}, {"SkuId": "a"}, {"SkuId": "b", "BilledCost": "4"})
    report = ingest_file(sqlite_engine, write(tmp_path, restated, "v2.csv"))
    assert (report.stored, report.duplicates) == (1, 2)
    table = table_of(Billed)
    with sqlite_engine.connect() as conn:
        assert sorted(a for (a,) in conn.execute(select(table.c.amount_usd))) == [1.5, 1.5, 4.0]


# --- the usage CSV ------------------------------------------------------------------------------------

def doc_example(tmp_path: Path) -> Path:
    blocks = re.findall(r"```csv\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1
    return write(tmp_path, blocks[0], "example.csv")


def test_the_documented_example_parses(tmp_path: Path) -> None:
    path = doc_example(tmp_path)
    assert detect(head(path)).name == "usage_csv"
    items = parse("usage_csv", path)
    assert all(isinstance(i, Record) for i in items) and len(items) == 3
    found = rows(items)
    assert [(r.identity, r.day, r.provider, r.model, r.tool, r.cost_usd) for r in found] == [
        (IdentityRef("email", "ana@acme.test"), date(2026, 11, 17), "anthropic", "claude-sonnet-4-6", "windsurf", None),
        (IdentityRef("github", "cara-codes"), date(2026, 11, 17), "openai", "gpt-5-mini", "aider", 0.04),
        (IdentityRef("api_key", "key_dTXGAwCUr6aTtM21"), date(2026, 11, 18), "openai", "gpt-4.1", "csv", None)]
    assert (found[0].input_tokens, found[0].output_tokens, found[0].cache_read_tokens, found[0].cache_write_tokens,
            found[0].requests) == (120000, 18000, 900000, 40000, 85)
    assert found[2].cache_write_tokens == 0 and found[0].source == "usage_csv"


def test_usage_csv_rows_become_usage_with_a_key_per_day_identity_provider_model_and_tool() -> None:
    with USAGE_CSV.open(newline="") as handle:
        raw = list(csv.DictReader(handle))
    found = rows(parse("usage_csv", USAGE_CSV))
    assert len(found) == len(raw) == 6
    assert sum(r.input_tokens for r in found) == sum(int(r["input_tokens"]) for r in raw)
    assert sum(r.cost_usd or 0 for r in found) == pytest.approx(sum(float(r["cost_usd"] or 0) for r in raw))
    project = found[4]
    assert (project.identity, project.provider, project.model) == (
        IdentityRef("openai_project", "proj_2W74aru7QZJ5Nc8sN8AiovCd"), "openai", "gpt-5")
    assert project.record_key == "2026-11-17|openai_project:proj_2W74aru7QZJ5Nc8sN8AiovCd|openai|gpt-5|batch-jobs"
    assert found[2].identity == IdentityRef("email", "ana@acme.test")  # emails are case-insensitive


@pytest.mark.parametrize(("cells", "reason"), [
    ({"day": "2026-11-31"}, "day: expected a date as YYYY-MM-DD"),
    ({"day": "17/11/2026"}, "day: expected a date as YYYY-MM-DD"),
    ({"input_tokens": "-5"}, "input_tokens: must not be negative"),
    ({"output_tokens": "1.5"}, "output_tokens: expected a whole number"),
    ({"requests": "3e2"}, "requests: expected a whole number"),
    ({"cache_read_tokens": "99999999999999999999"}, "cache_read_tokens: more than 9223372036854775807"),
    ({"email": "", "identity": "myspace:ana"}, "identity: unknown kind 'myspace'"),
    ({"email": "", "identity": "github:"}, "identity: 'github:' has no value"),
    ({"email": "", "identity": ""}, "identity: missing"),
    ({"identity": "github:ana-acme"}, "identity: give email or identity, not both"),
    ({"email": "ana"}, "email: not an email address"),
    ({"model": ""}, "model: empty"),
    ({"cost_usd": "-1"}, "cost_usd: expected a dollar amount"),
    ({"cost_usd": "inf"}, "cost_usd: expected a dollar amount"),
])
def test_a_bad_usage_row_is_rejected_with_line_column_and_reason(
    cells: dict[str, str], reason: str, tmp_path: Path
) -> None:
    good = {"day": "2026-11-17", "email": "ana@acme.test", "identity": "", "provider": "anthropic",
            "model": "claude-sonnet-4-6", "tool": "", "input_tokens": "1", "output_tokens": "2",
            "cache_read_tokens": "", "cache_write_tokens": "", "requests": "", "cost_usd": ""}
    lines = [USAGE_HEADER,
             *(",".join({**good, "tool": t, **(cells if t == "bad" else {})}.values()) for t in ("a", "bad", "b"))]
    items = parse("usage_csv", write(tmp_path, "\n".join(lines) + "\n"))
    rejected = [i for i in items if isinstance(i, Rejection)]
    assert [r.location for r in rejected] == ["line 3"] and rejected[0].reason.startswith(reason)
    assert [i.location for i in items if isinstance(i, Record)] == ["line 2", "line 4"]


def test_a_row_repeated_in_one_file_is_rejected(tmp_path: Path) -> None:
    row = "2026-11-17,ana@acme.test,,anthropic,claude-sonnet-4-6,,1,2,,,,"
    items = as_stored("usage_csv", write(tmp_path, f"{USAGE_HEADER}\n{row}\n{row.replace(',1,2,', ',5,6,')}\n"))
    assert [(type(i).__name__, i.location) for i in items] == [("Record", "line 2"), ("Rejection", "line 3")]
    assert "repeats line 2" in items[1].reason  # type: ignore[union-attr]


def test_a_row_sent_again_replaces_the_earlier_figures(engine: Engine, tmp_path: Path) -> None:
    ingest_file(engine, USAGE_CSV)
    text = USAGE_CSV.read_text().replace(",98000,15500,", ",99000,16500,")
    report = ingest_file(engine, write(tmp_path, text, "resent.csv"))
    assert (report.stored, report.duplicates, report.rejected) == (1, 5, 0)
    table = table_of(Usage)
    query = select(table.c.input_tokens, table.c.output_tokens).where(
        table.c.source == "usage_csv", table.c.day == date(2026, 11, 17),
        table.c.record_key.like("%email:ana@acme.test%"))
    with engine.connect() as conn:
        assert list(conn.execute(query)) == [(99000, 16500)]


@pytest.mark.parametrize(("header", "missing"), [
    ("day,provider,email,input_tokens", "model"), ("day,provider,model,input_tokens", "email or identity"),
])
def test_a_usage_header_without_required_columns_is_unusable(header: str, missing: str, tmp_path: Path) -> None:
    with pytest.raises(FeedError, match=f"lacks required column\\(s\\): {missing}$"):
        list(FEEDS["usage_csv"].parse(write(tmp_path, header + "\n")))


def test_usage_header_names_are_case_insensitive(tmp_path: Path) -> None:
    text = "Day,Provider,Model,Email,Input_Tokens\n2026-11-17,Anthropic,claude-haiku-4-5,eli@acme.test,7\n"
    assert FEEDS["usage_csv"].sniff(text)
    (row,) = rows(parse("usage_csv", write(tmp_path, text)))
    assert (row.provider, row.input_tokens, row.tool) == ("anthropic", 7, "csv")


cell = st.one_of(st.sampled_from(["", "-1", "1.5", "2026-11-17", "x:y", "github:ana", "a@b", "10", "1e3", '"', "\n"]),
                 st.text(max_size=12))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st.lists(st.lists(cell, min_size=12, max_size=12), min_size=1, max_size=6))
def test_any_cells_give_one_record_or_rejection_per_row_and_never_crash(table: list[list[str]], tmp_path: Path) -> None:
    out = io.StringIO()
    writer = csv.writer(out)  # \r\n ends rows, so a field holding \r or \n is quoted
    writer.writerow(USAGE_HEADER.split(","))
    writer.writerows(table)
    items = parse("usage_csv", write(tmp_path, out.getvalue(), "random.csv"))
    assert len(items) == len(table)
    for item in items:
        assert isinstance(item, (Record, Rejection)) and item.location.startswith("line ")
        if isinstance(item, Rejection):
            assert item.reason
        else:
            assert all(isinstance(r, UsageRow) and r.input_tokens >= 0 for r in item.rows)
