"""Assembles the BingX dialect around one ``VenueEngine``: credentials, listen keys, event
rendering (user and market), REST, the ``/swap-market`` websocket and the housekeeping task.

Order ids: the engine is created with ids above 2**53 (``ORDER_ID_START``) as on BingX. A
conditional order (STOP_MARKET, TAKE_PROFIT_MARKET, TRIGGER_*, trailing) is an engine algo order
whose id is its BingX ``orderId``; when it triggers, the engine's child order is reported under
the same ``orderId`` (``triggerOrderId`` / ``ti`` carry the child's id).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.sim.accounting import RequestLog
from adapters.sim.bingx import errors, wire
from adapters.sim.bingx.market_stream import MarketStreams
from adapters.sim.bingx.rest import RateLimiter, RestApi
from adapters.sim.bingx.signing import KeyStore
from adapters.sim.bingx.user_stream import bingx_listen_keys, bingx_user_streams
from adapters.sim.bingx.ws import StreamServer
from adapters.sim.dialect import Credentials, Dialect, Installable, token
from adapters.sim.engine import VenueEngine
from adapters.sim.faults import ConnectionRegistry, Faults, WsSettings, now_ms
from adapters.sim.listen_keys import ListenKey
from adapters.sim.model import (
    AccountConfigEvent,
    AccountEvent,
    AlgoEvent,
    AlgoOrder,
    AlgoStatus,
    BookSnapshot,
    EngineEvent,
    ExecType,
    Order,
    OrderEvent,
    PositionSide,
    VenueReject,
)
from adapters.sim.user_routing import UserStreams

log = logging.getLogger(__name__)

ORDER_ID_START = 1_970_374_651_259_388_000  # > 2**53, like BingX's ids
ALGO_ID_START = 1_970_374_999_000_000_000
PING_FRAME = wire.gz("Ping")


@dataclass(slots=True)
class BingxSettings:
    seed: int = 1
    listen_key_ttl: float = 3600.0
    max_connection_age: float = 86_400.0
    ping_interval: float = 5.0
    pong_timeout: float = 60.0
    rate_limit_scale: float = 1.0
    duplicate_trade_every: int = 0
    config_push_on_connect: bool = True
    housekeeping_interval: float = 0.05


class BingxVenue(Dialect[Credentials]):
    NAME = "bingx"
    settings: BingxSettings
    market: MarketStreams
    user: UserStreams
    rest: RestApi

    def __init__(
        self,
        engine: VenueEngine,
        faults: Faults,
        registry: ConnectionRegistry,
        settings: BingxSettings | None = None,
    ) -> None:
        super().__init__(engine, faults, registry)
        self.settings = settings or BingxSettings()
        s = self.settings
        self.keys = KeyStore()
        self.listen_keys = bingx_listen_keys(s.listen_key_ttl, seed=s.seed, now_ms=now_ms)
        self.user = bingx_user_streams(self.listen_keys, faults)
        self.market = MarketStreams(self.specs, duplicate_trade_every=s.duplicate_trade_every)
        self.ws_settings = WsSettings(
            s.ping_interval, s.pong_timeout, s.max_connection_age, app_ping=PING_FRAME
        )
        self.limiter = RateLimiter(s.rate_limit_scale)
        self.requests = RequestLog()
        self.default_fees = (Decimal("0.0002"), Decimal("0.0005"))
        self.client_ids_used: set[tuple[str, str]] = set()
        self._user_ids: dict[str, str] = {}
        self._extras: dict[int, wire.OrderExtras] = {}  # order id or algo id -> extras
        self._pending_extras: wire.OrderExtras | None = None
        self._fees: dict[int, Decimal] = {}
        self._pnl: dict[int, Decimal] = {}
        self._attach()
        self.rest = RestApi(self)
        self.streams = StreamServer(self)

    def _seed_book(self, symbol: str, book: BookSnapshot) -> None:
        self.market.seed_book(symbol, book.bids, book.asks, book.last_update_id, book.time_ms)

    # --- accounts --------------------------------------------------------------------------------
    def _new_credentials(self, account_id: str) -> Credentials:
        """An API key (64 characters) and a secret (85), and the account's BingX user id."""
        seed = self.settings.seed
        api_key = token(f"sim-bingx-api-key:{seed}:{account_id}")
        secret = token(f"sim-bingx-api-secret:{seed}:{account_id}", 85)
        self.keys.add(api_key, secret, account_id)
        digest = hashlib.sha256(f"sim-bingx-uid:{seed}:{account_id}".encode()).digest()
        self._user_ids[account_id] = str(100_000_000 + int.from_bytes(digest[:4], "big") % 900_000_000)
        return Credentials(account_id, api_key, secret)

    def user_id(self, account_id: str) -> str:
        return self._user_ids.get(account_id, "0")

    def position_id(self, account_id: str, symbol: str, side: PositionSide) -> int:
        digest = hashlib.sha256(f"{account_id}:{symbol}:{side.value}".encode()).digest()
        return 1_790_000_000_000_000_000 + int.from_bytes(digest[:6], "big")

    # --- order bookkeeping the engine does not keep --------------------------------------------
    @contextlib.contextmanager
    def pending(self, extras: wire.OrderExtras) -> Iterator[None]:
        """Tag the order (or conditional order) the engine call creates with ``extras``."""
        self._pending_extras = extras
        try:
            yield
        finally:
            self._pending_extras = None

    def extras_for(self, order: Order) -> wire.OrderExtras:
        key = order.algo_id if order.algo_id is not None else order.order_id
        return self._extras.get(key) or wire.OrderExtras()

    def _leverage(self, account_id: str, symbol: str) -> int:
        return self.engine.account(account_id).leverage.get(symbol, 20)

    def order_json(self, order: Order) -> dict[str, Any]:
        return wire.order_json(
            order,
            self.specs.get(order.symbol),
            self.extras_for(order),
            self._leverage(order.account_id, order.symbol),
            self._fees.get(order.order_id, Decimal(0)),
            self._pnl.get(order.order_id, Decimal(0)),
        )

    def algo_json(self, algo: AlgoOrder) -> dict[str, Any]:
        return wire.algo_json(
            algo,
            self.specs.get(algo.symbol),
            self._extras.get(algo.algo_id) or wire.OrderExtras(),
            self._leverage(algo.account_id, algo.symbol),
        )

    def algo_by_id(self, account_id: str, algo_id: int) -> AlgoOrder | None:
        if algo_id < ALGO_ID_START:
            return None
        try:
            return self.engine.get_algo(account_id, algo_id=algo_id)
        except VenueReject:
            return None

    def resolve(
        self, account_id: str, symbol: str, order_id: int | None, client_id: str | None
    ) -> Order | AlgoOrder:
        """The order or conditional order a request names (by BingX orderId or client id)."""
        algo: AlgoOrder | None = None
        if order_id is not None:
            algo = self.algo_by_id(account_id, order_id)
        elif client_id is not None:
            with contextlib.suppress(VenueReject):
                algo = self.engine.get_algo(account_id, client_algo_id=client_id)
        if algo is not None and algo.symbol == symbol:
            return algo
        if order_id is not None and order_id >= ALGO_ID_START:
            raise errors.order_not_exist()
        try:
            order = self.engine.get_order(account_id, symbol, order_id=order_id, client_order_id=client_id)
        except VenueReject:
            raise errors.order_not_exist() from None
        if order.algo_id is not None and client_id is None:
            raise errors.order_not_exist()  # a triggered child is known by its conditional id
        return order

    def render(self, target: Order | AlgoOrder) -> dict[str, Any]:
        if isinstance(target, AlgoOrder):
            if target.actual_order_id is not None:
                child = self.engine.get_order(
                    target.account_id, target.symbol, order_id=target.actual_order_id
                )
                return self.order_json(child)
            return self.algo_json(target)
        return self.order_json(target)

    # --- user events -----------------------------------------------------------------------------
    def config_changed(self, account_id: str, symbol: str) -> None:
        acct = self.engine.account(account_id)
        frame = wire.account_config_update(
            symbol, acct.leverage.get(symbol, 20), acct.margin_type.get(symbol), now_ms()
        )
        self.user.publish(account_id, [frame])

    def on_user_connected(self, lk: ListenKey) -> None:
        """A full ACCOUNT_CONFIG_UPDATE push when a connection is established (BingX swap docs:
        "Each time a connection is successfully established, a full data push will occur once")."""
        if not self.settings.config_push_on_connect:
            return
        acct = self.engine.account(lk.account_id)
        t = now_ms()
        frames = [
            wire.account_config_update(s, acct.leverage.get(s, 20), acct.margin_type.get(s), t)
            for s in self.specs
        ]
        self.user.publish_to_key(lk, frames)

    def _on_user_event(self, ev: EngineEvent) -> None:
        if isinstance(ev, OrderEvent):
            self._on_order(ev)
        elif isinstance(ev, AlgoEvent):
            self._on_algo(ev)
        elif isinstance(ev, AccountEvent):
            acct_margin = self.engine.account(ev.account_id).margin_type
            frame = wire.account_update(
                ev, self._assets.get(ev.account_id, "USDT"), acct_margin, self.market.marks
            )
            self.user.publish(ev.account_id, [frame])
        elif isinstance(ev, AccountConfigEvent):
            mt = self.engine.account(ev.account_id).margin_type.get(ev.symbol or "")
            cfg = wire.config_from_event(ev, mt)
            if cfg is not None:
                self.user.publish(ev.account_id, [cfg])

    def _on_order(self, ev: OrderEvent) -> None:
        order = ev.order
        if (
            ev.exec_type is ExecType.NEW
            and self._pending_extras is not None
            and order.algo_id is None
            and order.order_id not in self._extras
        ):
            self._extras[order.order_id] = self._pending_extras
        if ev.trade is not None:
            self._fees[order.order_id] = self._fees.get(order.order_id, Decimal(0)) + ev.trade.commission
            self._pnl[order.order_id] = self._pnl.get(order.order_id, Decimal(0)) + ev.trade.realized_pnl
        frame = wire.order_trade_update(ev, self.extras_for(order), self._assets.get(ev.account_id, "USDT"))
        self.user.publish(ev.account_id, [frame])

    def _on_algo(self, ev: AlgoEvent) -> None:
        if ev.activation:
            return  # BingX documents no push for a trailing stop's activation
        a = ev.algo
        if a.status is AlgoStatus.NEW and self._pending_extras is not None and a.algo_id not in self._extras:
            self._extras[a.algo_id] = self._pending_extras
        extras = self._extras.get(a.algo_id) or wire.OrderExtras()
        asset = self._assets.get(ev.account_id, "USDT")
        if a.status is AlgoStatus.NEW:
            frame = wire.algo_trade_update(a, ev.time_ms, "NEW", "NEW", extras, asset)
        elif a.status is AlgoStatus.CANCELED:
            frame = wire.algo_trade_update(a, ev.time_ms, "CANCELED", "CANCELED", extras, asset)
        elif a.status in (AlgoStatus.EXPIRED, AlgoStatus.REJECTED):
            frame = wire.algo_trade_update(a, ev.time_ms, "EXPIRED", "EXPIRED", extras, asset)
        else:
            return  # TRIGGERING / TRIGGERED / FINISHED: the child order's events tell the story
        self.user.publish(ev.account_id, [frame])

    # --- lifecycle -------------------------------------------------------------------------------
    def _websockets(self) -> Sequence[Installable]:
        return (self.streams,)

    def state(self) -> dict[str, Any]:
        return {
            "listen_keys": self.listen_keys.snapshot(),
            "rate_limits": {"refused": self.limiter.refused, "scale": self.limiter.scale},
            "market": dict(self.market.counters),
            "requests": self.requests.snapshot(),
        }
