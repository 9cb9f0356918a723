"""The demo: a deterministic sample org in the vendors' own formats, run end to end."""
