"""Decoding JSON that arrives from clients (request bodies, parameters holding JSON, websocket
frames) so that *any* malformed input is one exception the dialects turn into their venue's error
answer.

``msgspec`` raises ``DecodeError`` for bad syntax but ``RecursionError`` for deeply nested input;
a handler that only catches the former lets nested garbage escape as a 500 (REST) or tear a
websocket down. Every client-supplied JSON goes through :func:`decode`.
"""

from __future__ import annotations

from typing import Any

import msgspec


class MalformedJson(ValueError):
    """The input is not JSON the simulator will read (bad syntax, too deep, wrong type)."""


def decode(raw: bytes | str, typ: type[Any] | None = None) -> Any:
    data = raw.encode("utf-8", errors="replace") if isinstance(raw, str) else raw
    try:
        if typ is None:
            return msgspec.json.decode(data)
        return msgspec.json.decode(data, type=typ)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise MalformedJson(str(exc)) from None
