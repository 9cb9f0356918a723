"""Feed adapters, one module each, and format detection from content (never from file names)."""

from __future__ import annotations

from bot.errors import FeedError
from bot.feeds.base import Feed
from bot.feeds.claude_code import ClaudeCodeAnalyticsFeed
from bot.feeds.github_pulls import GitHubPullsFeed

FEEDS: dict[str, Feed] = {feed.name: feed for feed in (ClaudeCodeAnalyticsFeed(), GitHubPullsFeed())}


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
