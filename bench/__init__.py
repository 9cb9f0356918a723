"""`make bench`: tokenworth measured at organisation scale (see bench/run.py)."""
