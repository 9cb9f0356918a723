"""Configuration: the org config (YAML, validated) and the process settings (environment)."""
