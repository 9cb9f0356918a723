"""Cursor usage-event pages read by DuckDB with a declared schema: every event checked as the parser checks it.

Invariant: the columnar pass accepts a page only when it can vouch that json.load reads the same events and that
every one is an event the record-at-a-time parser (bot.ingest.feeds.cursor_events) accepts, with the same figures.
The `usageEvents` list is cut out of the page and read by DuckDB, which refuses a repeated key (json.load keeps the
last), text that is not UTF-8 and any broken JSON; what DuckDB takes and json.load does not (trailing commas, NaN
and Infinity in any spelling, integers longer than Python converts, nesting past Python's recursion) is looked for
first (`events_span`), and json.load itself reads the rest of the page, which must be one object with that list as
its only `usageEvents`. Each field has the JSON type the parser's model takes (a timestamp as a string of plain
digits, counts as non-negative integers, costs finite), its day inside the date window, its text without NUL; where
DuckDB cannot tell a JSON null from a missing field (model, maxMode, the token counts) both are refused. A refused
page (or one DuckDB cannot read, too small to be worth it, or over the JSON size limit) is parsed record by record,
so its rejections keep the parser's locations and reasons and its good events are kept. Each event's ledger key is
computed in Python from the fetched figures, byte for byte the parser's (`fingerprints` spells the JSON text
`_fingerprint` hashes), so a page read either way counts each event once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

import numpy as np

from bot.core.prices import normalise_model
from bot.ingest import limits
from bot.ingest.feeds.base import EventSums, IdentityRef, Record, Rejection
from storage.rollups import DayKeys, event_key, summed

SOURCE = "cursor_events"

MIN_BYTES = 2 * 1024 * 1024  # smaller pages are parsed record by record (read at run time: a test may lower it)
KEY_CHUNK = 20_000
MEMORY_LIMIT = "96MB"  # DuckDB spills its table of checked events to disk beyond this
SCAN_CHUNK = 16 * 1024 * 1024  # bytes of the page looked at at once
SEAM = 64  # bytes of a piece looked at again with the next (more when Python converts longer integers)
MAX_DEPTH = 100  # json.load recurses once a level of nesting (to about 1,000 deep); a deeper page is left to it
EXACT = 2**53  # an integer cost beyond this might round differently in DuckDB's conversion than in Python's
DIGITS = re.compile(r"[1-9][0-9]{0,17}")
WHITESPACE = b" \t\n\r"
NON_FINITE = re.compile(rb"[:\[,][+-]?(?:nan|inf)")  # a value DuckDB reads as NaN or infinite, in the lowered page
KEY = b'"usageEvents"'
MAX_KEYS = 16  # a page spelling KEY more often than this (in nested objects, say) is left to the parser
COLON = re.compile(rb"[ \t\n\r]*:[ \t\n\r]*(.)", re.DOTALL)  # after a key: its value's first byte
TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
MARKS = bytes({ord('"'): 1, ord("["): 2, ord("{"): 2, ord("]"): 3, ord("}"): 3}.get(b, 0) for b in range(256))

_NUMBER = "('DOUBLE', 'UBIGINT', 'BIGINT')"
_TOKENS = ("inputTokens", "outputTokens", "cacheWriteTokens", "cacheReadTokens")
_FIELDS = {"timestamp": "JSON", "userEmail": "JSON", "model": "JSON", "kind": "JSON", "maxMode": "JSON",
           "requestsCosts": "JSON",
           "tokenUsage": f"STRUCT({', '.join(f'{name} JSON' for name in _TOKENS)}, totalCents JSON)"}

_CHECKED = f"""
CREATE TEMP TABLE ev AS
WITH u AS (
  SELECT row_number() OVER () AS ord, * FROM read_json($path, format = 'array', records = true, columns = {_FIELDS!r})
), t AS (
  SELECT ord, "timestamp"->>'$' AS ts, json_type("timestamp") AS t_ts, userEmail->>'$' AS email,
    json_type(userEmail) AS t_email, model->>'$' AS model, json_type(model) AS t_model,
    kind->>'$' AS kind, json_type(kind) AS t_kind, json_type(maxMode) AS t_max, maxMode->>'$' = 'true' AS max_mode,
    TRY_CAST(requestsCosts AS DOUBLE) AS rc, json_type(requestsCosts) AS t_rc, tokenUsage IS NOT NULL AS has_usage,
    {", ".join(f"TRY_CAST(tokenUsage.{n} AS BIGINT) AS {n}, json_type(tokenUsage.{n}) AS t_{n}" for n in _TOKENS)},
    TRY_CAST(tokenUsage.totalCents AS DOUBLE) AS cents, json_type(tokenUsage.totalCents) AS t_cents
  FROM u
), v AS (
  SELECT *, CASE WHEN t_ts IN ('VARCHAR', 'UBIGINT') AND regexp_full_match(ts, '{DIGITS.pattern}')
                 THEN CAST(ts AS BIGINT) END AS ms
  FROM t
)
SELECT ord, ts, email, model, kind, max_mode, rc, has_usage,
  {", ".join(f"coalesce({n}, 0) AS {n}" for n in _TOKENS)}, cents,
  CASE WHEN ms BETWEEN $first_ms AND $last_ms THEN DATE '1970-01-01' + CAST(ms // 86400000 AS INTEGER) END AS day,
  (ms BETWEEN $first_ms AND $last_ms
   AND t_email = 'VARCHAR' AND email <> '' AND NOT contains(email, chr(0))
   AND t_model = 'VARCHAR' AND NOT contains(model, chr(0))
   AND (t_kind IS NULL OR t_kind = 'VARCHAR') AND t_max = 'BOOLEAN'
   AND (t_rc IS NULL OR (t_rc IN {_NUMBER} AND isfinite(rc) AND abs(rc) < {EXACT}))
   AND (NOT has_usage OR ({" AND ".join(f"t_{n} = 'UBIGINT' AND {n} IS NOT NULL" for n in _TOKENS)}
        AND t_cents IN {_NUMBER} AND isfinite(cents) AND cents >= 0 AND cents < {EXACT}))) AS ok
FROM v
"""

_ROW = ("SELECT ts, email, model, kind, max_mode, rc, has_usage, "
        f"{', '.join(_TOKENS)}, cents, day FROM ev ORDER BY ord")


class ColumnarUsageEvents(EventSums):
    """A Cursor usage-events page every event of which the columnar pass vouched for (see the module's invariant)."""

    source = SOURCE

    def __init__(self, connection: Any, keys: np.ndarray[Any, Any], first: np.ndarray[Any, Any],
                 records: Callable[[], Iterator[Record | Rejection]]) -> None:
        self.connection = connection
        self.events = len(keys)
        self.repeats = int(len(keys) - first.sum())
        self.location = f"usageEvents[0] to the end ({self.events:,} events read at once)"
        self._keys = keys  # each event's ledger key, as 16-byte strings, in the page's order
        self._first = first  # whether each event is the first copy of its key in the page
        self._records = records

    def keys(self) -> Iterator[DayKeys]:
        """The first copies' day ordinals and keys, as arrays (storage.ledger)."""
        days = self.connection.execute(
            "SELECT datediff('day', DATE '0001-01-01', day) + 1 AS day FROM ev ORDER BY ord").fetchnumpy()["day"]
        keys = np.frombuffer(self._keys.tobytes(), dtype="<u8").reshape(-1, 2)  # the 16 bytes, NULs and all
        yield np.asarray(days, dtype=np.int64)[self._first], keys[self._first]

    def identities(self) -> set[IdentityRef]:
        return {IdentityRef.of("cursor", email) for email in self._emails()}

    def _emails(self) -> list[str]:
        return [email for (email,) in self.connection.execute("SELECT DISTINCT email FROM ev").fetchall()]

    def rollup_rows(self, ids: dict[tuple[str, str], int], excluded: set[bytes],
                    iso_days: bool) -> Iterator[list[list[Any]]]:
        """The sums as rollup rows, those of one rollup (two spellings of an email, of a model) added together."""
        from bot.ingest.feeds.cursor_events import provider_of

        models, providers = _Memo(_model), _Memo(provider_of)
        people = {email: ids[(ref.kind, ref.value)] for email in self._emails()
                  for ref in (IdentityRef.of("cursor", email),)}
        rows = ({"source": SOURCE, "identity_id": people[email], "day": day, "provider": providers[models[raw_model]],
                 "tool": "cursor", "model": models[raw_model], "billing": None, "work_ref": "",
                 "input_tokens": int(fresh), "output_tokens": int(out), "cache_read_tokens": int(cached),
                 "cache_write_tokens": int(written), "requests": int(requests),
                 "cost_usd": float(cost) if has_usage else None}
                for chunk in self._grouped(excluded)
                for email, day, raw_model, has_usage, fresh, out, written, cached, requests, cost in chunk)
        ordered = summed(rows, iso_days)
        for start in range(0, len(ordered), KEY_CHUNK):
            yield ordered[start : start + KEY_CHUNK]

    def _grouped(self, excluded: set[bytes]) -> Iterator[list[tuple[Any, ...]]]:
        """(email, day, model, has usage, the four token sums, events, cost) of the first copies the ledger did
        not hold, per email, day and model as written."""
        con = self.connection
        left = ~self._first
        if excluded:
            left |= np.isin(self._keys, np.array(sorted(excluded), dtype="S16"))
        gone = (np.flatnonzero(left) + 1).tolist()  # ords count from 1
        con.execute("CREATE OR REPLACE TEMP TABLE gone AS SELECT unnest(?::BIGINT[]) AS ord", [gone])
        unheld = "WHERE NOT EXISTS (SELECT 1 FROM gone g WHERE g.ord = ev.ord)" if gone else ""
        result = con.execute(f"""
            SELECT email, day, model, has_usage, {", ".join(f"sum({n})" for n in _TOKENS)}, count(*), sum(cents / 100)
            FROM ev {unheld} GROUP BY email, day, model, has_usage""")
        while rows := result.fetchmany(KEY_CHUNK):
            yield rows

    def records(self) -> Iterator[Record | Rejection]:
        return self._records()

    def close(self) -> None:
        self.connection.close()


def _model(raw: str) -> str:
    return normalise_model(raw) or "unknown"


def read(path: Path, window: tuple[date, date],
         records: Callable[[], Iterator[Record | Rejection]]) -> ColumnarUsageEvents | None:
    """The page read and vouched for by DuckDB, or None: too small to be worth it, too large for the parser, DuckDB
    missing, or an event (or the page) the columnar pass cannot vouch for; the caller then reads it record by record."""
    try:
        import duckdb
    except ImportError:
        return None
    size = os.path.getsize(path)
    if size < MIN_BYTES or size > limits.MAX_JSON_BYTES:
        return None
    data = path.read_bytes()
    span = events_span(data)
    if span is None:
        return None
    connection = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": tempfile.gettempdir()})
    keys = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            events = Path(folder) / "usageEvents.json"  # the list alone: DuckDB streams a top-level array
            events.write_bytes(memoryview(data)[span[0] : span[1]])
            del data
            keys = _checked(connection, events, window)
    except (duckdb.Error, OSError):
        pass  # DuckDB cannot read it, or no room for the list: record by record then
    finally:
        if keys is None:
            connection.close()
    return ColumnarUsageEvents(connection, keys, _firsts(keys), records) if keys is not None else None


def _checked(connection: Any, events: Path, window: tuple[date, date]) -> np.ndarray[Any, Any] | None:
    """The ledger keys of the events in `events` (the list alone), when every one passed the checks; else None."""
    first_ms, last_ms = _window_ms(window)
    quoted = "'" + str(events).replace("'", "''") + "'"  # a table function's path takes no parameter here
    connection.execute(_CHECKED.replace("$path", quoted).replace("$first_ms", str(first_ms))
                       .replace("$last_ms", str(last_ms)))
    found = connection.execute("SELECT count(*) FILTER (WHERE ok IS NOT TRUE), count(*) FROM ev").fetchone()
    if found is None or found[0] or not found[1]:
        return None
    return ledger_keys(connection.execute(_ROW))


def _window_ms(window: tuple[date, date]) -> tuple[int, int]:
    """The first and last epoch millisecond whose UTC day lies in the window."""
    first = datetime.combine(window[0], time.min, tzinfo=UTC)
    after = datetime.combine(window[1] + timedelta(days=1), time.min, tzinfo=UTC)
    return int(first.timestamp()) * 1000, int(after.timestamp()) * 1000 - 1


def _firsts(keys: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Whether each key is the first of its value in the page (a later copy is the same event sent again)."""
    first = np.zeros(len(keys), dtype=bool)
    first[np.unique(keys, return_index=True)[1]] = True
    return first


def ledger_keys(result: Any) -> np.ndarray[Any, Any]:
    """Each fetched event's ledger key, event_key(SOURCE, record_key) exactly as the record parser's, as 16-byte
    strings (numpy drops trailing NULs from one read back alone, never from the array's bytes)."""
    texts = _Memo(lambda text: "null" if text is None else encode_basestring_ascii(text))
    people, models = _Memo(lambda email: IdentityRef.of("cursor", email).value), _Memo(_model)
    found: list[bytes] = []
    while rows := result.fetchmany(KEY_CHUNK):
        digests = [hashlib.sha256(text.encode()).hexdigest()[:16] for text in fingerprints(rows, texts)]
        found += [event_key(SOURCE, f"{ts}|{people[email]}|{models[model]}|{digest}")
                  for (ts, email, model, *_), digest in zip(rows, digests, strict=True)]
    return np.array(found, dtype="S16")


def fingerprints(rows: list[tuple[Any, ...]], texts: dict[str | None, str]) -> list[str]:
    """The JSON text cursor_events._fingerprint hashes, for each fetched row: json.dumps(model_dump(mode='json'),
    sort_keys=True) spelled out (keys sorted, ', ' and ': ', ASCII escapes, floats as repr, ints as decimals);
    `texts` spells each string or None as json.dumps does."""
    return [
        f'{{"kind": {texts[kind]}, "maxMode": {"true" if max_mode else "false"}, "model": {texts[model]}, '
        f'"requestsCosts": {"null" if rc is None else repr(rc)}, "timestamp": {ts}, "tokenUsage": '
        + (f'{{"cacheReadTokens": {read}, "cacheWriteTokens": {written}, "inputTokens": {fresh}, '
           f'"outputTokens": {out}, "totalCents": {cents!r}}}' if has_usage else "null")
        + f', "userEmail": {texts[email]}}}'
        for ts, email, model, kind, max_mode, rc, has_usage, fresh, out, written, read, cents, _ in rows
    ]


class _Memo(dict[Any, str]):
    """A value's spelling, worked out once per distinct value (a page repeats a few people, models and kinds)."""

    def __init__(self, spell: Callable[[Any], str]) -> None:
        super().__init__()
        self.spell = spell

    def __missing__(self, value: Any) -> str:
        spelled = self[value] = self.spell(value)
        return spelled


def events_span(data: bytes) -> tuple[int, int] | None:
    """Where the `usageEvents` list lies in the page, when json.load reads the page as DuckDB reads the list: the
    list holds no trailing comma, no NaN or Infinity (in any spelling), no integer longer than Python converts and
    nests at most MAX_DEPTH deep, and json.load itself reads the rest of the page as one object whose only
    `usageEvents` key is that list's; else None."""
    if not _plain(data):
        return None
    brackets = _Brackets.of(data)
    span = brackets.events() if brackets is not None else None
    return span if span is not None and _rest_is_json(data, span) else None


def _plain(data: bytes) -> bool:
    """True when the page without its whitespace, strings included, holds no `,]`, `,}`, NaN or Infinity value and
    no run of digits longer than Python converts (a string holding ",]" or ":nan" only makes the pass refuse). It
    is looked at a piece at a time, each led by the end of the one before, so nothing is missed at a seam."""
    longest = sys.get_int_max_str_digits()
    seam = max(SEAM, longest + 1)
    tail = b""
    for start in range(0, len(data), SCAN_CHUNK):
        compact = tail + data[start : start + SCAN_CHUNK].translate(None, WHITESPACE)
        if b",]" in compact or b",}" in compact:
            return False
        lowered = compact.lower()
        if (b"nan" in lowered or b"inf" in lowered) and NON_FINITE.search(lowered):
            return False
        if longest and b"0" * (longest + 1) in compact.translate(TO_ZERO):
            return False
        tail = compact[-seam:]
    return True


def _rest_is_json(data: bytes, span: tuple[int, int]) -> bool:
    """True when json.load reads the page with the list at `span` cut out as one object, with `usageEvents` once."""
    made: list[tuple[dict[str, Any], list[tuple[str, Any]]]] = []

    def kept(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        made.append((dict(pairs), pairs))
        return made[-1][0]

    try:
        document = json.loads(data[: span[0]] + b"[]" + data[span[1] :], object_pairs_hook=kept)
    except (ValueError, RecursionError):
        return False
    if not made or document is not made[-1][0]:
        return False
    return [value for key, value in made[-1][1] if key == "usageEvents"] == [[]]


class _Brackets:
    """The page's brackets outside strings, in order, each with the nesting depth after it. Strings are found by
    their quotes alone, so a quote after a backslash (escaped, or closing a string that ends in one) makes `of`
    give up; so does a page whose quotes do not pair up."""

    def __init__(self, data: bytes, where: np.ndarray[Any, Any], opening: np.ndarray[Any, Any]) -> None:
        self.data = data
        self.where = where
        self.depth = np.cumsum(np.where(opening, 1, -1).astype(np.int8), dtype=np.int8)  # wraps only past MAX_DEPTH

    @classmethod
    def of(cls, data: bytes) -> _Brackets | None:
        inside = 0  # 1 while a string is open at the start of a piece
        places, opening = [], []
        raw = np.frombuffer(data, dtype=np.uint8)
        for start in range(0, len(data), SCAN_CHUNK):
            piece = np.frombuffer(data[start : start + SCAN_CHUNK].translate(MARKS), dtype=np.uint8)
            found = np.flatnonzero(piece)
            kinds = piece[found]
            quotes = kinds == 1
            before = found[quotes] + start - 1
            if (raw[before[before >= 0]] == ord("\\")).any():
                return None
            odd = np.bitwise_xor.accumulate(quotes.view(np.uint8)) ^ inside  # in a string (its quotes too)
            outside = ~quotes & (odd == 0)
            places.append(found[outside] + start)
            opening.append(kinds[outside] == 2)
            inside = int(odd[-1]) if len(odd) else inside
        if inside or not places:
            return None
        return cls(data, np.concatenate(places), np.concatenate(opening))

    def events(self) -> tuple[int, int] | None:
        """The span of the one list written as `"usageEvents": [` in the top object, when nothing nests too deep."""
        if not len(self.depth) or int(self.depth.max()) > MAX_DEPTH:
            return None
        spans: list[tuple[int, int]] = []
        at, seen = self.data.find(KEY), 0
        while at >= 0 and len(spans) < 2:
            seen += 1
            if seen > MAX_KEYS:
                return None
            after = COLON.match(self.data, at + len(KEY))
            outside = self.data.count(b'"', 0, at) % 2 == 0  # every quote delimits a string (see `of`)
            if after is not None and after.group(1) == b"[" and outside and self._depth_at(at) == 1:
                spans.append(self._list_at(after.start(1)))
            at = self.data.find(KEY, at + 1)
        return spans[0] if len(spans) == 1 else None

    def _depth_at(self, place: int) -> int:
        before = int(np.searchsorted(self.where, place))
        return int(self.depth[before - 1]) if before else 0

    def _list_at(self, opening: int) -> tuple[int, int]:
        """The span of the list whose opening bracket is at `opening`, to its closing bracket."""
        token = int(np.searchsorted(self.where, opening))
        closing = self.depth[token + 1 :] == 1
        return opening, int(self.where[token + 1 + int(np.argmax(closing))]) + 1
