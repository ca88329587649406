"""What every venue dialect does the same around its ``VenueEngine``: deterministic credentials,
the market mirror seeded from the engine before it subscribes (the engine is synchronous, so no
delta is missed), the engine's market events routed to the dialect's market streams, the aiohttp
application and the housekeeping task that expires listen keys and releases held frames.

A dialect (``adapters.sim.binance.app``, ``adapters.sim.bingx.app``) subclasses :class:`Dialect`
with its routers and renders the user events (orders, algo orders, account) itself.
"""

from __future__ import annotations

import asyncio
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from aiohttp import web

from adapters.sim.engine import VenueEngine
from adapters.sim.faults import ConnectionRegistry, Faults, now_ms
from adapters.sim.model import (
    BookDelta,
    BookSnapshot,
    EngineEvent,
    Kline,
    MarkPriceEvent,
    PublicTrade,
    SymbolSpec,
)

_ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def token(material: str, length: int = 64) -> str:
    """A deterministic alphanumeric string (API keys are 64 characters, BingX secrets longer)."""
    digest = hashlib.sha512(material.encode()).digest() + hashlib.sha512(material.encode() + b"+").digest()
    return "".join(_ALPHANUMERIC[b % len(_ALPHANUMERIC)] for b in digest[:length])


@dataclass(frozen=True, slots=True)
class Credentials:
    account_id: str
    api_key: str
    api_secret: str

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(account_id={self.account_id!r}, api_key={self.api_key[:6]!r}…)"


class MarketRouter(Protocol):
    """A dialect's market streams, as the shared part feeds them."""

    marks: dict[str, Decimal]
    kline_seed: Callable[[str, int], Kline | None] | None

    def on_book_delta(self, ev: BookDelta, /) -> None: ...
    def on_public_trade(self, ev: PublicTrade, /) -> None: ...
    def on_mark_price(self, ev: MarkPriceEvent, /) -> None: ...


class UserRouter(Protocol):
    def expire_due(self, now_ms: int, /) -> object: ...
    def expire_all(self, now_ms: int, /) -> int: ...
    def flush_held(self) -> object: ...


class Installable(Protocol):
    def install(self, app: web.Application) -> None: ...


class RestInstallable(Installable, Protocol):
    def middleware(self) -> Callable[..., Any]: ...


CredentialsT = TypeVar("CredentialsT", bound=Credentials)


class Dialect(ABC, Generic[CredentialsT]):
    NAME: ClassVar[str]  # names the housekeeping task
    settings: Any  # the dialect's settings: seed, housekeeping_interval and its own
    market: MarketRouter
    user: UserRouter
    rest: RestInstallable

    def __init__(self, engine: VenueEngine, faults: Faults, registry: ConnectionRegistry) -> None:
        self.engine = engine
        self.faults = faults
        self.registry = registry
        self.specs: dict[str, SymbolSpec] = engine.specs
        self.credentials: dict[str, CredentialsT] = {}
        self._assets: dict[str, str] = {}
        self._housekeeping: asyncio.Task[None] | None = None

    def _attach(self) -> None:
        """Seed the market mirror from the engine, then subscribe to it. Called by the dialect once
        its routers exist."""
        self.market.kline_seed = self._kline_seed
        for symbol in self.specs:
            self._seed_book(symbol, self.engine.book(symbol, 1000))
            self.market.marks[symbol] = self.engine.mark_price(symbol).mark_price
        self.engine.subscribe(self._on_event)
        self.faults.expire_listen_keys_hook = lambda: self.user.expire_all(now_ms())

    @abstractmethod
    def _seed_book(self, symbol: str, book: BookSnapshot) -> None: ...

    # --- accounts --------------------------------------------------------------------------------
    def add_account(self, account_id: str, **engine_kwargs: Any) -> CredentialsT:
        """An engine account with the dialect's keys, deterministic per seed."""
        acct = self.engine.create_account(account_id, **engine_kwargs)
        self._assets[account_id] = acct.asset
        creds = self._new_credentials(account_id)
        self.credentials[account_id] = creds
        if self.faults.default_account is None:
            self.faults.default_account = account_id
        return creds

    @abstractmethod
    def _new_credentials(self, account_id: str) -> CredentialsT: ...

    def _kline_seed(self, symbol: str, interval_ms: int) -> Kline | None:
        # Seeds a kline from engine history when its first subscriber arrives (not in a listener).
        rows = self.engine.klines(symbol, interval_ms, limit=1)
        return rows[-1] if rows else None

    # --- engine events ---------------------------------------------------------------------------
    def _on_event(self, ev: EngineEvent) -> None:
        if isinstance(ev, BookDelta):
            self.market.on_book_delta(ev)
        elif isinstance(ev, PublicTrade):
            self.market.on_public_trade(ev)
        elif isinstance(ev, MarkPriceEvent):
            self.market.on_mark_price(ev)
        else:
            self._on_user_event(ev)

    @abstractmethod
    def _on_user_event(self, ev: EngineEvent) -> None:
        """Render an order, algo order or account event for the account's user streams."""

    # --- lifecycle -------------------------------------------------------------------------------
    def _websockets(self) -> Sequence[Installable]:
        """The dialect's websocket servers, installed after the REST routes."""
        return ()

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.rest.middleware()])
        self.rest.install(app)
        for server in self._websockets():
            server.install(app)
        return app

    async def start(self) -> None:
        self._housekeeping = asyncio.create_task(
            self._housekeeping_loop(), name=f"sim-{self.NAME}-housekeeping"
        )

    async def stop(self) -> None:
        task, self._housekeeping = self._housekeeping, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        self.engine.unsubscribe(self._on_event)

    async def _housekeeping_loop(self) -> None:
        interval = self.settings.housekeeping_interval
        while True:
            await asyncio.sleep(interval)
            self.user.expire_due(now_ms())
            self.user.flush_held()
