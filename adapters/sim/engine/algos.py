"""Algo (conditional) orders: placement, trailing, triggering into a regular order, expiry,
cancellation and queries."""

from __future__ import annotations

import copy
import heapq
from decimal import Decimal

from adapters.sim import ledger
from adapters.sim.engine.core import copy_order, in_range, page
from adapters.sim.engine.orders import ALGO_TYPES, OrdersEngine
from adapters.sim.model import (
    AlgoEvent,
    AlgoOrder,
    AlgoRequest,
    AlgoStatus,
    ExecType,
    OrderEvent,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    VenueReject,
    WorkingType,
)

MARKET_ALGO_TYPES = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)
STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_MARKET})
MIN_CALLBACK_RATE = Decimal("0.1")


class AlgoEngine(OrdersEngine):
    # --- algo orders -------------------------------------------------------------------------
    def place_algo(self, account_id: str, request: AlgoRequest) -> AlgoOrder:
        """AlgoEvent NEW. On trigger: TRIGGERING, a regular order is created (MARKET, or LIMIT
        for STOP/TAKE_PROFIT) with ``orig_type`` = the algo type and ``algo_id`` set, TRIGGERED
        (with ``actual_order_id``), the order's own OrderEvents, and FINISHED once that order
        is final."""
        acct = self._acct(account_id)
        spec = self._spec(request.symbol)
        now = self._now()
        if request.type not in ALGO_TYPES:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"type {request.type} is not conditional")
        self._check_position_side(acct, request.position_side, request.reduce_only)
        self._check_qty(spec, request.quantity, request.type in MARKET_ALGO_TYPES)
        if request.client_algo_id is not None:
            existing = self._client_algo_ids.get((account_id, request.client_algo_id))
            if existing is not None and self._algos[existing].is_open:
                raise VenueReject(RejectReason.DUPLICATE_CLIENT_ID, request.client_algo_id)
        if request.time_in_force is TimeInForce.GTX:
            raise VenueReject(RejectReason.INVALID_PARAMETER, "GTX is not available for algo orders")
        gtd = 0
        if request.time_in_force is TimeInForce.GTD:
            if request.good_till_date_ms is None:
                raise VenueReject(RejectReason.INVALID_PARAMETER, "goodTillDate is required for GTD")
            if request.good_till_date_ms <= now:
                raise VenueReject(RejectReason.GTD_IN_PAST, str(request.good_till_date_ms))
            gtd = request.good_till_date_ms
        price = Decimal(0)
        if request.type in (OrderType.STOP, OrderType.TAKE_PROFIT):
            price = self._check_price(spec, request.price)
        market = self._markets[spec.symbol]
        current = market.mark_price if request.working_type is WorkingType.MARK_PRICE else market.last_price
        extreme: Decimal | None = None
        if request.type is OrderType.TRAILING_STOP_MARKET:
            rate = request.callback_rate
            if rate is None or not MIN_CALLBACK_RATE <= rate <= self._max_callback_rate:
                raise VenueReject(RejectReason.INVALID_PARAMETER, f"callbackRate {rate}")
            if request.activate_price is not None:
                activate = self._check_price(spec, request.activate_price, "activatePrice")
                if activate <= current if request.side is Side.SELL else activate >= current:
                    raise VenueReject(RejectReason.WOULD_IMMEDIATELY_TRIGGER, f"activatePrice {activate}")
            else:
                extreme = current  # no activation price: trailing starts now
            trigger = request.activate_price or Decimal(0)
        else:
            trigger = self._check_price(spec, request.trigger_price, "triggerPrice")
            if self._crossed(request.type, request.side, current, trigger):
                raise VenueReject(RejectReason.WOULD_IMMEDIATELY_TRIGGER, f"triggerPrice {trigger}")
        closing = self._closes(request.side, request.position_side, request.reduce_only)
        if closing and self._reducible(acct, spec.symbol, request.side, request.position_side) == 0:
            raise VenueReject(RejectReason.REDUCE_ONLY_REJECTED, "no position to reduce")
        notional_price = price or trigger or current
        if not closing and request.quantity * notional_price < spec.min_notional:
            raise VenueReject(RejectReason.MIN_NOTIONAL, f"notional {request.quantity * notional_price}")

        algo_id = self._next_algo_id
        self._next_algo_id += 1
        algo = AlgoOrder(
            algo_id=algo_id,
            client_algo_id=request.client_algo_id or f"sim-algo-{algo_id}",
            account_id=account_id,
            symbol=spec.symbol,
            side=request.side,
            type=request.type,
            position_side=request.position_side,
            time_in_force=request.time_in_force,
            quantity=request.quantity,
            trigger_price=trigger,
            price=price,
            working_type=request.working_type,
            reduce_only=request.reduce_only,
            status=AlgoStatus.NEW,
            activate_price=request.activate_price,
            callback_rate=request.callback_rate,
            good_till_date_ms=gtd,
            create_time_ms=now,
            update_time_ms=now,
            trailing_extreme=extreme,
        )
        self._algos[algo_id] = algo
        self._account_algos[account_id].append(algo_id)
        self._open_algos[spec.symbol][algo_id] = None
        self._client_algo_ids[(account_id, algo.client_algo_id)] = algo_id
        if gtd:
            heapq.heappush(self._gtd_algos, (gtd, algo_id))
        self._emit(AlgoEvent(account_id, now, copy.copy(algo)))
        return copy.copy(algo)

    @staticmethod
    def _crossed(type_: OrderType, side: Side, price: Decimal, trigger: Decimal) -> bool:
        """Stop buys trigger at or above, stop sells at or below; take-profits the opposite."""
        upward = (side is Side.BUY) == (type_ in STOP_TYPES)
        return price >= trigger if upward else price <= trigger

    def _trail(self, algo: AlgoOrder, price: Decimal) -> Decimal | None:
        """Follows the extreme since activation; returns the stop level once it is crossed."""
        assert algo.callback_rate is not None
        if algo.trailing_extreme is None:
            activate = algo.activate_price
            if activate is not None and (price < activate if algo.side is Side.SELL else price > activate):
                return None
            algo.trailing_extreme = price
            # Activated while still NEW: a second NEW event, now activated (Binance "ia": true).
            self._emit(AlgoEvent(algo.account_id, self._now(), copy.copy(algo), activation=True))
        if algo.side is Side.SELL:
            algo.trailing_extreme = max(algo.trailing_extreme, price)
            stop = algo.trailing_extreme * (1 - algo.callback_rate / 100)
            crossed = price <= stop
        else:
            algo.trailing_extreme = min(algo.trailing_extreme, price)
            stop = algo.trailing_extreme * (1 + algo.callback_rate / 100)
            crossed = price >= stop
        if not crossed:
            return None
        market = self._markets[algo.symbol]
        return market.px(market.to_ticks(stop))  # tick 0.10 is not quantize(0.10)

    def _check_algos(self, symbol: str) -> None:
        market = self._markets[symbol]
        for algo_id in list(self._open_algos[symbol]):
            algo = self._algos[algo_id]
            if algo.status is not AlgoStatus.NEW:
                continue
            price = market.mark_price if algo.working_type is WorkingType.MARK_PRICE else market.last_price
            if algo.type is OrderType.TRAILING_STOP_MARKET:
                stop = self._trail(algo, price)
                if stop is not None:
                    self._trigger(algo, stop)
            elif self._crossed(algo.type, algo.side, price, algo.trigger_price):
                self._trigger(algo, algo.trigger_price)

    def _algo_done(self, algo: AlgoOrder, status: AlgoStatus, reason: str = "") -> None:
        now = self._now()
        algo.status = status
        algo.reject_reason = reason
        algo.update_time_ms = now
        self._open_algos[algo.symbol].pop(algo.algo_id, None)
        self._emit(AlgoEvent(algo.account_id, now, copy.copy(algo)))

    def _trigger(self, algo: AlgoOrder, stop_price: Decimal) -> None:
        now = self._now()
        acct = self._accounts[algo.account_id]
        algo.status = AlgoStatus.TRIGGERING
        algo.trigger_time_ms = now
        algo.update_time_ms = now
        self._emit(AlgoEvent(algo.account_id, now, copy.copy(algo)))
        is_market = algo.type in MARKET_ALGO_TYPES
        qty = algo.quantity
        if self._closes(algo.side, algo.position_side, algo.reduce_only):
            cap = self._reducible(acct, algo.symbol, algo.side, algo.position_side)
            if cap == 0:
                # Binance's algo service expires (system-cancels) a closing order whose position
                # is gone (e.g. GTE_GTC); REJECTED is reserved for checks like margin.
                self._algo_done(algo, AlgoStatus.EXPIRED, "REDUCE_ONLY_REJECTED")
                return
            qty = min(qty, cap)
        else:
            ref = self._reference_price(algo.symbol, algo.side) if is_market else algo.price
            need = ledger.initial_margin(qty * ref, self._leverage(acct, algo.symbol))
            if need > self.available_balance(acct.account_id):
                self._algo_done(algo, AlgoStatus.REJECTED, RejectReason.INSUFFICIENT_MARGIN.value)
                return
        order = self._new_order(
            acct,
            algo.symbol,
            algo.side,
            OrderType.MARKET if is_market else OrderType.LIMIT,
            algo.type,
            TimeInForce.GTC if is_market else algo.time_in_force,
            algo.position_side,
            algo.reduce_only,
            qty,
            Decimal(0) if is_market else algo.price,
            stop_price,
            algo.working_type,
            algo.client_algo_id,
            algo.good_till_date_ms if algo.time_in_force is TimeInForce.GTD else 0,
            algo.algo_id,
            now,
        )
        self._open_algos[algo.symbol].pop(algo.algo_id, None)
        algo.status = AlgoStatus.TRIGGERED
        algo.actual_order_id = order.order_id
        self._emit(AlgoEvent(algo.account_id, now, copy.copy(algo)))
        self._emit(OrderEvent(algo.account_id, now, ExecType.NEW, copy_order(order)))
        self._execute(order)

    def _find_algo(self, account_id: str, algo_id: int | None, client_algo_id: str | None) -> AlgoOrder:
        self._acct(account_id)
        algo: AlgoOrder | None = None
        if algo_id is not None:
            algo = self._algos.get(algo_id)
        elif client_algo_id is not None:
            found = self._client_algo_ids.get((account_id, client_algo_id))
            algo = self._algos.get(found) if found is not None else None
        else:
            raise VenueReject(RejectReason.INVALID_PARAMETER, "algoId or clientAlgoId is required")
        if algo is None or algo.account_id != account_id:
            raise VenueReject(RejectReason.ORDER_NOT_FOUND)
        return algo

    def cancel_algo(
        self, account_id: str, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder:
        algo = self._find_algo(account_id, algo_id, client_algo_id)
        if not algo.is_open:
            raise VenueReject(RejectReason.CANCEL_REJECTED, f"algo order is {algo.status}")
        self._algo_done(algo, AlgoStatus.CANCELED)
        return copy.copy(algo)

    def cancel_all_algos(self, account_id: str, symbol: str) -> list[AlgoOrder]:
        self._acct(account_id)
        self._spec(symbol)
        targets = [
            self._algos[a]
            for a in self._account_algos[account_id]
            if self._algos[a].symbol == symbol and self._algos[a].is_open
        ]
        for algo in targets:
            self._algo_done(algo, AlgoStatus.CANCELED)
        return [copy.copy(a) for a in targets]

    def get_algo(
        self, account_id: str, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder:
        return copy.copy(self._find_algo(account_id, algo_id, client_algo_id))

    def open_algo_count(self, account_id: str) -> int:
        """How many of the account's algo orders are open (NEW or TRIGGERING), across symbols."""
        self._acct(account_id)
        return sum(
            1
            for open_ids in self._open_algos.values()
            for i in open_ids
            if self._algos[i].account_id == account_id
        )

    def open_algos(self, account_id: str, symbol: str | None = None) -> list[AlgoOrder]:
        self._acct(account_id)
        if symbol is not None:
            self._spec(symbol)
        return [
            copy.copy(a)
            for a in (self._algos[i] for i in self._account_algos[account_id])
            if a.is_open and (symbol is None or a.symbol == symbol)
        ]

    def all_algos(
        self,
        account_id: str,
        symbol: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 100,
    ) -> list[AlgoOrder]:
        self._acct(account_id)
        self._spec(symbol)
        matches = [
            a
            for a in (self._algos[i] for i in self._account_algos[account_id])
            if a.symbol == symbol and in_range(a.create_time_ms, start_ms, end_ms)
        ]
        return [copy.copy(a) for a in page(matches, limit, start_ms is not None)]
