"""The engine's state and what every part of it uses: the listeners, the reference data, the clock,
and the copy / paging helpers of its queries. ``EngineCore.__init__`` holds all of the engine's state
(accounts, orders, algo orders, resting book entries, trades) so each concern's module works on one
well-typed set of fields."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from adapters.sim.market import SymbolMarket
from adapters.sim.model import (
    Account,
    AlgoOrder,
    EngineEvent,
    Order,
    RejectReason,
    Side,
    SymbolSpec,
    Trade,
    VenueReject,
)

log = logging.getLogger("adapters.sim.engine")  # one logger for the engine, named as before the split

EventListener = Callable[[EngineEvent], None]
Clock = Callable[[], int]  # epoch milliseconds

MAX_CALLBACK_RATE = Decimal("10")

_T = TypeVar("_T")
BookKey = tuple[int, int, int]  # (price key, queue sequence, order id); price key sorts best first


def copy_order(order: Order) -> Order:
    return replace(order, trade_ids=list(order.trade_ids))


def page(items: list[_T], limit: int, from_start: bool) -> list[_T]:
    """Binance history paging: with a lower bound, the oldest ``limit`` from it; otherwise the
    newest ``limit``. Always ascending."""
    if limit <= 0:
        return []
    return items[:limit] if from_start else items[-limit:]


def in_range(t: int, start_ms: int | None, end_ms: int | None) -> bool:
    return (start_ms is None or t >= start_ms) and (end_ms is None or t <= end_ms)


class EngineCore:
    def __init__(
        self,
        specs: list[SymbolSpec],
        *,
        seed: int = 1,
        clock: Clock,
        order_id_start: int = 8_000_000_000,
        algo_id_start: int = 1_000_000_000_000,
        book_levels: int = 20,
        max_callback_rate: Decimal = MAX_CALLBACK_RATE,
    ) -> None:
        """``max_callback_rate``: the largest trailing-stop callback rate in percent (Binance: 20
        since 2026-10-23, 10 before; the default stays 10 for dialects that document no change)."""
        self._clock = clock
        self._max_callback_rate = max_callback_rate
        self._seed = seed
        self._specs: dict[str, SymbolSpec] = {s.symbol: s for s in specs}
        self.start_ms = clock()
        self._markets: dict[str, SymbolMarket] = {
            s.symbol: SymbolMarket(s, seed, book_levels, self.start_ms) for s in specs
        }
        self._listeners: list[EventListener] = []
        self._accounts: dict[str, Account] = {}
        self._next_order_id = order_id_start
        self._next_algo_id = algo_id_start
        self._orders: dict[int, Order] = {}
        self._account_orders: dict[str, list[int]] = {}  # ascending ids
        self._open_orders: dict[str, dict[int, None]] = {}  # account -> open ids, ascending
        self._client_ids: dict[tuple[str, str], int] = {}  # newest order with that client id
        self._resting: dict[str, dict[Side, list[BookKey]]] = {
            s: {Side.BUY: [], Side.SELL: []} for s in self._specs
        }
        self._rest_keys: dict[int, BookKey] = {}
        self._queue_seq = 0
        self._gtd_orders: list[tuple[int, int]] = []  # heap of (good till, order id)
        self._gtd_algos: list[tuple[int, int]] = []
        self._trades: list[Trade] = []
        self._account_trades: dict[tuple[str, str], list[Trade]] = {}
        self._algos: dict[int, AlgoOrder] = {}
        self._account_algos: dict[str, list[int]] = {}
        self._open_algos: dict[str, dict[int, None]] = {s: {} for s in self._specs}  # symbol -> ids
        self._client_algo_ids: dict[tuple[str, str], int] = {}

    # --- listeners ---------------------------------------------------------------------------
    def subscribe(self, listener: EventListener) -> None:
        """Every event, in order. Listeners must not call back into the engine synchronously."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: EventListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _emit(self, event: EngineEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # A broken consumer (e.g. a closed socket) must not leave the venue half-updated.
                log.exception("engine listener failed on %s", type(event).__name__)

    # --- reference data ----------------------------------------------------------------------
    @property
    def specs(self) -> dict[str, SymbolSpec]:
        return dict(self._specs)

    def _spec(self, symbol: str) -> SymbolSpec:
        spec = self._specs.get(symbol)
        if spec is None:
            raise VenueReject(RejectReason.UNKNOWN_SYMBOL, symbol)
        return spec

    def _now(self) -> int:
        return self._clock()
