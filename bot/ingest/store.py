"""The one way ingest stores records: feed files, pull pages and webhook deliveries all come through here.

Each batch is admitted under the one dedup rule (bot.ingest.once) first.

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
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any, cast

from sqlalchemy.orm import Session

from bot.core.weeks import Week
from bot.errors import FeedError
from bot.ingest.coverage import coverages
from bot.ingest.feeds.base import (
    ActivityRow,
    BilledRow,
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
from bot.ingest.once import TABLES, Groups, Item, Key, Once, Rows, natural_key
from storage import rollups
from storage.dialect import dialect_name
from storage.engine import patient
from storage.models import IngestedFile
from storage.writes import Upserted, delete_stale, identity_ids, learn_links, upsert_columns

log = logging.getLogger(__name__)

KNOWN_IDENTITIES = 100_000  # identity ids remembered per ingest; bounded so memory stays flat
PAUSED_THRESHOLD = 1_000_000  # middle-generation collections before a full one, while storing (gc.set_threshold)

Progress = Callable[[int], None]

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
        groups = Rows(records).groups
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
            for chunk in sums.rollup_rows(ids, held, iso_days=dialect_name(self.session) == "sqlite"):
                rollups.add_rows(self.session, chunk)
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
