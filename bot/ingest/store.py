"""The one way ingest stores records: feed files, pull pages and webhook deliveries all come through here.

The one dedup rule. Each natural key (a row's table, source and record key, and an activity row's
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

Before the rule, every row passes the one bounds check (bot.ingest.bounds): a record with a number out
of its column's range, a non-finite number or a date outside the window is rejected with the reason. A
record carrying an identity someone asked to be forgotten is skipped as forgotten (bot.ingest.forgotten).
A parser that fails midway costs the rest of its file, never what it read before: the failure is a
rejection after the last record read. A restated day removes only the stale rows its report covers
(bot.ingest.coverage), and the Tally says how many it removed.

Event-grain usage (UsageEvent; EventSums: many read at once) is folded into rollups and its key put in the
dedup ledger (storage.rollups), so it counts once across ingests too: an event the ledger holds is a
duplicate, never a restatement. A file of nothing but events, stored without a rejection, is remembered
by content hash: the same bytes again are not parsed, and count as duplicates as the first time stored.

Every item read counts once in the Tally: stored (a row new or restated), duplicate (every row
already stored with the same figures), skipped (nothing to count: an unmerged PR, a repeat, a forgotten
person's record) or rejected.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from itertools import chain, compress, islice, repeat
from operator import attrgetter, is_
from pathlib import Path
from typing import Any, cast

from sqlalchemy.orm import Session

from bot.core.weeks import Week
from bot.errors import FeedError
from bot.ingest.bounds import all_fine, ordinals, problem
from bot.ingest.coverage import coverages
from bot.ingest.feeds.base import (
    ActivityRow,
    BilledRow,
    Counted,
    EventSums,
    IdentityLink,
    IdentityRef,
    OutcomeRow,
    Record,
    Rejection,
    Row,
    SeatRow,
    UsageEvent,
    UsageRow,
    Window,
    WorkRow,
)
from bot.ingest.forgotten import Forgotten
from bot.ingest.limits import date_window
from storage import rollups
from storage.dialect import dialect_name
from storage.engine import patient
from storage.models import Activity, Billed, IngestedFile, Outcome, Seat, Usage, WorkDetail
from storage.writes import Upserted, delete_stale, identity_ids, learn_links, upsert_columns

log = logging.getLogger(__name__)

BATCH = 5_000  # items read per write: memory stays flat however large the file
REMEMBERED = 65_536  # natural keys remembered per ingest, at least
KNOWN_IDENTITIES = 100_000  # identity ids remembered per ingest; bounded so memory stays flat
PAUSED_THRESHOLD = 1_000_000  # middle-generation collections before a full one, while storing (gc.set_threshold)

Item = Record | Rejection | EventSums
Key = tuple[Any, ...]
Progress = Callable[[int], None]
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


@dataclass
class Tally:
    """What one ingest did with the items it read; each is counted once, in exactly one of the four."""

    records: int = 0  # items read, rejections included
    stored: int = 0
    duplicates: int = 0
    skipped: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    forgotten: int = 0  # of the skipped: records of people who asked to be forgotten
    removed: int = 0  # stored rows a restated report no longer lists, removed (not items read)


def store_records(
    session: Session, items: Iterable[Item], *, unique_keys: bool = False, progress: Progress | None = None,
    path: Path | None = None,
) -> Tally:
    """Store what a feed parsed, under the one rule, a batch at a time, in the caller's transaction.

    With `path` (the file `items` parses, not read yet), a file of events ingested before is not parsed at all.
    """
    digest = rollups.file_digest(path) if path is not None else None
    seen = rollups.file_seen(session, digest) if digest is not None else None
    if seen is not None:
        return Tally(records=seen.records, duplicates=seen.counted, skipped=seen.skipped)
    writer = _Writer(session)
    with patient(session), _FULL_COLLECTIONS.paused():  # on SQLite a second ingest waits for the first
        for read, batch in Once(unique_keys).batches(writer.screen(_guarded(items))):
            writer.write(batch)
            if progress and read:
                progress(read)
        writer.finish()
    tally = writer.tally
    if digest is not None and writer.kinds == {True} and not tally.rejected:
        counted = tally.stored + tally.duplicates
        rollups.remember_file(session, IngestedFile(digest=digest, records=tally.records, counted=counted,
                                            skipped=tally.skipped, ingested_at=datetime.now(UTC)))
    return tally


class _Collections:
    """Python's full garbage collections, paused while any ingest stores; the young generations are still collected.

    A batch's rows live until written, so young collections promote them, and their number sets off full collections
    that walk the whole heap (a 9,000-record page parsed is in it: a fifth of the Claude Code bench's time) only for
    the rows to be freed by reference count once written. The first ingest to start pauses them, the last to end
    restores the threshold it found.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.storing = 0
        self.threshold = 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self.lock:
            if not self.storing:
                young, middle, self.threshold = gc.get_threshold()
                gc.set_threshold(young, middle, PAUSED_THRESHOLD)
            self.storing += 1
        try:
            yield
        finally:
            with self.lock:
                self.storing -= 1
                if not self.storing:
                    young, middle, _ = gc.get_threshold()
                    gc.set_threshold(young, middle, self.threshold)


_FULL_COLLECTIONS = _Collections()


def once(items: Iterable[Item], unique_keys: bool = False) -> Iterator[Item]:
    """The items exactly as store_records writes them, the rule applied and nothing written."""
    for _, batch in Once(unique_keys).batches(items):
        yield from batch


def _guarded(items: Iterable[Item]) -> Iterator[Item]:
    """The items, until a parser fails unexpectedly: then one rejection after the last item read, and no more.

    A FeedError says the whole file is unusable and goes to the caller, as parse promises it before any item.
    """
    iterator = iter(items)
    last: str | None = None
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except FeedError:
            raise
        except Exception as exc:
            log.warning("a parser failed after %s", last or "the start", exc_info=True)
            where = f"after {last}" if last else "at the start"
            yield Rejection(where, f"unexpected error: {type(exc).__name__}: {first_line(exc)}; "
                                   "the rest of the file was not read")
            return
        last = item.location
        yield item


def first_line(exc: BaseException) -> str:
    """An exception's message as one short line for a report (a database error's first line, not its SQL)."""
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else "(no message)"


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


class _Rows:
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
        rows = _Rows(records)
        checked = all_fine(rows.groups, self.days)
        if checked and self._all_new(records, rows):
            return batch
        return [kept for item in batch for kept in self.admit(item, checked=checked)]

    def _all_new(self, records: list[Record], rows: _Rows) -> bool:
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


class _Writer:
    """Writes batches of admitted items in one session, and counts each item once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.tally = Tally()
        self.windows: dict[Window, set[str]] = {}
        self.known: dict[tuple[str, str], int] = {}
        self.forgotten = Forgotten(session)
        self.kinds: set[bool] = set()  # whether each row written was a usage event (storage.rollups)

    def screen(self, items: Iterable[Item]) -> Iterator[Item]:
        """The items, each record of a forgotten person emptied (so skipped, as forgotten) before the rule sees it.

        The emptied record carries no window: a report of nobody but the forgotten must not read as an empty one.
        """
        for item in items:
            if isinstance(item, EventSums) and self.forgotten.digests and any(
                    self.forgotten.carries(Record("", (IdentityLink("", ref, ref),))) for ref in item.identities()):
                item.close()
                yield from self.screen(item.records())  # a forgotten person among them: each event looked at
            elif isinstance(item, Record) and self.forgotten.carries(item):
                self.tally.forgotten += 1
                yield Record(item.location, ())
            else:
                yield item

    def write(self, items: Sequence[Item]) -> None:
        records = [item for item in items if isinstance(item, Record)]
        groups = _Rows(records).groups
        if any(isinstance(item, EventSums) for item in items) or UsageEvent in groups:
            rollups.lock(self.session)  # before any write: identities too (storage.rollups)
        identities = _Identities(groups)
        links = cast(list[IdentityLink], groups.get(IdentityLink, []))
        ids = self._resolve({*identities.refs(), *_link_refs(links)})
        learn_links(self.session, [(link.source, ids[_ref(link.known)], ids[_ref(link.also)]) for link in links])
        stored = self._upsert(groups, identities.ids(ids), ids)
        for record in records:
            if record.window is not None:
                keys = (r.record_key for r in record.rows if isinstance(r, (UsageRow, ActivityRow, BilledRow)))
                self.windows.setdefault(record.window, set()).update(keys)
            self._count(record, stored)
        for sums in (item for item in items if isinstance(item, EventSums)):
            self._fold_sums(sums)
        rejections = [item for item in items if isinstance(item, Rejection)]
        self.tally.records += sum(1 for item in items if not isinstance(item, EventSums))
        self.tally.rejected += len(rejections)
        self.tally.rejections += rejections

    def finish(self) -> None:
        """Every (source, day) bucket read complete loses the rows it no longer reports, as far as it covers them."""
        covered = coverages(self.windows)
        for window, keys in self.windows.items():
            coverage = covered[window.source]
            self.tally.removed += delete_stale(self.session, window.source, window.day, keys, coverage.covers)

    def _identity_ids(self, rows: list[Row]) -> dict[tuple[str, str], int]:
        """Identity ids, asking the database only for those not seen earlier in this ingest."""
        refs = {_ref(r.identity) for r in rows if isinstance(r, (UsageRow, ActivityRow, OutcomeRow, SeatRow, WorkRow))}
        refs |= {_ref(ref) for r in rows if isinstance(r, IdentityLink) for ref in (r.known, r.also)}
        return self._resolve(refs)

    def _resolve(self, refs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        missing = refs - self.known.keys()
        if missing:
            if len(self.known) + len(missing) > KNOWN_IDENTITIES:
                self.known.clear()  # every ref of this batch asked for again: the caller reads them all
                missing = refs
            self.known.update(identity_ids(self.session, missing))
        return self.known

    def _upsert(self, groups: Groups, id_columns: dict[type[Row], list[int]],
                ids: dict[tuple[str, str], int]) -> set[Key] | None:
        """The natural keys of the rows stored (new or restated); None when that is every row."""
        events = [rollups.Event(rollups.event_key(r.source, r.record_key), _values(r, ids))
                  for r in cast(list[UsageEvent], groups.get(UsageEvent, []))]
        self.kinds |= {kind is UsageEvent for kind in groups}
        folded = rollups.fold(self.session, events)
        stored: set[Key] = {(UsageEvent, e.values["source"], e.values["record_key"]) for e in events if e.key in folded}
        written: dict[type[Row], Upserted] = {}
        for row_type, (model, keys) in TABLES.items():
            if row_type in groups:
                columns = _columns(groups[row_type], id_columns.get(row_type))
                written[row_type] = upsert_columns(self.session, model, keys, columns)
        rows = len(events) + sum(len(groups[kind]) for kind in written)
        if len(stored) + sum(len(upserted.stored) for upserted in written.values()) == rows:
            return None  # keys are unique in a batch, so as many stored as written is every one
        for kind, upserted in written.items():
            stored |= {(kind, *key) for key in upserted.stored}
        return stored

    def _fold_sums(self, sums: EventSums) -> None:
        """Events read at once: their keys into the ledger, the sums of those it did not hold into the rollups."""
        try:
            held = rollups.fold_keys(self.session, sums.keys())
            ids = self._identity_ids([IdentityLink("", ref, ref) for ref in sums.identities()])
            ready = sums.rollup_rows(ids, held, iso_days=dialect_name(self.session) == "sqlite")
            for chunk in ready if ready is not None else ():
                rollups.add_rows(self.session, chunk)
            for rows in sums.sums(held) if ready is None else ():
                rollups.add_to_rollups(self.session, (_values(row, ids) for row in rows))
        finally:
            sums.close()
        self.kinds.add(True)
        self.tally.records += sums.events
        self.tally.stored += sums.events - sums.repeats - len(held)
        self.tally.duplicates += len(held)
        self.tally.skipped += sums.repeats

    def _count(self, record: Record, stored: set[Key] | None) -> None:
        if stored is None:  # every row of the batch stored
            some = any(not isinstance(row, IdentityLink) for row in record.rows)
            self.tally.stored += some
            self.tally.skipped += not some
            return
        counted = [row for row in record.rows if not isinstance(row, IdentityLink)]
        if any(natural_key(row) in stored for row in counted):
            self.tally.stored += 1
        elif counted:
            self.tally.duplicates += 1
        else:
            self.tally.skipped += 1


def _ref(identity: IdentityRef) -> tuple[str, str]:
    return identity.kind, identity.value


class _Identities:
    """The identities of a batch's rows, each IdentityRef object read once: a record's rows share theirs."""

    def __init__(self, groups: Groups) -> None:
        self.objects = {kind: list(map(attrgetter("identity"), group))
                        for kind, group in groups.items() if issubclass(kind, _IDENTIFIED)}
        distinct: dict[int, IdentityRef] = {}
        for objects in self.objects.values():
            distinct.update(zip(map(id, objects), objects, strict=True))  # alive as long as the rows: ids stay theirs
        self.pairs = {key: _ref(ref) for key, ref in distinct.items()}

    def refs(self) -> Iterable[tuple[str, str]]:
        return self.pairs.values()

    def ids(self, ids: dict[tuple[str, str], int]) -> dict[type[Row], list[int]]:
        """Each identified row type's identity_id column, in its group's order."""
        by_object = {key: ids[pair] for key, pair in self.pairs.items()}
        return {kind: list(map(by_object.__getitem__, map(id, objects))) for kind, objects in self.objects.items()}


def _link_refs(links: list[IdentityLink]) -> Iterator[tuple[str, str]]:
    for link in links:
        yield _ref(link.known)
        yield _ref(link.also)


def _columns(group: list[Row], ids: list[int] | None) -> dict[str, list[Any]]:
    """A group's rows as the columns `_values` gives each row (identity as identity_id), read a field at a time."""
    row_type = type(group[0])
    columns = {name: list(map(attrgetter(name), group)) for name in _FIELDS[row_type]}
    if ids is not None:
        columns["identity_id"] = ids
    if row_type is OutcomeRow:
        columns["week"] = [str(Week.of(moment)) for moment in columns["occurred_at"]]
    return columns


_IDENTIFIED = (UsageRow, ActivityRow, OutcomeRow, SeatRow, WorkRow)  # the row types that carry an identity
_FIELDS: dict[type[Any], tuple[str, ...]] = {  # each row type's columns but its identity, in `_values` order
    row_type: tuple(spec.name for spec in fields(row_type) if spec.name != "identity") for row_type in TABLES}


def _values(row: Row, ids: dict[tuple[str, str], int]) -> dict[str, Any]:
    values = dict(vars(row))  # shallow: dataclasses.asdict deep-copies every field, and dominated ingest time
    identity = values.pop("identity", None)
    if identity is not None:
        values["identity_id"] = ids[_ref(identity)]
    if isinstance(row, OutcomeRow):
        values["week"] = str(Week.of(row.occurred_at))
    return values
