"""Ingest: feed adapters (`feeds/`), vendor pulls (`pull/`), webhooks, and the one store they all use."""
