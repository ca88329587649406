"""BingX's modify: cancel the live venue order, then place a replacement for what is left.

BingX's own cancelReplace is not atomic either, and it cannot keep the client id (which must be
unique), so the execution client does it in two steps (see :mod:`adapters.bingx.execution`). The live
venue order is canceled *first*; the cancel response's ``executedQty`` is the final filled quantity of
that venue order (no fill can happen after it), and the replacement is placed for ``new quantity -
everything the chain filled`` under a new client id ``<cid>-r<n>``. The chain (which venue orders
belong to the NautilusTrader order) lives in :class:`~adapters.bingx.user_events.OrderIndex`.

Commands on one order run one at a time (:class:`OrderLocks`): a cancel-replace must not interleave
with a cancel of the same order. A replacement whose answer was lost keeps the lock until it is
resolved, so the next command starts from a settled chain (the live link's client id and venue id
both known).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any

from nautilus_trader.execution.messages import ModifyOrder
from nautilus_trader.model.identifiers import VenueOrderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.bingx.errors import BingxError, BingxRejection
from adapters.bingx.http import BingxHttpClient
from adapters.bingx.parsing import MAX_CLIENT_ORDER_ID_LEN
from adapters.bingx.schemas_rest import Order as VenueOrder
from adapters.bingx.user_events import OrderIndex
from adapters.bingx.venue_sync import BingxVenueSync
from adapters.core.base.backoff import Backoff
from adapters.core.base.tasks import OwnedTasks
from adapters.core.orders.order_facts import ModifyEventSink, OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder
from adapters.core.parse.decimal_parse import to_decimal
from adapters.core.parse.instrument_info import InstrumentInfo

# The venue's place arguments of ``order`` under ``cid`` with the new values (execution._order_params).
PlaceArgs = Callable[..., dict[str, Any]]


class OrderLocks:
    """One lock per tracked order; a forgotten order's lock goes with it (memory stays flat)."""

    def __init__(self, tracker: OrderTracker) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        tracker.on_forget.append(self.forget)

    def for_order(self, order: TrackedOrder) -> asyncio.Lock:
        key = order.client_order_id.value
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def forget(self, order: TrackedOrder) -> None:
        self._locks.pop(order.client_order_id.value, None)

    def __len__(self) -> int:
        return len(self._locks)


