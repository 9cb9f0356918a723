"""The one dedup rule of every ingest, applied to what a feed parsed before the store writes it.

Each natural key (a row's table, source and record key, and an activity row's
metric; an outcome's key) is written at most once per ingest (one file, pull page or delivery):

* The first record of an ingest that carries a key wins. A later record carrying it again is the
  same record sent twice (an export part fetched twice, an exporter's retry, pages that overlap),
  not news: its rows are dropped and it counts as skipped. A vendor restates figures in a later
  report, not further down the same one; the upsert on the natural key (storage.writes) applies
  that across ingests, where the later ingest's figures replace the stored ones.
* A format that lists each key once by construction (`Feed.unique_keys`: a daily report's group,
  a usage CSV row) contradicts itself when a key repeats, and neither copy can be trusted over
  the other: the repeat is rejected, naming the record it repeats, and the first one stands.
* A cumulative reading (a row with `observed_at`) is a running total, so the newest reading wins,
  in an ingest as in the database: such records are held until the ingest ends (memory grows
  with series, not readings), and an older reading never replaces a newer one.
* An identity link is learned once per ingest; a record whose rows lose still has its links learned.

A batch in which no record needs a look of its own (no identity link, no reading, no row out of bounds,
no key taken before or twice) is admitted whole, checked a field at a time for all its rows; any other
batch is admitted record by record. The outcome is the same either way, and so is every Tally.

Keys are remembered for at least the last REMEMBERED keys and always for the whole current batch
(so no batch holds a key twice), and memory stays flat however large the file; a repeat further
back than that meets the database instead: a duplicate if its figures match, else a restatement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from itertools import chain, compress, islice, repeat
from operator import attrgetter, is_
from typing import Any

from bot.ingest.bounds import all_fine, ordinals, problem
from bot.ingest.feeds.base import (
    ActivityRow,
    BilledRow,
    Counted,
    EventSums,
    IdentityLink,
    OutcomeRow,
    Record,
    Rejection,
    Row,
    SeatRow,
    UsageEvent,
    UsageRow,
    WorkRow,
)
from bot.ingest.limits import date_window
from storage.models import Activity, Billed, Outcome, Seat, Usage, WorkDetail

BATCH = 5_000  # items read per write: memory stays flat however large the file
REMEMBERED = 65_536  # natural keys remembered per ingest, at least

Item = Record | Rejection | EventSums
Key = tuple[Any, ...]
Groups = dict[type[Row], list[Row]]  # a batch's rows by their exact type

# Each row type: its table and natural key.
TABLES: dict[type[Counted], tuple[type[Any], tuple[str, ...]]] = {
    UsageRow: (Usage, ("source", "record_key")),
    ActivityRow: (Activity, ("source", "record_key", "metric")),
    OutcomeRow: (Outcome, ("key",)),
    BilledRow: (Billed, ("source", "record_key")),
    SeatRow: (Seat, ("source", "record_key")),
    WorkRow: (WorkDetail, ("source", "key")),
}


def once(items: Iterable[Item], unique_keys: bool = False) -> Iterator[Item]:
    """The items exactly as store_records writes them, the rule applied and nothing written."""
    for _, batch in Once(unique_keys).batches(items):
        yield from batch


def natural_key(row: Counted) -> Key:
    return _NATURAL_KEYS[type(row)](row)


def _key_reader(row_type: type[Counted], keys: tuple[str, ...]) -> Callable[[Any], Key]:
    read = attrgetter(*keys)  # one name: the value; more: a tuple of them
    if len(keys) == 1:
        return lambda row: (row_type, read(row))
    return lambda row: (row_type, *read(row))


_KEY_FIELDS: dict[type[Any], tuple[str, ...]] = {row_type: keys for row_type, (_, keys) in TABLES.items()}
_KEY_FIELDS[UsageEvent] = ("source", "record_key")  # folded, not upserted
_NATURAL_KEYS = {row_type: _key_reader(row_type, keys) for row_type, keys in _KEY_FIELDS.items()}


def _keys(row_type: type[Row], group: list[Row]) -> list[Key]:
    """`natural_key` of each row of one type, read a field at a time."""
    return list(zip(repeat(row_type), *(map(attrgetter(name), group) for name in _KEY_FIELDS[row_type])))


class Rows:
    """A batch's rows by their exact type, each group in the order read (C-level passes, no Python loop per row)."""

    def __init__(self, records: list[Record]) -> None:
        rows = list(chain.from_iterable(record.rows for record in records))
        kinds = list(map(type, rows))
        distinct = list(dict.fromkeys(kinds))
        self.masks = {kind: list(map(is_, kinds, repeat(kind))) for kind in distinct} if len(distinct) > 1 else {}
        self.groups: Groups = {kind: list(compress(rows, mask)) for kind, mask in self.masks.items()}
        if len(distinct) == 1:
            self.groups = {distinct[0]: rows}

    def along(self, kind: type[Row], values: list[Any]) -> list[Any]:
        """Of values given row by row, those of `kind`'s rows."""
        return list(compress(values, self.masks[kind])) if self.masks else values


