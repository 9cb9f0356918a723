"""Governance: the access log, retention and erasure, and the DPIA pack built from the running config."""

NOT_FOR_EVALUATION = (
    "tokenworth's figures must not be used for individual performance evaluation or employment decisions."
)
