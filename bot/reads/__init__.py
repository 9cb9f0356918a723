"""The read side: SQL that returns the core's facts, and the person-week read model built from them."""
