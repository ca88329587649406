"""Venue-neutral routing of user-data events to websockets bound to listen keys, with the user-event
faults (duplicate, reorder, drop) applied in one place for every dialect.

A dialect supplies ``render(payload, key, combined) -> str | bytes`` (its framing: Binance wraps
combined streams, BingX gzips) and ``expired(key, now_ms) -> payload`` (its listenKeyExpired).

Faults (``Faults``): ``duplicate`` sends each event twice; ``reorder`` holds an event back and
delivers it after the next one (housekeeping flushes a lone held event); ``drop_ratio`` loses that
fraction of events for good — deterministically, evenly spread (0.25 drops every 4th event), so
tests can tell exactly which ones. One engine event's frames (e.g. TRADE_LITE then
ORDER_TRADE_UPDATE) are one unit for all three.

A socket may bind a key with an event filter (Binance's ``/private`` route, ``events=A/B``): it then
receives only the events whose type (``"e"``) is listed, ``listenKeyExpired`` included; a key bound
without a filter receives everything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.sim.faults import Faults, LiveConnection
from adapters.sim.listen_keys import ListenKey, ListenKeys, abbreviate

log = logging.getLogger(__name__)

Payload = dict[str, Any]
Render = Callable[[Payload, str, bool], str | bytes]
ExpiredPayload = Callable[[str, int], Payload]


@dataclass(slots=True)
class UserSocketInfo:
    combined: bool
    keys: set[str] = field(default_factory=set)
    # key -> the event types this socket receives for it (absent: every event)
    events: dict[str, frozenset[str]] = field(default_factory=dict)


class UserStreams:
    """Delivers rendered user events to every socket bound to a live key of the account."""

    def __init__(self, keys: ListenKeys, faults: Faults, *, render: Render, expired: ExpiredPayload) -> None:
        self.keys = keys
        self._faults = faults
        self._render = render
        self._expired = expired
        self._sockets: dict[LiveConnection, UserSocketInfo] = {}
        # reorder fault: per account, the event (list of frames) held back to swap with the next
        self._held: dict[str, list[Payload]] = {}

    # --- socket binding -----------------------------------------------------------------------
    def attach(self, conn: LiveConnection, combined: bool) -> UserSocketInfo:
        info = self._sockets.get(conn)
        if info is None:
            info = UserSocketInfo(combined)
            self._sockets[conn] = info
        return info

    def bind(
        self, conn: LiveConnection, lk: ListenKey, combined: bool, events: frozenset[str] | None = None
    ) -> None:
        """Deliver ``lk``'s events on ``conn``: all of them, or only the types in ``events``."""
        info = self.attach(conn, combined)
        info.keys.add(lk.key)
        if events is None:
            info.events.pop(lk.key, None)
        else:
            info.events[lk.key] = events
        lk.sockets.add(conn)

    def unbind(self, conn: LiveConnection, key: str) -> None:
        info = self._sockets.get(conn)
        if info is not None:
            info.keys.discard(key)
            info.events.pop(key, None)
        lk = self.keys.get(key)
        if lk is not None:
            lk.sockets.discard(conn)

    def detach(self, conn: LiveConnection) -> None:
        info = self._sockets.pop(conn, None)
        if info is None:
            return
        for key in info.keys:
            lk = self.keys.get(key)
            if lk is not None:
                lk.sockets.discard(conn)

    def bound_keys(self, conn: LiveConnection) -> list[str]:
        info = self._sockets.get(conn)
        return sorted(info.keys) if info else []

    # --- delivery -----------------------------------------------------------------------------
    def _send(self, lk: ListenKey, payload: Payload) -> None:
        rendered: dict[bool, str | bytes] = {}
        for conn in list(lk.sockets):
            info = self._sockets.get(conn)
            if info is None:
                continue
            allowed = info.events.get(lk.key)
            if allowed is not None and payload.get("e") not in allowed:
                continue
            frame = rendered.get(info.combined)
            if frame is None:
                frame = rendered[info.combined] = self._render(payload, lk.key, info.combined)
            conn.send(frame)

    def _deliver(self, account_id: str, frames: list[Payload]) -> None:
        for lk in self.keys.active_keys_for(account_id):
            if lk.active:
                for frame in frames:
                    self._send(lk, frame)

    def publish(self, account_id: str, frames: list[Payload]) -> None:
        """One engine event's frames, kept together."""
        if not frames:
            return
        faults = self._faults
        if faults.drop_user_event():
            return
        if faults.reorder_user_events:
            held = self._held.pop(account_id, None)
            if held is None:
                self._held[account_id] = frames
                return
            faults.counters["user_events_reordered"] += 1
            self._deliver_maybe_dup(account_id, frames)
            self._deliver_maybe_dup(account_id, held)
            return
        self.flush_held(account_id)
        self._deliver_maybe_dup(account_id, frames)

    def publish_to_key(self, lk: ListenKey, frames: list[Payload]) -> None:
        """Frames for one key only (e.g. a snapshot pushed when a socket connects); no faults."""
        if lk.active:
            for frame in frames:
                self._send(lk, frame)

    def _deliver_maybe_dup(self, account_id: str, frames: list[Payload]) -> None:
        self._deliver(account_id, frames)
        if self._faults.duplicate_user_events:
            self._faults.counters["user_events_duplicated"] += 1
            self._deliver(account_id, frames)

    def flush_held(self, account_id: str | None = None) -> None:
        """Deliver an event held back for reordering that found no partner (housekeeping)."""
        accounts = [account_id] if account_id is not None else list(self._held)
        for acct in accounts:
            held = self._held.pop(acct, None)
            if held is not None:
                self._deliver_maybe_dup(acct, held)

    # --- expiry -------------------------------------------------------------------------------
    def expire(self, lk: ListenKey, now_ms: int) -> None:
        """listenKeyExpired on its sockets, then nothing more for that key (sockets stay open)."""
        self.flush_held(lk.account_id)
        self.keys.expire(lk)
        self._send(lk, self._expired(lk.key, now_ms))
        for conn in list(lk.sockets):
            self.unbind(conn, lk.key)
        log.info("listen key %s expired", abbreviate(lk.key))

    def expire_all(self, now_ms: int) -> int:
        keys = self.keys.active()
        for lk in keys:
            self.expire(lk, now_ms)
        return len(keys)

    def expire_due(self, now_ms: int) -> int:
        due = self.keys.due()
        for lk in due:
            self.expire(lk, now_ms)
        return len(due)

    def deleted(self, lk: ListenKey) -> None:
        """DELETE closes the key's streams (clean close, the client asked for it)."""
        for conn in list(lk.sockets):
            self.unbind(conn, lk.key)
            conn.request_close(1000, "listenKey deleted")
