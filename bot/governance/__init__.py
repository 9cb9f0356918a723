"""Governance: the access log, retention and erasure, and the DPIA pack built from the running config."""