class CancelReplace:
    """Runs one modify as cancel-then-place, and resolves a replacement whose answer was lost."""

    def __init__(
        self,
        *,
        http: BingxHttpClient,
        index: OrderIndex,
        facts: OrderFacts,
        sync: BingxVenueSync,
        events: ModifyEventSink,
        tasks: OwnedTasks,
        resolutions: dict[str, int],
        clock_ns: Callable[[], int],
        accept_window_secs: float,
        place_args: PlaceArgs,
        apply_response: Callable[[TrackedOrder, VenueOrder], None],
        resolve_cancel: Callable[[TrackedOrder, str | None], Coroutine[Any, Any, None]],
        instrument_info: Callable[[str], InstrumentInfo],
        logger: logging.Logger,
    ) -> None:
        self._http = http
        self._index = index
        self._facts = facts
        self._sync = sync
        self._events = events
        self._tasks = tasks
        self._resolutions = resolutions
        self._clock_ns = clock_ns
        self._accept_window_secs = accept_window_secs
        self._place_args = place_args
        self._apply_response = apply_response
        self._resolve_cancel = resolve_cancel
        self._instrument_info = instrument_info
        self._pylog = logger

    def rejected(self, tracked: TrackedOrder, reason: str) -> None:
        self._events.generate_order_modify_rejected(
            tracked.strategy_id,
            tracked.instrument_id,
            tracked.client_order_id,
            tracked.engine_venue_order_id or tracked.venue_order_id,
            reason,
            self._clock_ns(),
        )

    async def cancel_replace(self, order: NautilusOrder, tracked: TrackedOrder, command: ModifyOrder) -> None:
        if tracked.terminal is not None or tracked.venue_order_id is None:
            self.rejected(tracked, "order is not open on the venue")
            return
        new_qty = (command.quantity or order.quantity).as_decimal()
        new_price = command.price or (order.price if order.has_price else None)
        new_trigger = command.trigger_price or (order.trigger_price if order.has_trigger_price else None)
        old_voi = tracked.venue_order_id
        chain = self._index.chain_for(tracked)
        if chain.replacing:
            # Only from a settled chain can the live link be retired by its venue id. The lock is
            # held through a lost answer's resolution; only a command canceled while it waited
            # (the node stopping) leaves the resolution running without it.
            self.rejected(tracked, "cancel-replace: the previous replacement is not confirmed yet")
            return
        # 1. Retire the live link *before* canceling it: its CANCELED event (which may overtake the
        #    REST answer on the stream) must not close the NautilusTrader order.
        chain.retired.add(old_voi.value)
        try:
            canceled = await self._http.cancel_order(tracked.symbol, client_order_id=chain.current_cid)
        except BingxRejection as exc:
            chain.retired.discard(old_voi.value)
            self.rejected(tracked, f"cancel-replace: cancel failed: {exc.code}: {exc.msg}")
            if exc.is_unknown_order or exc.is_already_filled:
                # Filled or gone meanwhile: nothing is placed; learn the final state (and fills).
                self._tasks.spawn(self._resolve_cancel(tracked, None), f"modify-{tracked.client_order_id}")
            return
        except BingxError as exc:
            chain.retired.discard(old_voi.value)
            self.rejected(tracked, f"cancel-replace: cancel outcome unknown ({exc}); not replaced")
            self._tasks.spawn(self._resolve_cancel(tracked, None), f"modify-{tracked.client_order_id}")
            return
        # 2. The cancel is final: executedQty is all that link will ever fill.
        chain.filled_before += to_decimal(canceled.executedQty)
        ts = self._clock_ns()
        remaining = new_qty - chain.filled_before
        if remaining <= 0:
            reason = f"cancel-replace: quantity {new_qty} not above filled {chain.filled_before}"
            self.rejected(tracked, reason)
            self._facts.canceled(tracked, old_voi, chain.filled_before, ts)
            return
        # 3. The replacement: a new client id (BingX ids are unique), registered before it is sent
        #    so its stream events (which may overtake the response) find the order.
        chain.replacements += 1
        alias = replacement_cid(tracked.client_order_id.value, chain.replacements)
        self._index.add_alias(tracked, alias)
        chain.current_cid = alias
        info = self._instrument_info(tracked.symbol)
        self._set_order(tracked, new_qty, new_price, new_trigger, info, ts)
        chain.replacing = True
        try:
            kwargs = self._place_args(
                order, None, cid=alias, quantity=remaining, price=new_price, trigger_price=new_trigger
            )
            placed = await self._http.place_order(**kwargs)
        except BingxRejection as exc:
            chain.replacing = False
            self.rejected(tracked, f"cancel-replace: replacement rejected: {exc.code}: {exc.msg}")
            self._facts.canceled(tracked, old_voi, chain.filled_before, self._clock_ns())
            return
        except (BingxError, ValueError) as exc:
            self._pylog.warning("replacement of %s ambiguous (%r); resolving", tracked.client_order_id, exc)
            task = self._tasks.spawn(self._resolve_replacement(tracked, old_voi), f"replace-{alias}")
            if task is not None:
                # Held under the order's lock until the chain is settled: a modify or cancel queued
                # behind this one would otherwise cancel the unconfirmed link by its client id while
                # only the old venue id is retired, and that link's CANCELED would close the order.
                # ``wait``, not ``await``: a canceled command leaves the resolution running under
                # its owner, and the owner logs its failure.
                await asyncio.wait((task,))
            return
        chain.replacing = False
        self._facts.venue_id_changed(tracked, VenueOrderId(str(placed.orderId)), self._clock_ns())
        self._apply_response(tracked, placed)

    def _set_order(
        self,
        tracked: TrackedOrder,
        quantity: Decimal,
        price: Price | None,
        trigger: Price | None,
        info: InstrumentInfo,
        ts: int,
    ) -> None:
        """The NautilusTrader order takes its new quantity/price now (still under the canceled
        link's venue id; the replacement's id follows with ``venue_id_changed``)."""
        voi = tracked.engine_venue_order_id or tracked.venue_order_id
        assert voi is not None
        tracked.quantity = quantity
        tracked.price = price.as_decimal() if price is not None else None
        self._events.generate_order_updated(
            tracked.strategy_id,
            tracked.instrument_id,
            tracked.client_order_id,
            voi,
            Quantity(quantity, info.size_precision),
            price,  # type: ignore[arg-type]  # None keeps the price
            trigger,
            ts,
        )

    async def _resolve_replacement(self, tracked: TrackedOrder, old_voi: VenueOrderId) -> None:
        """A replacement whose answer was lost. "Not found" is final only once the venue can no
        longer accept it (its recvWindow plus a margin): declared missing earlier, a late
        acceptance would be a live venue order the node no longer tracks."""
        backoff = Backoff(0.25, 2.0, 5.0)
        self._resolutions["modify"] += 1
        chain = self._index.chain_for(tracked)
        final_at = asyncio.get_running_loop().time() + self._accept_window_secs
        while tracked.terminal is None:
            await asyncio.sleep(backoff.next_delay())
            try:
                o = await self._sync.query_live_link(tracked)
            except BingxError as exc:
                self._pylog.warning("resolving replacement of %s failed (%r)", tracked.client_order_id, exc)
                continue
            if o is not None:
                chain.replacing = False
                self._facts.venue_id_changed(tracked, VenueOrderId(str(o.orderId)), self._clock_ns())
                await self._sync.sync_order(tracked, o)
                return
            if asyncio.get_running_loop().time() >= final_at:
                chain.replacing = False
                self.rejected(tracked, "cancel-replace: replacement not found on venue")
                self._facts.canceled(tracked, old_voi, self._index.filled_before(tracked), self._clock_ns())
                return


def replacement_cid(client_order_id: str, n: int) -> str:
    """The venue client id of the n-th replacement: ``<cid>-r<n>`` (lowercase, at most 40 chars)."""
    suffix = f"-r{n}"
    base = client_order_id.lower()[: MAX_CLIENT_ORDER_ID_LEN - len(suffix)]
    return f"{base}{suffix}"
