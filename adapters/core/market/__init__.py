"""Market data: per-instrument conversion context, construction of quotes, trades, bars and book deltas
from decimal strings, the sequenced book synchroniser and its glue, the instrument-provider flow and the
venue-neutral market-data client both venues build on.
"""
