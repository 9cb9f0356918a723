"""Pull usage and outcome feeds from the vendors' APIs, page by page, into the ordinary file ingest."""

from bot.ingest.pull.http import PullError
from bot.ingest.pull.run import VENDORS, PullResult, Sink, pull, pull_all_configured

__all__ = ["VENDORS", "PullError", "PullResult", "Sink", "pull", "pull_all_configured"]
