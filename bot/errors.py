"""The small exception hierarchy; the CLI, Slack and Teams adapters translate it at the edge."""


class TokenworthError(Exception):
    """Base of every error tokenworth raises on purpose."""

    exit_code = 2


class SettingsError(TokenworthError):
    """An environment variable is missing or invalid."""


class ConfigError(TokenworthError):
    """The org config file is missing or invalid; the message names file and key path."""


class FeedError(TokenworthError):
    """A whole feed file is unusable (not a single bad record, which is rejected and kept)."""


class UnknownPerson(TokenworthError):
    """No person in the directory matches the given identity."""


class UsageError(TokenworthError):
    """The command was invoked with bad arguments."""


class SchemaBehind(TokenworthError):
    """The database schema is older than this version reads: `tokenworth db upgrade` brings it forward."""
