"""The log of `tokenworth serve`: one record is one line, and no record can pass for another.

Whatever a record carries (a header, a command's text, an exception's message) may come from a
stranger. Invariant: control characters in a message are escaped (a newline becomes `\\n`), a
message is cut at MAX_MESSAGE characters, and every line a traceback adds is indented with
CONTINUATION, so a forged "ERROR ..." line can never start a line of its own.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MAX_MESSAGE = 2000
CONTINUATION = "    | "
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape(text: str) -> str:
    """The text on one line: every control character as a visible escape."""
    return _CONTROL.sub(_visible, text)


def _visible(match: re.Match[str]) -> str:
    char = match[0]
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def _one_line(message: str) -> str:
    if len(message) > MAX_MESSAGE:
        message = f"{message[:MAX_MESSAGE]}... ({len(message) - MAX_MESSAGE} more characters)"
    return escape(message)


class SafeFormatter(logging.Formatter):
    """A Formatter whose output can be split into records by line starts alone."""

    def format(self, record: logging.LogRecord) -> str:
        original = record.msg, record.args
        try:
            record.msg, record.args = _one_line(record.getMessage()), None
        except (TypeError, ValueError):  # a message whose arguments do not fit it: log it anyway
            record.msg, record.args = _one_line(f"{record.msg!r} % {record.args!r}"), None
        try:
            text = super().format(record)
        finally:
            record.msg, record.args = original
        first, *rest = text.split("\n")
        return "\n".join([first, *(CONTINUATION + escape(line) for line in rest)])


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """The root logger writes through SafeFormatter, replacing any handler configured before; warnings
    and exceptions nobody caught (in any thread) go through it too instead of straight to stderr."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(SafeFormatter(FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.captureWarnings(True)
    threading.excepthook = _log_uncaught


def _log_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "?"
    error = (args.exc_type, args.exc_value, args.exc_traceback)
    logging.getLogger("tokenworth").error("uncaught exception in thread %s", name, exc_info=error)  # type: ignore[arg-type]
