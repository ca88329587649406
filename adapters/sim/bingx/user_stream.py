"""BingX listen keys and user-data delivery, on the shared registry and router.

Policy (the official BingX swap docs, "Listen Key"): ``POST /openApi/user/auth/userDataStream``
mints a **new** 64-hex key each time (earlier keys stay valid until they expire), valid 60 minutes;
``PUT ?listenKey=`` makes it valid 60 minutes from now; ``DELETE`` invalidates it and closes its
sockets; an unknown, expired or deleted key answers HTTP 404. Expiry pushes ``listenKeyExpired`` on
the key's sockets, which stay open and silent. Every frame is gzip-compressed JSON in a binary
message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from adapters.sim.bingx import wire
from adapters.sim.faults import Faults
from adapters.sim.listen_keys import ListenKeys, hex_64
from adapters.sim.user_routing import UserStreams


class ListenKeyNotFound(Exception):
    """Raised by the registry for an unknown key; the REST layer answers 404."""


def bingx_listen_keys(ttl: float, *, seed: int, now_ms: Callable[[], int]) -> ListenKeys:
    return ListenKeys(
        ttl,
        seed=seed,
        now_ms=now_ms,
        missing=ListenKeyNotFound,
        reuse=False,
        render=hex_64,
        namespace="sim-bingx-listen-key",
    )


def render_user_frame(payload: dict[str, Any], key: str, combined: bool) -> bytes:
    return wire.gz(payload)


def bingx_user_streams(keys: ListenKeys, faults: Faults) -> UserStreams:
    return UserStreams(keys, faults, render=render_user_frame, expired=wire.listen_key_expired)
