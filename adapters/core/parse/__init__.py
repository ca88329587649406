"""The boundary between venue bytes and NautilusTrader values: range checks before any value reaches the
Rust core, strict decimal strings to Price/Quantity/Money, bounded gzip inflation, venue enum lookups,
instrument ids and precision resolution. Pure: no I/O.
"""
