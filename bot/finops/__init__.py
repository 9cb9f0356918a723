"""FinOps views: list-price spend reconciled against what the vendors billed."""
