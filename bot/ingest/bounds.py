"""The one check every row passes before it is stored, whichever feed or path it came from.

Invariant: a stored row's counts are whole numbers from 0 to MAX_COUNT (the BIGINT columns), its
other numbers are finite, its dates lie in the date window (bot.ingest.limits), and its text is
text both databases hold (no NUL character, no lone surrogate). A row that breaks one of these makes
its record a rejection naming the field, the value and the limit: adapters parse, this decides.

Every row of every ingest passes here, so the common case (nothing wrong) is one pass over each
kind of field, read with getters built once per row type from the dataclass's own annotations; only
a row that fails is walked field by field to say which field and why. A batch of rows can be checked
at once (`all_fine`: a few passes per field, no Python code per row); it says True only when `problem`
would say None of every row, and anything else sends its caller to `problem` row by row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from itertools import chain
from operator import attrgetter, methodcaller
from typing import Any

from bot.ingest.feeds.base import (
    ActivityRow,
    BilledRow,
    IdentityLink,
    IdentityRef,
    OutcomeRow,
    Row,
    SeatRow,
    UsageEvent,
    UsageRow,
    WorkRow,
)
from bot.ingest.limits import MAX_COUNT

Getter = Callable[[Any], tuple[Any, ...]]


@dataclass(frozen=True)
class _Kinds:
    """A row type's fields by kind, each kind read at once."""

    ints: Getter
    floats: Getter
    dates: Getter
    texts: Getter
    refs: Getter  # IdentityRef fields: their kind and value are text
    unknown_ints: bool = False  # some count may be None (the feed did not say)
    names: tuple[tuple[str, ...], ...] = ()  # the field names of each kind: ints, floats, dates, texts, refs

    @classmethod
    def of(cls, row_type: type) -> _Kinds:
        kinds: dict[str, list[str]] = {"int": [], "float": [], "date": [], "str": [], "IdentityRef": []}
        for spec in fields(row_type):
            base = str(spec.type).replace(" | None", "")
            kinds["date" if base == "datetime" else base].append(spec.name)
        optional = any(str(spec.type) == "int | None" for spec in fields(row_type))
        ints, floats, dates, texts, refs = (_getter(names) for names in kinds.values())
        return cls(ints, floats, dates, texts, refs, unknown_ints=optional,
                   names=tuple(tuple(names) for names in kinds.values()))


def _getter(names: list[str]) -> Getter:
    if not names:
        return lambda row: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda row: (one(row),)
    return attrgetter(*names)


_KINDS = {row_type: _Kinds.of(row_type)
          for row_type in (UsageRow, UsageEvent, ActivityRow, OutcomeRow, BilledRow, SeatRow, WorkRow, IdentityLink)}


def ordinals(window: tuple[date, date]) -> tuple[int, int]:
    """The window as day ordinals, which dates and datetimes (naive or aware) both give."""
    return window[0].toordinal(), window[1].toordinal()


def problem(row: Row, window: tuple[date, date], days: tuple[int, int] | None = None) -> str | None:
    """Why the row cannot be stored as it is, or None when it can (`days`: ordinals(window), if known)."""
    if _fine(row, days or ordinals(window)):
        return None
    for name, value in vars(row).items():
        why = _value_problem(value, window)
        if why is not None:
            return f"{name}: {why}"
    return None


def _fine(row: Row, days: tuple[int, int]) -> bool:
    kinds = _KINDS[type(row)]
    ints = kinds.ints(row)
    if kinds.unknown_ints:  # an optional count the feed did not give (a PR list page's line counts)
        ints = tuple(i for i in ints if i is not None)
    if ints and (min(ints) < 0 or max(ints) > MAX_COUNT):
        return False
    for number in kinds.floats(row):
        if number is not None and number - number != 0.0:  # inf - inf and nan - nan are nan
            return False
    earliest, latest = days
    for day in kinds.dates(row):
        if day is not None and not earliest <= day.toordinal() <= latest:
            return False
    text = "".join(filter(None, kinds.texts(row)))
    for ref in kinds.refs(row):
        text += ref.kind + ref.value
    return "\x00" not in text and (text.isascii() or _encodable(text))


def all_fine(groups: Mapping[type[Any], Sequence[Row]], days: tuple[int, int]) -> bool:
    """True when `problem` would find nothing wrong with any row (grouped by exact type); False when it may.

    Each field is read for every row at once and checked as a whole: the smallest and largest count and date,
    the sum of the numbers (not finite if one is not, or if they overflow: then each row is looked at), every
    text joined. Anything unusual (a value of the wrong type) is left for `problem` to say row by row.
    """
    try:
        return all(_group_fine(_KINDS[kind], rows, days) for kind, rows in groups.items())
    except (TypeError, ValueError, OverflowError, AttributeError, KeyError):
        return False


def _group_fine(kinds: _Kinds, rows: Sequence[Row], days: tuple[int, int]) -> bool:
    ints, floats, dates, texts, refs = (_column(names, rows) for names in kinds.names)
    counts = list(filter(None, ints)) if kinds.unknown_ints else list(ints)  # zeros are in range
    if counts and not (0 <= min(counts) and max(counts) <= MAX_COUNT):  # NaN: not <= anything, so looked at
        return False
    total = sum(filter(None, floats), 0.0)
    if total - total != 0.0:  # inf and nan, or finite numbers whose sum overflows
        return False
    ordinals = list(map(methodcaller("toordinal"), filter(None, dates)))
    if ordinals and not (days[0] <= min(ordinals) and max(ordinals) <= days[1]):
        return False
    identities = list(refs)  # not filtered: a None kind or value fails here as it does in `_fine`
    text = "".join(chain(filter(None, texts), map(attrgetter("kind"), identities),
                         map(attrgetter("value"), identities)))
    return "\x00" not in text and (text.isascii() or _encodable(text))


def _column(names: tuple[str, ...], rows: Sequence[Row]) -> Iterator[Any]:
    """The named fields of every row, one field after another."""
    return chain.from_iterable(map(attrgetter(name), rows) for name in names)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _value_problem(value: Any, window: tuple[date, date]) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, int):
        return None if 0 <= value <= MAX_COUNT else f"{value} is out of range (0 to {MAX_COUNT:,})"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value} is not a finite number"
    if isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        earliest, latest = window
        return None if earliest <= day <= latest else f"{value.isoformat()} is outside {earliest} to {latest}"
    if isinstance(value, IdentityRef):
        return _text_problem(value.kind) or _text_problem(value.value)
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return f"{_shown(text)} contains a NUL character"
    if not (text.isascii() or _encodable(text)):
        return f"{_shown(text)} is not valid Unicode text (a lone surrogate)"
    return None


def _shown(text: str) -> str:
    return ascii(text[:40]) + ("…" if len(text) > 40 else "")
