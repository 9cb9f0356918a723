"""The pure core: weeks, prices, metrics, counted-once attribution, person signals, privacy rules.

Nothing here touches a database, a file, the network or the clock: callers pass facts in and get
values out, so every rule can be tested with plain data.
"""
