"""The Slack adapter: a thin layer between Slack and the core."""
