"""Assembles the Binance USD-M dialect around one ``VenueEngine``: credentials, listen keys,
event rendering, REST, streams, the WS trading API and the housekeeping task."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.sim import dialect
from adapters.sim.accounting import RequestLog
from adapters.sim.binance import wire
from adapters.sim.binance.market_stream import MarketStreams
from adapters.sim.binance.rest import RateLimiter, RestApi
from adapters.sim.binance.signing import KeyStore, ed25519_from_seed, private_key_pem
from adapters.sim.binance.streams import StreamServer
from adapters.sim.binance.user_stream import ListenKeys, UserStreams
from adapters.sim.binance.ws_api import WsApi
from adapters.sim.dialect import Dialect, Installable, token
from adapters.sim.engine import VenueEngine
from adapters.sim.faults import ConnectionRegistry, Faults, WsSettings, now_ms
from adapters.sim.model import (
    AccountConfigEvent,
    AccountEvent,
    AlgoEvent,
    BookSnapshot,
    EngineEvent,
    ExecType,
    MarginCallEvent,
    OrderEvent,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, repr=False)  # the base's repr: never print secrets
class Credentials(dialect.Credentials):
    ed25519_api_key: str
    ed25519_private_key_pem: str


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


class BinanceVenue(Dialect[Credentials]):
    NAME = "binance"
    settings: BinanceSettings
    market: MarketStreams
    user: UserStreams
    rest: RestApi

    def __init__(
        self,
        engine: VenueEngine,
        faults: Faults,
        registry: ConnectionRegistry,
        settings: BinanceSettings | None = None,
    ) -> None:
        super().__init__(engine, faults, registry)
        self.settings = settings or BinanceSettings()
        s = self.settings
        self.keys = KeyStore()
        self.listen_keys = ListenKeys(s.listen_key_ttl, seed=s.seed, now_ms=now_ms)
        self.user = UserStreams(self.listen_keys, faults)
        self.market = MarketStreams(self.specs)
        self.ws_settings = WsSettings(s.ping_interval, s.pong_timeout, s.max_connection_age)
        self.limiter = RateLimiter(
            s.rate_limit_weight, s.orders_per_10s, s.orders_per_minute, s.rate_limit_interval_secs
        )
        self.requests = RequestLog()
        self.margin_types: dict[tuple[str, str], str] = {}
        self._extras: dict[int, wire.OrderExtras] = {}
        self._pending_extras: wire.OrderExtras | None = None
        self._capture: list[OrderEvent] | None = None
        self._attach()
        self.rest = RestApi(self)
        self.streams = StreamServer(self)
        self.ws_api = WsApi(self)

    def _seed_book(self, symbol: str, book: BookSnapshot) -> None:
        self.market.seed_book(symbol, book.bids, book.asks, book.last_update_id)

    # --- accounts --------------------------------------------------------------------------------
    def _new_credentials(self, account_id: str) -> Credentials:
        """An HMAC key and an Ed25519 key (64 alphanumeric characters, as Binance's look)."""
        seed = self.settings.seed
        api_key = token(f"sim-api-key:{seed}:{account_id}")
        secret = token(f"sim-api-secret:{seed}:{account_id}")
        ed_key = token(f"sim-ed25519-key:{seed}:{account_id}")
        private = ed25519_from_seed(f"sim-ed25519:{seed}:{account_id}".encode())
        self.keys.add_hmac(api_key, secret, account_id)
        self.keys.add_ed25519(ed_key, private.public_key(), account_id)
        return Credentials(account_id, api_key, secret, ed_key, private_key_pem(private))

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

    # --- engine events ---------------------------------------------------------------------------
    def _on_user_event(self, ev: EngineEvent) -> None:
        if isinstance(ev, OrderEvent):
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
    def _websockets(self) -> Sequence[Installable]:
        return (self.streams, self.ws_api)

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
