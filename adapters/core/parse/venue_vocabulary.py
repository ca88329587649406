"""Lookups in a venue's enum tables, with a once-per-value warning for values the table does not know.

The tables themselves (venue string -> NautilusTrader enum) are per venue; what to do with an unknown
value (warn once, fall back) is not, and lives here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TypeVar

V = TypeVar("V")


class VenueVocabulary:
    """Warns once per ``(kind, value)`` on ``logger`` (the venue's parsing logger, so the source is kept)."""

    def __init__(self, venue_name: str, logger: logging.Logger) -> None:
        self._venue_name = venue_name
        self._log = logger
        self._warned: set[tuple[str, str]] = set()

    def warn_unknown(self, kind: str, value: str) -> None:
        key = (kind, value)
        if key not in self._warned:
            self._warned.add(key)
            self._log.warning("Unknown %s %s %r; using fallback mapping", self._venue_name, kind, value)

    def lookup(self, table: Mapping[str, V], key: str, kind: str, fallback: V, shown: str | None = None) -> V:
        """``table[key]``, else ``fallback`` after a warning naming ``shown`` (default: ``key``)."""
        value = table.get(key)
        if value is None:
            self.warn_unknown(kind, key if shown is None else shown)
            return fallback
        return value
