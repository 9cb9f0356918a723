"""Streaming JSON-lines: one JSON value per line, read line by line so a file of any size stays flat in memory.

A line longer than MAX_JSON_BYTES (bot.ingest.limits) is never held whole: it is rejected by its line
number, skipped in chunks, and reading goes on with the next line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from bot.errors import FeedError
from bot.ingest import limits
from bot.ingest.feeds.base import Rejection

SKIP_CHUNK = 1024 * 1024  # how much of an over-long line is read at a time while skipping it


@dataclass(frozen=True)
class TooLong:
    """A line over the limit, skipped unread: only its size is known."""

    size: int
    limit: int

    def reason(self) -> str:
        return f"a JSON line of {self.size:,} bytes is over the {self.limit:,}-byte limit; it was not read"


def lines(path: Path) -> Iterator[tuple[str, Any] | Rejection]:
    """(`line N`, value) for every non-blank line; a line that is not JSON is a Rejection at `line N`."""
    for item in raw_lines(path):
        yield item if isinstance(item, Rejection) else decode(*item)


def raw_lines(path: Path) -> Iterator[tuple[str, bytes] | Rejection]:
    """(`line N`, bytes) for every non-blank line, undecoded: for parsers that validate JSON bytes directly;
    a line over the limit is a Rejection at `line N`."""
    for number, raw in enumerate(_open(path), start=1):
        if isinstance(raw, TooLong):
            yield Rejection(f"line {number}", raw.reason())
        elif raw.strip():
            yield f"line {number}", raw


def decode(where: str, raw: bytes) -> tuple[str, Any] | Rejection:
    try:
        return where, json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Rejection(where, f"not UTF-8 text ({exc.reason})")
    except json.JSONDecodeError as exc:
        return Rejection(where, f"not valid JSON at column {exc.colno}: {exc.msg}")
    except RecursionError:
        return Rejection(where, "JSON nested too deeply to read")
    except ValueError as exc:  # a number of more than 4,300 digits
        return Rejection(where, f"not readable JSON ({exc})")


def is_json_lines(path: Path) -> bool:
    """True when one of the first two non-blank lines is a complete JSON object on its own.

    A pretty-printed document starts with lines like `{` or `"data": [` that never parse alone;
    checking two lines keeps a JSON-lines file whose first line is broken in JSON-lines mode.
    """
    seen = 0
    for raw in _open(path):
        if isinstance(raw, TooLong):
            return True  # a document is refused whole; a line over the limit is refused alone
        if not raw.strip():
            continue
        try:
            if isinstance(json.loads(raw.decode("utf-8")), dict):
                return True
        except (ValueError, RecursionError):  # not UTF-8, not JSON, or not readable JSON
            pass
        seen += 1
        if seen == 2:
            return False
    return True  # empty: nothing to read either way


def utc_day_of_ns(nanos: int) -> tuple[date, datetime]:
    moment = datetime.fromtimestamp(nanos // 1_000_000_000, tz=UTC)
    moment = moment.replace(microsecond=nanos % 1_000_000_000 // 1000)
    return moment.date(), moment


def _open(path: Path) -> Iterator[bytes | TooLong]:
    try:
        with path.open("rb") as handle:
            yield from _bounded(handle, limits.MAX_JSON_BYTES)
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read ({exc.strerror})") from None


def _bounded(handle: BinaryIO, limit: int) -> Iterator[bytes | TooLong]:
    """Each line (with its newline), or TooLong for one over `limit` bytes: never more than `limit` held at once."""
    while raw := handle.readline(limit + 1):
        if len(raw) <= limit or (len(raw) == limit + 1 and raw.endswith(b"\n")):
            yield raw
            continue
        size = len(raw)
        while not raw.endswith(b"\n") and (raw := handle.readline(min(limit, SKIP_CHUNK))):
            size += len(raw)
        yield TooLong(size - (1 if raw.endswith(b"\n") else 0), limit)
