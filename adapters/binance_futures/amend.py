"""Binance's modify: LIMIT orders are amended in place (``order.modify`` / ``PUT /fapi/v1/order``).

An amend whose answer was lost is resolved by querying the order: while the venue may still execute
the request the old values are not final; past that they are, and the modify is reported rejected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import Logger
from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.model.enums import OrderStatus, OrderType
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.binance_futures.errors import BinanceError, BinanceRejection
from adapters.binance_futures.order_routing import OrderRouter
from adapters.binance_futures.parsing import WIRE_ORDER_SIDE, parse_price, parse_quantity
from adapters.binance_futures.venue_sync import VenueSync
from adapters.core.base.backoff import Backoff
from adapters.core.base.tasks import OwnedTasks
from adapters.core.orders.order_facts import ModifyEventSink, OrderFacts
from adapters.core.orders.order_tracking import TrackedOrder
from adapters.core.parse.instrument_info import InstrumentInfo


class Amender:
    """Amends one LIMIT order in place, and resolves an amend whose answer was lost."""

    def __init__(
        self,
        *,
        router: OrderRouter,
        facts: OrderFacts,
        sync: VenueSync,
        cache: Cache,
        events: ModifyEventSink,
        tasks: OwnedTasks,
        resolutions: dict[str, int],
        clock_ns: Callable[[], int],
        accept_window_secs: float,
        instrument_info: Callable[[str], InstrumentInfo],
        log: Logger,
    ) -> None:
        self._router = router
        self._facts = facts
        self._sync = sync
        self._cache = cache
        self._events = events
        self._tasks = tasks
        self._resolutions = resolutions
        self._clock_ns = clock_ns
        self._accept_window_secs = accept_window_secs
        self._instrument_info = instrument_info
        self._log = log

    async def modify(self, order: NautilusOrder, tracked: TrackedOrder, command: ModifyOrder) -> None:
        if order.order_type != OrderType.LIMIT:
            self.rejected(order, "Binance can only amend LIMIT orders")
            return
        quantity = command.quantity or order.quantity
        price = command.price or order.price
        info = self._instrument_info(tracked.symbol)
        try:
            amended = await self._router.amend_order(
                tracked.symbol,
                WIRE_ORDER_SIDE[order.side],
                str(quantity),
                str(price),
                order.client_order_id.value,
            )
        except BinanceRejection as exc:
            self.rejected(order, f"{exc.code}: {exc.msg}")
            return
        except BinanceError as exc:
            self._log.warning(f"Modify of {order.client_order_id} ambiguous ({exc!r}); resolving by query")
            requested = (quantity.as_decimal(), price.as_decimal())
            resolve = self._resolve_modify(tracked, requested)
            self._tasks.spawn(resolve, f"modify-{order.client_order_id.value}")
            return
        self._apply_amendment(tracked, amended.orderId, amended.origQty, amended.price, info)

    def rejected(self, order: NautilusOrder, reason: str) -> None:
        self._events.generate_order_modify_rejected(
            order.strategy_id,
            order.instrument_id,
            order.client_order_id,
            order.venue_order_id,
            reason,
            self._clock_ns(),
        )

    def _apply_amendment(
        self, tracked: TrackedOrder, order_id: int, qty: str, price: str, info: InstrumentInfo
    ) -> None:
        self._facts.amended(
            tracked,
            VenueOrderId(str(order_id)),
            Decimal(qty),
            Decimal(price),
            lambda q: parse_quantity(str(q), info.size_precision),
            lambda p: parse_price(str(p), info.price_precision),
            self._clock_ns(),
        )

    async def _resolve_modify(self, tracked: TrackedOrder, requested: tuple[Decimal, Decimal]) -> None:
        """An amend whose answer was lost: the venue's order says whether it took effect. While the
        venue may still execute the request (its recvWindow plus a margin) the old values are not
        final; past that they are, and the modify is reported rejected. The engine's order must
        leave PENDING_UPDATE either way: left there, NautilusTrader's in-flight check resolves it as
        CANCELED after its retries while it still rests on the venue (chaos Binance seed 966)."""
        backoff = Backoff(0.25, 2.0, 5.0)
        self._resolutions["modify"] += 1
        final_at = asyncio.get_running_loop().time() + self._accept_window_secs
        while True:
            try:
                o = await self._router.query_order(tracked.symbol, tracked.client_order_id.value)
            except BinanceError as exc:
                self._log.warning(f"Resolving modify of {tracked.client_order_id} failed ({exc!r}); retrying")
                await asyncio.sleep(backoff.next_delay())
                continue
            applied = (Decimal(o.origQty), Decimal(o.price)) == requested
            still_open = tracked.terminal is None and o.status in ("NEW", "PARTIALLY_FILLED")
            if not applied and still_open and asyncio.get_running_loop().time() < final_at:
                await asyncio.sleep(backoff.next_delay())
                continue
            info = self._instrument_info(tracked.symbol)
            self._apply_amendment(tracked, o.orderId, o.origQty, o.price, info)
            self._sync.apply_order(tracked, o)
            order = self._cache.order(tracked.client_order_id)
            if (
                not applied
                and tracked.terminal is None
                and order is not None
                and order.status == OrderStatus.PENDING_UPDATE
            ):
                self.rejected(order, "modify not applied on the venue (its answer was lost)")
            return
