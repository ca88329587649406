"""Venue-neutral listen-key registry (Binance and BingX user-data streams both use one).

A key belongs to one account, lives ``ttl`` seconds from creation or its last keepalive, and is
``active``, ``expired`` or ``deleted``. Dialects choose the policy where venues differ:

* ``reuse=True`` (Binance): one active key per account; creating again returns (and extends) it.
* ``reuse=False`` (BingX): every create mints a new key; earlier keys stay valid until they expire.

Key strings are deterministic per seed (``render`` turns a digest into the venue's format) and
unique per creation. Lookups that fail raise whatever ``missing()`` returns (the dialect's error).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.sim.faults import LiveConnection

log = logging.getLogger(__name__)

ALPHANUMERIC = string.ascii_letters + string.digits
STATUS_ACTIVE = "active"
STATUS_EXPIRED = "expired"
STATUS_DELETED = "deleted"


def abbreviate(secret: str) -> str:
    """What may appear in logs and /sim/state for keys, listen keys and signatures."""
    return secret[:6] + "…" if len(secret) > 6 else "…"


def alphanumeric_64(digest: bytes) -> str:
    """Binance style: 64 alphanumeric characters."""
    return "".join(ALPHANUMERIC[b % len(ALPHANUMERIC)] for b in digest)


def hex_64(digest: bytes) -> str:
    """BingX style: 64 lowercase hex characters."""
    return digest[:32].hex()


@dataclass(slots=True, eq=False)
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
    def __init__(
        self,
        ttl: float,
        *,
        seed: int,
        now_ms: Callable[[], int],
        missing: Callable[[], Exception],
        reuse: bool = True,
        render: Callable[[bytes], str] = alphanumeric_64,
        namespace: str = "sim-listen-key",
    ) -> None:
        self.ttl = ttl
        self.reuse = reuse
        self._seed = seed
        self._counter = itertools.count(1)
        self._now_ms = now_ms
        self._missing = missing
        self._render = render
        self._namespace = namespace
        self._keys: dict[str, ListenKey] = {}
        self._active_by_account: dict[str, list[str]] = {}

    def _new_key_string(self) -> str:
        material = f"{self._namespace}:{self._seed}:{next(self._counter)}".encode()
        return self._render(hashlib.sha512(material).digest())

    def _loop_time(self) -> float:
        return asyncio.get_running_loop().time()

    def _extend(self, lk: ListenKey) -> None:
        lk.expires_at = self._loop_time() + self.ttl
        lk.expires_ms = self._now_ms() + int(self.ttl * 1000)

    def create_or_extend(self, account_id: str) -> ListenKey:
        """``reuse``: the account's active key, extended, or a new one; otherwise always new."""
        if self.reuse:
            current = self.active_for(account_id)
            if current is not None:
                self._extend(current)
                return current
        lk = ListenKey(self._new_key_string(), account_id, self._now_ms(), 0.0, 0)
        self._extend(lk)
        self._keys[lk.key] = lk
        self._active_by_account.setdefault(account_id, []).append(lk.key)
        log.info("listen key %s created for %s", abbreviate(lk.key), account_id)
        return lk

    def _owned_active(self, account_id: str | None, key: str | None) -> ListenKey:
        """``account_id`` None: any account's key (BingX's PUT/DELETE carry only the key)."""
        if key is None and account_id is not None:
            current = self.active_for(account_id)
            key = current.key if current is not None else None
        lk = self._keys.get(key) if key else None
        if lk is None or not lk.active or (account_id is not None and lk.account_id != account_id):
            raise self._missing()
        return lk

    def keepalive(self, account_id: str | None, key: str | None) -> ListenKey:
        lk = self._owned_active(account_id, key)
        self._extend(lk)
        return lk

    def delete(self, account_id: str | None, key: str | None) -> ListenKey:
        lk = self._owned_active(account_id, key)
        lk.status = STATUS_DELETED
        self._forget(lk)
        return lk

    def _forget(self, lk: ListenKey) -> None:
        keys = self._active_by_account.get(lk.account_id)
        if keys is not None and lk.key in keys:
            keys.remove(lk.key)
            if not keys:
                del self._active_by_account[lk.account_id]

    def get_active(self, key: str) -> ListenKey | None:
        lk = self._keys.get(key)
        return lk if lk is not None and lk.active else None

    def get(self, key: str) -> ListenKey | None:
        return self._keys.get(key)

    def expire(self, lk: ListenKey) -> None:
        lk.status = STATUS_EXPIRED
        self._forget(lk)

    def due(self) -> list[ListenKey]:
        now = self._loop_time()
        return [lk for lk in self._keys.values() if lk.active and lk.expires_at <= now]

    def active(self) -> list[ListenKey]:
        return [lk for lk in self._keys.values() if lk.active]

    def active_keys_for(self, account_id: str) -> list[ListenKey]:
        return [self._keys[k] for k in self._active_by_account.get(account_id, ())]

    def active_for(self, account_id: str) -> ListenKey | None:
        """The account's newest active key."""
        keys = self._active_by_account.get(account_id)
        return self._keys[keys[-1]] if keys else None

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
