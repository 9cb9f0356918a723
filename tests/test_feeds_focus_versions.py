"""FOCUS 1.3 (ServiceProviderName, split cost allocation) and 1.4 (no ProviderName, no PublisherName) exports.

The fixtures are the sample org's FOCUS 1.2 export carried forward: 1.3 adds ServiceProviderName,
HostProviderName and the Allocated* columns, and splits one gateway charge into two allocated charges;
1.4 then drops ProviderName and PublisherName.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.ingest.feeds import FEEDS, detect
from bot.ingest.feeds.base import BilledRow, Record, Rejection
from tests.conftest import FIXTURES
from tests.contract import FeedCase, check_contract

V12, V13, V14 = FIXTURES / "focus_ai_costs.csv", FIXTURES / "focus_v13.csv", FIXTURES / "focus_v14.csv"


def rewrite(change: Callable[[list[dict[str, str]]], None]) -> Callable[[str], str]:
    def apply(text: str) -> str:
        rows = list(csv.DictReader(io.StringIO(text)))
        fields = list(rows[0])
        change(rows)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*fields, *(k for k in rows[0] if k not in fields)],
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    return apply


def ledger(path: Path) -> list[BilledRow]:
    return [r for i in FEEDS["focus"].parse(path) if isinstance(i, Record) for r in i.rows if isinstance(r, BilledRow)]


@pytest.mark.parametrize("path", [V13, V14], ids=["1.3", "1.4"])
def test_feed_contract(path: Path, sqlite_engine: Engine, tmp_path: Path) -> None:
    def no_provider(rows: list[dict[str, str]]) -> None:
        rows[6].update({name: "" for name in ("ServiceProviderName", "ProviderName") if name in rows[6]})

    case = FeedCase("focus", path, corrupt=rewrite(no_provider), bad_location="line 8",
                    add_unknown_field=rewrite(lambda rows: [r.update(x_New="1") for r in rows]),
                    empty=path.read_text().split("\n", 1)[0] + "\n")
    check_contract(case, sqlite_engine, tmp_path)


def totals(rows: list[BilledRow]) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for row in rows:
        found[row.provider] = found.get(row.provider, Decimal(0)) + Decimal(str(row.amount_usd))
    return {k: v.quantize(Decimal("0.000001")) for k, v in found.items()}


def test_every_version_bills_the_same_and_names_the_same_providers() -> None:
    assert "ProviderName" not in V14.read_text().split("\n", 1)[0].split(",")
    assert detect(V14.read_text()[:65536]).name == "focus"
    assert totals(ledger(V12)) == totals(ledger(V13)) == totals(ledger(V14))


def test_the_same_charge_keeps_its_key_from_1_2_to_1_4_and_allocated_charges_are_lines_of_their_own() -> None:
    old, v13, v14 = ({r.record_key for r in ledger(p)} for p in (V12, V13, V14))
    assert v13 == v14 and len(old - v13) == 1 and len(v13 - old) == 2  # the origin charge, split in two
    allocated = [r for r in ledger(V14) if r.record_key in v14 - old]
    [origin] = [r for r in ledger(V12) if r.record_key in old - v13]
    assert sum(Decimal(str(r.amount_usd)) for r in allocated) == Decimal(str(origin.amount_usd))


def test_allocated_charges_keep_their_keys_whatever_their_order(tmp_path: Path) -> None:
    swapped = tmp_path / "swapped.csv"
    swapped.write_text(rewrite(lambda rows: rows.reverse())(V14.read_text()))
    assert sorted(r.record_key for r in ledger(swapped)) == sorted(r.record_key for r in ledger(V14))


def test_a_1_4_row_without_a_service_provider_is_rejected_by_line_naming_the_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(rewrite(lambda rows: rows[2].update(ServiceProviderName=""))(V14.read_text()))
    rejected = [i for i in FEEDS["focus"].parse(bad) if isinstance(i, Rejection)]
    assert [(r.location, r.reason) for r in rejected] == [("line 4", "ServiceProviderName: empty")]
