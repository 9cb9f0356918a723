"""Feed adapters, one module each, and format detection from content (never from file names).

Every module in this package that defines `FEED` (an adapter deriving from `bot.ingest.feeds.base.BaseFeed`,
so it has every member of the `Feed` protocol) is registered. Detection asks feeds in order of their
`priority` (higher first, default 0), so a feed whose signature is a superset of another's can claim
the file first.
"""

from __future__ import annotations

import importlib
import pkgutil

from bot.errors import FeedError
from bot.ingest.feeds.base import BaseFeed, Feed


def _discover() -> dict[str, Feed]:
    found: list[Feed] = []
    for module in pkgutil.iter_modules(__path__):
        feed = vars(importlib.import_module(f"{__name__}.{module.name}")).get("FEED")
        if feed is not None:
            if not isinstance(feed, BaseFeed):
                raise TypeError(f"{__name__}.{module.name}.FEED must derive from BaseFeed")
            found.append(feed)
    found.sort(key=lambda f: (-f.priority, f.name))
    return {feed.name: feed for feed in found}


FEEDS: dict[str, Feed] = _discover()


def detect(head: str, forced: str | None = None) -> Feed:
    """The feed a file is in, from its first characters (never from its name)."""
    if forced is not None:
        try:
            return FEEDS[forced]
        except KeyError:
            raise FeedError(f"unknown source {forced!r} (known: {', '.join(sorted(FEEDS))})") from None
    for feed in FEEDS.values():
        if feed.sniff(head):
            return feed
    raise FeedError(f"not a format tokenworth knows (known: {', '.join(sorted(FEEDS))}); use --source to force one")
