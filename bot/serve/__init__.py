"""`tokenworth serve`: the long-running process (Slack or Teams front end, scheduler)."""
