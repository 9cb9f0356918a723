"""Streaming CSV shared by the CSV feeds: rows with the line they start on, never the whole file in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from bot.errors import FeedError

Cells = dict[str, str]


def header_of(head: str, lowercase: bool = False) -> set[str]:
    """The column names on the first line of `head` (for sniffing), or nothing when it is not CSV-like."""
    first = head.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    try:
        names = next(csv.reader([first]), [])
    except csv.Error:
        return set()
    return {name.strip().lower() if lowercase else name.strip() for name in names}


def read_rows(path: Path, required: Iterable[str], lowercase: bool = False) -> Iterator[tuple[int, Cells | str]]:
    """(line, cells) per row, or (line, reason) for a row that cannot be read.

    Raises FeedError before the first row when the file has no header or the header lacks a
    required column (`required` entries may be alternatives written as "a|b"). With `lowercase`,
    column names are matched and returned in lower case.
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise FeedError(f"{path}: cannot be read ({exc.strerror})") from None
    with handle:
        undecodable: set[int] = set()
        reader = csv.DictReader(_lines(handle, undecodable))
        header = _header(path, reader, lowercase)
        _require(path, header, required)
        yield from _rows(reader, undecodable)


def _header(path: Path, reader: csv.DictReader[str], lowercase: bool) -> list[str]:
    try:
        names = reader.fieldnames
    except csv.Error as exc:
        raise FeedError(f"{path}: line 1: not a CSV header ({exc})") from None
    if not names:
        raise FeedError(f"{path}: empty file, expected a CSV header line")
    header = [name.strip().lower() if lowercase else name.strip() for name in names]
    reader.fieldnames = header
    return header


def _require(path: Path, header: list[str], required: Iterable[str]) -> None:
    missing = [need for need in required if not any(option in header for option in need.split("|"))]
    if missing:
        shown = ", ".join(need.replace("|", " or ") for need in missing)
        raise FeedError(f"{path}: the header lacks required column(s): {shown}")


def _rows(reader: csv.DictReader[str], undecodable: set[int]) -> Iterator[tuple[int, Cells | str]]:
    start = reader.line_num + 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader cannot resynchronise after this: stop here
            yield start, f"not readable as CSV ({exc}); the rest of the file was not read"
            return
        end = reader.line_num
        if undecodable.intersection(range(start, end + 1)):
            yield start, "not UTF-8 text"
        elif None in row:
            columns = len(reader.fieldnames or [])
            yield start, f"{columns + len(row[None])} fields, the header has {columns}"
        else:
            yield start, {name: (value or "").strip() for name, value in row.items()}
        start = end + 1


def _lines(handle: BinaryIO, undecodable: set[int]) -> Iterator[str]:
    """Lines as the csv module expects them (ends kept; a lone CR ends a line too), decoded one by one
    so a stray non-UTF-8 byte costs its row, not the file."""
    number = 0
    for chunk in handle:
        for raw in chunk.splitlines(keepends=True):
            number += 1
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                undecodable.add(number)
                yield raw.decode("utf-8", errors="replace")
