"""Self-service answers (`me`, `trend`, `preview`, ...), once for every platform, as typed results."""
