"""Binance listen keys and the routing of user-data events to websockets.

One listen key per account, as on Binance: ``POST /fapi/v1/listenKey`` returns the account's
active key (extending it) or creates one; ``PUT`` extends; ``DELETE`` invalidates it and closes
its sockets. A key whose lifetime passes without a keepalive (or the expire fault) sends
``listenKeyExpired`` on its sockets, which stay open but carry nothing more for that key.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec

from adapters.sim.binance import errors, wire
from adapters.sim.binance.signing import abbreviate
from adapters.sim.faults import Faults, LiveConnection

log = logging.getLogger(__name__)

_ALPHABET = string.ascii_letters + string.digits
STATUS_ACTIVE = "active"
STATUS_EXPIRED = "expired"
STATUS_DELETED = "deleted"


@dataclass(slots=True)
class ListenKey:
    key: str
    account_id: str
    created_ms: int
    expires_at: float  # event-loop time
    expires_ms: int
    status: str = STATUS_ACTIVE
    sockets: set[LiveConnection] = field(default_factory=set)

    @property
    def active(self) -> bool:
        return self.status == STATUS_ACTIVE


class ListenKeys:
    def __init__(self, ttl: float, *, seed: int, now_ms: Callable[[], int]) -> None:
        self.ttl = ttl
        self._seed = seed
        self._counter = itertools.count(1)
        self._now_ms = now_ms
        self._keys: dict[str, ListenKey] = {}
        self._active_by_account: dict[str, str] = {}

    def _new_key_string(self) -> str:
        # Deterministic per seed (64 chars like Binance's), unique per creation.
        digest = hashlib.sha512(f"sim-listen-key:{self._seed}:{next(self._counter)}".encode()).digest()
        return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest)

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    def _extend(self, lk: ListenKey) -> None:
        lk.expires_at = self._loop_time() + self.ttl
        lk.expires_ms = self._now_ms() + int(self.ttl * 1000)

    def create_or_extend(self, account_id: str) -> ListenKey:
        current = self._active_by_account.get(account_id)
        if current is not None:
            lk = self._keys[current]
            if lk.active:
                self._extend(lk)
                return lk
        lk = ListenKey(self._new_key_string(), account_id, self._now_ms(), 0.0, 0)
        self._extend(lk)
        self._keys[lk.key] = lk
        self._active_by_account[account_id] = lk.key
        log.info("listen key %s created for %s", abbreviate(lk.key), account_id)
        return lk

    def _owned_active(self, account_id: str, key: str | None) -> ListenKey:
        if key is None:
            key = self._active_by_account.get(account_id)
        lk = self._keys.get(key) if key else None
        if lk is None or not lk.active or lk.account_id != account_id:
            raise errors.listen_key_missing()
        return lk

    def keepalive(self, account_id: str, key: str | None) -> ListenKey:
        lk = self._owned_active(account_id, key)
        self._extend(lk)
        return lk

    def delete(self, account_id: str, key: str | None) -> ListenKey:
        lk = self._owned_active(account_id, key)
        lk.status = STATUS_DELETED
        self._active_by_account.pop(account_id, None)
        return lk

    def get_active(self, key: str) -> ListenKey | None:
        lk = self._keys.get(key)
        return lk if lk is not None and lk.active else None

    def get(self, key: str) -> ListenKey | None:
        return self._keys.get(key)

    def expire(self, lk: ListenKey) -> None:
        lk.status = STATUS_EXPIRED
        if self._active_by_account.get(lk.account_id) == lk.key:
            del self._active_by_account[lk.account_id]

    def due(self) -> list[ListenKey]:
        now = self._loop_time()
        return [lk for lk in self._keys.values() if lk.active and lk.expires_at <= now]

    def active(self) -> list[ListenKey]:
        return [lk for lk in self._keys.values() if lk.active]

    def active_for(self, account_id: str) -> ListenKey | None:
        key = self._active_by_account.get(account_id)
        return self._keys.get(key) if key else None

    def snapshot(self) -> list[dict[str, Any]]:
        now = self._loop_time()
        return [
            {
                "key": abbreviate(lk.key),
                "account": lk.account_id,
                "status": lk.status,
                "created_ms": lk.created_ms,
                "expires_ms": lk.expires_ms,
                "expires_in_s": round(lk.expires_at - now, 3) if lk.active else None,
                "sockets": len(lk.sockets),
            }
            for lk in self._keys.values()
        ]


@dataclass(slots=True)
class UserSocketInfo:
    combined: bool
    keys: set[str] = field(default_factory=set)


class UserStreams:
    """Delivers rendered user events to every socket bound to a live key of the account."""

    def __init__(self, keys: ListenKeys, faults: Faults) -> None:
        self.keys = keys
        self._faults = faults
        self._sockets: dict[LiveConnection, UserSocketInfo] = {}
        # reorder fault: per account, the event (list of frames) held back to swap with the next
        self._held: dict[str, list[dict[str, Any]]] = {}

    # --- socket binding -----------------------------------------------------------------------
    def attach(self, conn: LiveConnection, combined: bool) -> UserSocketInfo:
        info = self._sockets.get(conn)
        if info is None:
            info = UserSocketInfo(combined)
            self._sockets[conn] = info
        return info

    def bind(self, conn: LiveConnection, lk: ListenKey, combined: bool) -> None:
        info = self.attach(conn, combined)
        info.keys.add(lk.key)
        lk.sockets.add(conn)

    def unbind(self, conn: LiveConnection, key: str) -> None:
        info = self._sockets.get(conn)
        if info is not None:
            info.keys.discard(key)
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
    def _send(self, lk: ListenKey, payload: dict[str, Any]) -> None:
        bare: str | None = None
        wrapped: str | None = None
        for conn in list(lk.sockets):
            info = self._sockets.get(conn)
            if info is None:
                continue
            if info.combined:
                if wrapped is None:
                    wrapped = msgspec.json.encode({"stream": lk.key, "data": payload}).decode()
                conn.send(wrapped)
            else:
                if bare is None:
                    bare = msgspec.json.encode(payload).decode()
                conn.send(bare)

    def _deliver(self, account_id: str, frames: list[dict[str, Any]]) -> None:
        lk = self.keys.active_for(account_id)
        if lk is None or not lk.active:
            return
        for frame in frames:
            self._send(lk, frame)

    def publish(self, account_id: str, frames: list[dict[str, Any]]) -> None:
        """One engine event's frames (e.g. TRADE_LITE then ORDER_TRADE_UPDATE), kept together."""
        if not frames:
            return
        faults = self._faults
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

    def _deliver_maybe_dup(self, account_id: str, frames: list[dict[str, Any]]) -> None:
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
        self._send(lk, wire.listen_key_expired(lk.key, now_ms))
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