class Once:
    """The rule, item by item: each item read becomes exactly one item to store, now or when the ingest ends."""

    def __init__(self, unique_keys: bool = False, remember: int = REMEMBERED, batch: int = BATCH,
                 dates: tuple[date, date] | None = None) -> None:
        self.unique_keys = unique_keys
        self.remember = remember
        self.batch = batch
        self.dates = dates or date_window()
        self.days = ordinals(self.dates)
        self.recent: dict[Key, str] = {}  # key -> where the record that took it was; the current generation
        self.older: dict[Key, str] = {}  # the generation before, forgotten when the current one fills up
        self.held: dict[tuple[Key, ...], tuple[datetime, Record]] = {}  # the newest reading of each series

    def batches(self, items: Iterable[Item]) -> Iterator[tuple[int, list[Item]]]:
        """(items read, items to store) per batch read, then the held readings (none read)."""
        read = iter(items)
        while batch := list(islice(read, self.batch)):
            yield len(batch), self._admit_batch(batch)
            if len(self.recent) >= self.remember:
                self.older, self.recent = self.recent, {}
        held: list[Item] = [record for _, record in self.held.values()]
        self.held.clear()
        for start in range(0, len(held), self.batch):
            yield 0, held[start : start + self.batch]

    def _admit_batch(self, batch: list[Item]) -> list[Item]:
        """The batch as it came when no record in it needs a look of its own (the common case), else record by record.

        Either way the outcome is the one `admit` gives each item in turn; the batch's rows are only read a type at
        a time (bot.ingest.bounds.all_fine, `_all_new`) to find out that nothing in it needs that look.
        """
        records = [item for item in batch if isinstance(item, Record)]
        rows = Rows(records)
        checked = all_fine(rows.groups, self.days)
        if checked and self._all_new(records, rows):
            return batch
        return [kept for item in batch for kept in self.admit(item, checked=checked)]

    def _all_new(self, records: list[Record], rows: Rows) -> bool:
        """True, and their keys taken, when every record's rows are all counted, none a cumulative reading, and no
        key of them taken before or twice: then `admit` would return each record as it came."""
        groups = rows.groups
        if not groups.keys() <= _KEY_FIELDS.keys() or any(
                issubclass(kind, UsageRow | ActivityRow) and any(map(attrgetter("observed_at"), group))
                for kind, group in groups.items()):
            return False  # links, readings (or an unknown row type): looked at record by record
        keys = {kind: _keys(kind, group) for kind, group in groups.items()}
        every = list(chain.from_iterable(keys.values()))
        if len(set(every)) != len(every) or not (self.recent.keys().isdisjoint(every)
                                                 and self.older.keys().isdisjoint(every)):
            return False
        counts = [len(record.rows) for record in records]
        locations = list(chain.from_iterable(map(repeat, [record.location for record in records], counts)))
        for kind, taken in keys.items():
            self.recent.update(zip(taken, rows.along(kind, locations), strict=True))
        return True

    def admit(self, item: Item, *, checked: bool = False) -> list[Item]:
        """What storing `item` comes to under the rule (`checked`: its rows are known to pass the bounds check)."""
        if isinstance(item, Rejection | EventSums):  # EventSums: checked by the feed, repeats by the ledger
            return [item]
        for row in () if checked else item.rows:
            why = problem(row, self.dates, self.days)
            if why is not None:
                return [Rejection(item.location, why)]
        counted = [row for row in item.rows if not isinstance(row, IdentityLink)]
        reading = _reading(counted)
        if reading is not None:
            return self._hold(item, counted, reading)
        kept, repeat = self._firsts(counted)
        if repeat is not None and self.unique_keys:
            first = self.recent.get(repeat) or self.older.get(repeat) or item.location
            return [Rejection(item.location, f"the same line ({_shown(repeat)}) appears twice in this file: "
                                             f"it repeats {first}")]
        self.recent.update(dict.fromkeys(kept, item.location))
        if len(kept) == len(item.rows):
            return [item]  # every row new and no links: the record as it came
        return [Record(item.location, (*self._fresh_links(item.rows), *kept.values()), item.window)]

    def _firsts(self, counted: list[Counted]) -> tuple[dict[Key, Counted], Key | None]:
        """The rows whose keys nothing took before (in this record or earlier), and the first repeated key."""
        kept: dict[Key, Counted] = {}
        repeat: Key | None = None
        for row in counted:
            key = natural_key(row)
            if key in kept or self._taken(key):
                repeat = repeat or key
            else:
                kept[key] = row
        return kept, repeat

    def _hold(self, item: Record, counted: list[Counted], reading: datetime) -> list[Item]:
        links = self._fresh_links(item.rows)
        series = tuple(natural_key(row) for row in counted)
        held = self.held.get(series)
        if held is not None and reading < held[0]:
            return [Record(item.location, links)]  # older than the reading held: only its links count
        self.held[series] = (reading, Record(item.location, (*links, *counted), item.window))
        if held is None:
            return []
        loser = held[1]
        return [Record(loser.location, tuple(r for r in loser.rows if isinstance(r, IdentityLink)))]

    def _fresh_links(self, rows: Iterable[Row]) -> tuple[IdentityLink, ...]:
        fresh: list[IdentityLink] = []
        for link in rows:
            if isinstance(link, IdentityLink):
                key = (IdentityLink, link.source, link.known, link.also)
                if not self._taken(key):
                    self.recent[key] = ""
                    fresh.append(link)
        return tuple(fresh)

    def _taken(self, key: Key) -> bool:
        return key in self.recent or key in self.older


def _reading(counted: list[Counted]) -> datetime | None:
    """When the record's cumulative reading was taken; None for a record of counts that simply add up."""
    times = [r.observed_at for r in counted if isinstance(r, (UsageRow, ActivityRow)) and r.observed_at is not None]
    return max(times) if times else None


def _shown(key: Key) -> str:
    """A natural key as a person reads it: the record key (the table and source are the file's)."""
    return str(key[1] if key[0] is OutcomeRow else key[2])
