"""Request parameters as strings, read the way both venues read them: a blank value is an absent one,
integers are 64-bit and written plainly, flags are ``true``/``false`` in any case. Each dialect
subclasses :class:`Params` with its own refusals (Binance ``-1102``/``-1100``, BingX ``80014`` ...)
and its own number and symbol rules."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any, Self

_INT_RE = re.compile(r"^-?[0-9]{1,19}$")
INT64_MAX = 2**63 - 1  # LONG / INT parameters


def to_wire_str(value: object) -> str:
    """A JSON value as the string a form field would carry (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Params(ABC):
    """REST form values, or JSON values (WS API, BingX JSON bodies) stringified."""

    def __init__(self, data: dict[str, str]) -> None:
        self.data = data

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Self:
        return cls({k: to_wire_str(v) for k, v in obj.items() if v is not None})

    # --- the dialect's refusals ------------------------------------------------------------------
    @abstractmethod
    def missing(self, name: str) -> Exception:
        """A mandatory parameter was not sent (or sent blank)."""

    @abstractmethod
    def not_integer(self, name: str) -> Exception: ...

    @abstractmethod
    def not_flag(self, name: str) -> Exception: ...

    # --- reading ---------------------------------------------------------------------------------
    def get(self, name: str) -> str | None:
        value = self.data.get(name)
        return value if value not in (None, "") else None

    def req(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise self.missing(name)
        return value

    def integer(self, name: str, required: bool = False) -> int | None:
        raw = self.req(name) if required else self.get(name)
        if raw is None:
            return None
        # A regex, not just int(): Python also reads " 1", "1_000" and 5000-digit numbers.
        if not _INT_RE.match(raw) or abs(int(raw)) > INT64_MAX:
            raise self.not_integer(name)
        return int(raw)

    def flag(self, name: str) -> bool | None:
        raw = self.get(name)
        if raw is None:
            return None
        low = raw.lower()
        if low not in ("true", "false"):
            raise self.not_flag(name)
        return low == "true"
