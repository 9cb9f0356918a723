"""Streaming JSON-lines: one JSON value per line, read line by line so a file of any size stays flat in memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.errors import FeedError
from bot.ingest.feeds.base import Rejection


def lines(path: Path) -> Iterator[tuple[str, Any] | Rejection]:
    """(`line N`, value) for every non-blank line; a line that is not JSON is a Rejection at `line N`."""
    for where, raw in raw_lines(path):
        yield decode(where, raw)


def raw_lines(path: Path) -> Iterator[tuple[str, bytes]]:
    """(`line N`, bytes) for every non-blank line, undecoded: for parsers that validate JSON bytes directly."""
    for number, raw in enumerate(_open(path), start=1):
        if raw.strip():
            yield f"line {number}", raw


def decode(where: str, raw: bytes) -> tuple[str, Any] | Rejection:
    try:
        return where, json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return Rejection(where, f"not UTF-8 text ({exc.reason})")
    except json.JSONDecodeError as exc:
        return Rejection(where, f"not valid JSON at column {exc.colno}: {exc.msg}")


def is_json_lines(path: Path) -> bool:
    """True when one of the first two non-blank lines is a complete JSON object on its own.

    A pretty-printed document starts with lines like `{` or `"data": [` that never parse alone;
    checking two lines keeps a JSON-lines file whose first line is broken in JSON-lines mode.
    """
    seen = 0
    for raw in _open(path):
        if not raw.strip():
            continue
        try:
            if isinstance(json.loads(raw.decode("utf-8")), dict):
                return True
        except (UnicodeDecodeError, json.JSONDecodeError):
            pass
        seen += 1
        if seen == 2:
            return False
    return True  # empty: nothing to read either way


def utc_day_of_ns(nanos: int) -> tuple[date, datetime]:
    moment = datetime.fromtimestamp(nanos // 1_000_000_000, tz=UTC)
    moment = moment.replace(microsecond=nanos % 1_000_000_000 // 1000)
    return moment.date(), moment


def _open(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as handle:
            yield from handle
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read ({exc.strerror})") from None
