"""Binance listen keys and the routing of user-data events to websockets.

One listen key per account, as on Binance: ``POST /fapi/v1/listenKey`` returns the account's
active key (extending it) or creates one; ``PUT`` extends; ``DELETE`` invalidates it and closes
its sockets. A key whose lifetime passes without a keepalive (or the expire fault) sends
``listenKeyExpired`` on its sockets, which stay open but carry nothing more for that key.

The registry and the routing (with the user-event faults) are venue-neutral and live in
``adapters.sim.listen_keys`` and ``adapters.sim.user_routing``; this module fixes Binance's policy
and framing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from adapters.sim.binance import errors, wire
from adapters.sim.faults import Faults, now_ms
from adapters.sim.listen_keys import (
    STATUS_ACTIVE,
    STATUS_DELETED,
    STATUS_EXPIRED,
    ListenKey,
    alphanumeric_64,
)
from adapters.sim.listen_keys import ListenKeys as _SharedListenKeys
from adapters.sim.user_routing import UserSocketInfo
from adapters.sim.user_routing import UserStreams as _SharedUserStreams

__all__ = [
    "STATUS_ACTIVE",
    "STATUS_DELETED",
    "STATUS_EXPIRED",
    "ListenKey",
    "ListenKeys",
    "UserSocketInfo",
    "UserStreams",
    "render_user_frame",
]


class ListenKeys(_SharedListenKeys):
    """Binance policy: one active key per account, 64 alphanumeric characters, -1125 when missing."""

    def __init__(self, ttl: float, *, seed: int, now_ms: Callable[[], int] = now_ms) -> None:
        super().__init__(
            ttl,
            seed=seed,
            now_ms=now_ms,
            missing=errors.listen_key_missing,
            reuse=True,
            render=alphanumeric_64,
        )


def render_user_frame(payload: dict[str, Any], key: str, combined: bool) -> str:
    """Raw endpoints send the bare event; combined ones wrap it as ``{"stream": key, "data": ...}``."""
    if combined:
        return msgspec.json.encode({"stream": key, "data": payload}).decode()
    return msgspec.json.encode(payload).decode()


class UserStreams(_SharedUserStreams):
    def __init__(self, keys: ListenKeys, faults: Faults) -> None:
        super().__init__(keys, faults, render=render_user_frame, expired=wire.listen_key_expired)
