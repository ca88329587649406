"""Assembles the Binance USD-M dialect around one ``VenueEngine``: credentials, listen keys,
event rendering, REST, streams, the WS trading API and the housekeeping task."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.sim.accounting import RequestLog
from adapters.sim.binance import wire
from adapters.sim.binance.market_stream import MarketStreams
from adapters.sim.binance.rest import RateLimiter, RestApi
from adapters.sim.binance.signing import KeyStore, ed25519_from_seed, private_key_pem
from adapters.sim.binance.streams import StreamServer
from adapters.sim.binance.user_stream import ListenKeys, UserStreams
from adapters.sim.binance.ws_api import WsApi
from adapters.sim.engine import VenueEngine
from adapters.sim.faults import ConnectionRegistry, Faults, WsSettings, now_ms
from adapters.sim.model import (
    AccountConfigEvent,
    AccountEvent,
    AlgoEvent,
    BookDelta,
    EngineEvent,
    ExecType,
    Kline,
    MarginCallEvent,
    MarkPriceEvent,
    OrderEvent,
    PublicTrade,
    SymbolSpec,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credentials:
    account_id: str
    api_key: str
    api_secret: str
    ed25519_api_key: str
    ed25519_private_key_pem: str

    def __repr__(self) -> str:  # never print secrets
        return f"Credentials(account_id={self.account_id!r}, api_key={self.api_key[:6]!r}…)"


@dataclass(slots=True)
class BinanceSettings:
    seed: int = 1
    listen_key_ttl: float = 3600.0
    max_connection_age: float = 86_400.0
    ping_interval: float = 180.0
    pong_timeout: float = 600.0
    rate_limit_weight: int = 2400
    rate_limit_interval_secs: int = 60
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    housekeeping_interval: float = 0.05
    # GET /fapi/v1/userTrades serves only this much history (2026-08-26 change log: 3 months).
    trade_history_days: float = 90.0
    # Open conditional (algo) orders per account, across all symbols (2025-12-29 change log: 200);
    # one more is refused with -4045 (adapters.sim.binance.errors.max_stop_orders).
    max_open_conditional_orders: int = 200
    # Websocket routes before Binance's 2026 URL split: every route (and the unrouted root) serves
    # every stream and user data. Off: each route serves its category only (binance/routes.py).
    legacy_urls: bool = False


class BinanceVenue:
    def __init__(
        self,
        engine: VenueEngine,
        faults: Faults,
        registry: ConnectionRegistry,
        settings: BinanceSettings | None = None,
    ) -> None:
        self.settings = settings or BinanceSettings()
        s = self.settings
        self.engine = engine
        self.faults = faults
        self.registry = registry
        self.specs: dict[str, SymbolSpec] = engine.specs
        self.keys = KeyStore()
        self.credentials: dict[str, Credentials] = {}
        self.listen_keys = ListenKeys(s.listen_key_ttl, seed=s.seed, now_ms=now_ms)
        self.user = UserStreams(self.listen_keys, faults)
        self.market = MarketStreams(self.specs)
        self.market.kline_seed = self._kline_seed
        self.ws_settings = WsSettings(s.ping_interval, s.pong_timeout, s.max_connection_age)
        self.limiter = RateLimiter(
            s.rate_limit_weight, s.orders_per_10s, s.orders_per_minute, s.rate_limit_interval_secs
        )
        self.requests = RequestLog()
        self.margin_types: dict[tuple[str, str], str] = {}
        self._assets: dict[str, str] = {}
        self._extras: dict[int, wire.OrderExtras] = {}
        self._pending_extras: wire.OrderExtras | None = None
        self._capture: list[OrderEvent] | None = None
        self._housekeeping: asyncio.Task[None] | None = None
        # Seed the book mirrors, then subscribe: the engine is synchronous, so no delta is missed.
        for symbol in self.specs:
            book = engine.book(symbol, 1000)
            self.market.seed_book(symbol, book.bids, book.asks, book.last_update_id)
            self.market.marks[symbol] = engine.mark_price(symbol).mark_price
        engine.subscribe(self._on_event)
        faults.expire_listen_keys_hook = lambda: self.user.expire_all(now_ms())
        self.rest = RestApi(self)
        self.streams = StreamServer(self)
        self.ws_api = WsApi(self)

    # --- accounts --------------------------------------------------------------------------------
    def add_account(self, account_id: str, **engine_kwargs: Any) -> Credentials:
        """Create an engine account with an HMAC key and an Ed25519 key (deterministic per seed)."""
        acct = self.engine.create_account(account_id, **engine_kwargs)
        self._assets[account_id] = acct.asset
        seed = self.settings.seed
        api_key = _token(f"sim-api-key:{seed}:{account_id}")
        secret = _token(f"sim-api-secret:{seed}:{account_id}")
        ed_key = _token(f"sim-ed25519-key:{seed}:{account_id}")
        private = ed25519_from_seed(f"sim-ed25519:{seed}:{account_id}".encode())
        self.keys.add_hmac(api_key, secret, account_id)
        self.keys.add_ed25519(ed_key, private.public_key(), account_id)
        creds = Credentials(account_id, api_key, secret, ed_key, private_key_pem(private))
        self.credentials[account_id] = creds
        if self.faults.default_account is None:
            self.faults.default_account = account_id
        return creds

    # --- order bookkeeping the engine does not keep --------------------------------------------
    @contextlib.contextmanager
    def capturing(self, extras: wire.OrderExtras) -> Iterator[list[OrderEvent]]:
        """Collect the OrderEvents of one engine call and tag its new order with ``extras``."""
        captured: list[OrderEvent] = []
        self._capture = captured
        self._pending_extras = extras
        try:
            yield captured
        finally:
            self._capture = None
            self._pending_extras = None

    def extras_for(self, order_id: int) -> wire.OrderExtras:
        return self._extras.get(order_id) or wire.OrderExtras()

    def _kline_seed(self, symbol: str, interval_ms: int) -> Kline | None:
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
        elif isinstance(ev, OrderEvent):
            self._on_order(ev)
        elif isinstance(ev, AlgoEvent):
            self.user.publish(
                ev.account_id, [wire.algo_update(ev.algo, ev.time_ms, self.specs.get(ev.algo.symbol))]
            )
        elif isinstance(ev, AccountEvent):
            asset = self._assets.get(ev.account_id, "USDT")
            self.user.publish(
                ev.account_id,
                [
                    wire.account_update(
                        ev, asset, self.specs, self._margin_types_of(ev.account_id), self.market.marks
                    )
                ],
            )
        elif isinstance(ev, AccountConfigEvent):
            self.user.publish(ev.account_id, [wire.account_config_update(ev)])
        elif isinstance(ev, MarginCallEvent):
            self.user.publish(
                ev.account_id,
                [wire.margin_call(ev, self.specs, self._margin_types_of(ev.account_id), self.market.marks)],
            )

    def _margin_types_of(self, account_id: str) -> dict[str, str]:
        return {s: mt for (a, s), mt in self.margin_types.items() if a == account_id}

    def _on_order(self, ev: OrderEvent) -> None:
        order = ev.order
        if self._capture is not None:
            self._capture.append(ev)
        if (
            ev.exec_type is ExecType.NEW
            and self._pending_extras is not None
            and order.order_id not in self._extras
            and order.algo_id is None
            and self._pending_extras != wire.OrderExtras()
        ):
            self._extras[order.order_id] = self._pending_extras
        spec = self.specs.get(order.symbol)
        frames: list[dict[str, Any]] = []
        if ev.exec_type is ExecType.TRADE:
            lite = wire.trade_lite(ev, spec)
            if lite is not None:
                frames.append(lite)  # TRADE_LITE is the low-latency copy: it goes first
        frames.append(
            wire.order_trade_update(
                ev, spec, self.extras_for(order.order_id), self._assets.get(ev.account_id, "USDT")
            )
        )
        self.user.publish(ev.account_id, frames)

    # --- lifecycle -------------------------------------------------------------------------------
    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.rest.middleware()])
        self.rest.install(app)
        self.streams.install(app)
        self.ws_api.install(app)
        return app

    async def start(self) -> None:
        self._housekeeping = asyncio.create_task(self._housekeeping_loop(), name="sim-binance-housekeeping")

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

    def state(self) -> dict[str, Any]:
        return {
            "ws_routes": {
                "legacy_urls": self.settings.legacy_urls,
                "unrouted_connections": self.streams.unrouted_connections,
                "silent_subscriptions": self.market.silent_subscriptions,
            },
            "listen_keys": self.listen_keys.snapshot(),
            "rate_limits": self.limiter.snapshot(),
            "requests": {"used_weight_1m": self.limiter.used_weight(), **self.requests.snapshot()},
        }


def _token(material: str) -> str:
    """64 alphanumeric characters, deterministic: Binance keys and secrets look like this."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    digest = hashlib.sha512(material.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest)
