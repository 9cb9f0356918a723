"""The weekly outcome-weighted digest: data (pure), Block Kit, charts, plain text."""

from bot.digest.build import Digest, WeekView, build_digest, load_digest

__all__ = ["Digest", "WeekView", "build_digest", "load_digest"]
