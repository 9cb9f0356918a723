"""tokenworth: outcome-weighted AI usage digests instead of token leaderboards."""

__version__ = "0.1.0"
