"""Regular orders: placement, execution against the synthetic book (taker walks, resting makers),
fills and their ledger entries, amendment, cancellation and the order and trade queries."""

from __future__ import annotations

import copy
import heapq
from bisect import bisect_left, insort
from decimal import Decimal

from adapters.sim import ledger
from adapters.sim.engine.accounts import AccountsEngine
from adapters.sim.engine.core import copy_order, in_range, page
from adapters.sim.model import (
    Account,
    AccountEvent,
    AlgoEvent,
    AlgoStatus,
    ExecType,
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    PositionSide,
    RejectReason,
    Side,
    TimeInForce,
    Trade,
    VenueReject,
    WorkingType,
)

ALGO_TYPES = frozenset(
    {
        OrderType.STOP,
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)
# Binance "er": why an order expired.
EXPIRE_NONE = 0
EXPIRE_IOC_REMAINDER = 2
EXPIRE_REDUCE_ONLY_KNOCKED_OUT = 4


class OrdersEngine(AccountsEngine):
    # --- regular orders ----------------------------------------------------------------------
    def place_order(self, account_id: str, request: OrderRequest) -> Order:
        """Validates filters, then accepts (OrderEvent NEW) and matches (TRADE events, then
        AccountEvent per fill). IOC/FOK remainders expire (EXPIRED); GTX that would take raises
        POST_ONLY_WOULD_TAKE; conditional types raise ALGO_TYPE_ON_ORDER_ENDPOINT.
        Returns a copy of the order after matching."""
        acct = self._acct(account_id)
        spec = self._spec(request.symbol)
        now = self._now()
        if request.type in ALGO_TYPES:
            raise VenueReject(RejectReason.ALGO_TYPE_ON_ORDER_ENDPOINT, request.type.value)
        if request.type not in (OrderType.LIMIT, OrderType.MARKET):
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"type {request.type}")
        self._check_position_side(acct, request.position_side, request.reduce_only)
        is_market = request.type is OrderType.MARKET
        self._check_qty(spec, request.quantity, is_market)
        tif = TimeInForce.GTC if is_market else request.time_in_force
        price = Decimal(0) if is_market else self._check_price(spec, request.price)
        gtd = 0
        if tif is TimeInForce.GTD:
            if request.good_till_date_ms is None:
                raise VenueReject(RejectReason.INVALID_PARAMETER, "goodTillDate is required for GTD")
            if request.good_till_date_ms <= now:
                raise VenueReject(RejectReason.GTD_IN_PAST, str(request.good_till_date_ms))
            gtd = request.good_till_date_ms
        if request.client_order_id is not None:
            existing = self._client_ids.get((account_id, request.client_order_id))
            if existing is not None and self._orders[existing].is_open:
                raise VenueReject(RejectReason.DUPLICATE_CLIENT_ID, request.client_order_id)
        qty = request.quantity
        closing = self._closes(request.side, request.position_side, request.reduce_only)
        if closing:
            cap = self._reducible(acct, spec.symbol, request.side, request.position_side)
            if cap == 0:
                raise VenueReject(RejectReason.REDUCE_ONLY_REJECTED, "no position to reduce")
            qty = min(qty, cap)
        ref_price = self._reference_price(spec.symbol, request.side) if is_market else price
        if not closing and qty * ref_price < spec.min_notional:
            raise VenueReject(RejectReason.MIN_NOTIONAL, f"notional {qty * ref_price} < {spec.min_notional}")
        if tif is TimeInForce.GTX and self._would_take(spec.symbol, request.side, price):
            raise VenueReject(RejectReason.POST_ONLY_WOULD_TAKE)
        if not closing:
            self._check_margin(acct, spec.symbol, qty * ref_price)

        order = self._new_order(
            acct,
            spec.symbol,
            request.side,
            request.type,
            request.type,
            tif,
            request.position_side,
            request.reduce_only,
            qty,
            price,
            Decimal(0),
            WorkingType.CONTRACT_PRICE,
            request.client_order_id,
            gtd,
            None,
            now,
        )
        self._emit(OrderEvent(account_id, now, ExecType.NEW, copy_order(order)))
        self._execute(order)
        return copy_order(order)

    def _new_order(
        self,
        acct: Account,
        symbol: str,
        side: Side,
        type_: OrderType,
        orig_type: OrderType,
        tif: TimeInForce,
        position_side: PositionSide,
        reduce_only: bool,
        qty: Decimal,
        price: Decimal,
        stop_price: Decimal,
        working_type: WorkingType,
        client_order_id: str | None,
        gtd: int,
        algo_id: int | None,
        now: int,
    ) -> Order:
        order_id = self._next_order_id
        self._next_order_id += 1
        order = Order(
            order_id=order_id,
            client_order_id=client_order_id or f"sim-{order_id}",
            account_id=acct.account_id,
            symbol=symbol,
            side=side,
            type=type_,
            orig_type=orig_type,
            time_in_force=tif,
            position_side=position_side,
            reduce_only=reduce_only,
            orig_qty=qty,
            price=price,
            stop_price=stop_price,
            working_type=working_type,
            status=OrderStatus.NEW,
            good_till_date_ms=gtd,
            create_time_ms=now,
            update_time_ms=now,
            algo_id=algo_id,
        )
        self._orders[order_id] = order
        self._account_orders[acct.account_id].append(order_id)
        self._open_orders[acct.account_id][order_id] = None
        self._client_ids[(acct.account_id, order.client_order_id)] = order_id
        if gtd:
            heapq.heappush(self._gtd_orders, (gtd, order_id))
        return order

    def _execute(self, order: Order) -> None:
        """Take liquidity as far as the order's price allows, then rest or expire the rest."""
        market = self._markets[order.symbol]
        acct = self._accounts[order.account_id]
        limit_ticks = None if order.type is OrderType.MARKET else market.to_ticks(order.price)
        qty = order.leaves_qty
        if self._closes(order.side, order.position_side, order.reduce_only):
            cap = self._reducible(acct, order.symbol, order.side, order.position_side)
            if cap == 0:
                self._end(order, OrderStatus.EXPIRED, ExecType.EXPIRED, EXPIRE_REDUCE_ONLY_KNOCKED_OUT)
                return
            qty = min(qty, cap)
        if order.time_in_force is TimeInForce.FOK and market.available(order.side, limit_ticks) < qty:
            self._end(order, OrderStatus.EXPIRED, ExecType.EXPIRED, EXPIRE_NONE)
            return
        fills = market.take(order.side, qty, limit_ticks)
        if fills:
            now = self._now()
            self._emit(market.flush_delta(now))
            executions = []
            for ticks, fill_qty in fills:
                trade_id = market.next_trade_id()
                self._emit(
                    market.record_public(now, ticks, fill_qty, order.side is Side.SELL, trade_id, trade_id)
                )
                executions.append((market.px(ticks), fill_qty, trade_id))
            for fill_price, fill_qty, trade_id in executions:
                self._fill(order, fill_price, fill_qty, False, trade_id)
        if not order.is_open:
            return
        if order.type is OrderType.MARKET or order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            self._end(order, OrderStatus.EXPIRED, ExecType.EXPIRED, EXPIRE_IOC_REMAINDER)
        else:
            self._rest(order)

    def _fill(self, order: Order, price: Decimal, qty: Decimal, maker: bool, trade_id: int) -> None:
        now = self._now()
        acct = self._accounts[order.account_id]
        spec = self._specs[order.symbol]
        pos = self._position(acct, order.symbol, order.position_side)
        fee = ledger.commission(price, qty, acct.maker_commission if maker else acct.taker_commission)
        realized = ledger.apply_fill(
            pos, order.side, qty, price, acct.taker_commission, spec.price_precision, now
        )
        acct.wallet_balance += realized - fee
        acct.update_time_ms = now
        order.executed_qty += qty
        order.cum_quote += price * qty
        order.avg_price = ledger.derived_price(order.cum_quote / order.executed_qty, spec.price_precision)
        order.status = OrderStatus.FILLED if order.leaves_qty == 0 else OrderStatus.PARTIALLY_FILLED
        order.update_time_ms = now
        order.trade_ids.append(trade_id)
        trade = Trade(
            trade_id=trade_id,
            order_id=order.order_id,
            client_order_id=order.client_order_id,
            account_id=acct.account_id,
            symbol=order.symbol,
            side=order.side,
            position_side=order.position_side,
            price=price,
            qty=qty,
            quote_qty=price * qty,
            commission=fee,
            commission_asset=acct.asset,
            realized_pnl=realized,
            maker=maker,
            time_ms=now,
        )
        self._trades.append(trade)
        self._account_trades.setdefault((acct.account_id, order.symbol), []).append(trade)
        if order.algo_id is not None:
            algo = self._algos[order.algo_id]
            algo.executed_qty = order.executed_qty
            algo.avg_price = order.avg_price
        self._emit(OrderEvent(acct.account_id, now, ExecType.TRADE, copy_order(order), copy.copy(trade)))
        self._emit(
            AccountEvent(
                account_id=acct.account_id,
                time_ms=now,
                reason="ORDER",
                wallet_balance=acct.wallet_balance,
                cross_wallet_balance=acct.wallet_balance,
                balance_change=Decimal(0),
                positions=(copy.copy(pos),),
            )
        )
        if order.status is OrderStatus.FILLED:
            self._finalize(order)

    def _end(self, order: Order, status: OrderStatus, exec_type: ExecType, expire_reason: int) -> None:
        now = self._now()
        order.status = status
        order.expire_reason = expire_reason
        order.update_time_ms = now
        self._finalize(order, publish_first=OrderEvent(order.account_id, now, exec_type, copy_order(order)))

    def _finalize(self, order: Order, publish_first: OrderEvent | None = None) -> None:
        """Take a final order out of the live indexes; an algo's child finishing finishes it."""
        self._open_orders[order.account_id].pop(order.order_id, None)
        self._unrest(order)
        if publish_first is not None:
            self._emit(publish_first)
        if order.algo_id is not None:
            algo = self._algos[order.algo_id]
            algo.status = AlgoStatus.FINISHED
            algo.executed_qty = order.executed_qty
            algo.avg_price = order.avg_price
            algo.update_time_ms = order.update_time_ms
            self._emit(AlgoEvent(algo.account_id, order.update_time_ms, copy.copy(algo)))

    def _rest(self, order: Order) -> None:
        ticks = self._markets[order.symbol].to_ticks(order.price)
        self._queue_seq += 1
        key = (-ticks if order.side is Side.BUY else ticks, self._queue_seq, order.order_id)
        insort(self._resting[order.symbol][order.side], key)
        self._rest_keys[order.order_id] = key

    def _unrest(self, order: Order) -> None:
        key = self._rest_keys.pop(order.order_id, None)
        if key is None:
            return
        index = self._resting[order.symbol][order.side]
        del index[bisect_left(index, key)]

    def _find_order(
        self, account_id: str, symbol: str, order_id: int | None, client_order_id: str | None
    ) -> Order:
        self._acct(account_id)
        self._spec(symbol)
        order: Order | None = None
        if order_id is not None:
            order = self._orders.get(order_id)
        elif client_order_id is not None:
            found = self._client_ids.get((account_id, client_order_id))
            order = self._orders.get(found) if found is not None else None
        else:
            raise VenueReject(RejectReason.INVALID_PARAMETER, "orderId or origClientOrderId is required")
        if order is None or order.account_id != account_id or order.symbol != symbol:
            raise VenueReject(RejectReason.ORDER_NOT_FOUND)
        return order

    def modify_order(
        self,
        account_id: str,
        symbol: str,
        *,
        order_id: int | None = None,
        client_order_id: str | None = None,
        side: Side,
        quantity: Decimal,
        price: Decimal,
    ) -> Order:
        """Amends a resting LIMIT order (OrderEvent AMENDMENT), then matches if it now crosses.

        Binance cancels the order when the new quantity is <= executed or a GTX order would
        cross; here both are refused and the order is left as it was (the lead's decision: a
        modify either applies or changes nothing)."""
        acct = self._acct(account_id)
        spec = self._spec(symbol)
        order = self._find_order(account_id, symbol, order_id, client_order_id)
        if order.type is not OrderType.LIMIT or not order.is_open:
            raise VenueReject(RejectReason.MODIFY_NOT_ALLOWED, f"{order.type} {order.status}")
        if side is not order.side:
            raise VenueReject(RejectReason.INVALID_PARAMETER, "side does not match the order")
        self._check_price(spec, price)
        self._check_qty(spec, quantity, market=False)
        if quantity <= order.executed_qty:
            raise VenueReject(RejectReason.INVALID_PARAMETER, "quantity must exceed executed quantity")
        if quantity == order.orig_qty and price == order.price:
            raise VenueReject(RejectReason.MODIFY_NO_CHANGE)
        closing = self._closes(order.side, order.position_side, order.reduce_only)
        if not closing and quantity * price < spec.min_notional:
            raise VenueReject(RejectReason.MIN_NOTIONAL, f"notional {quantity * price}")
        if order.time_in_force is TimeInForce.GTX and self._would_take(symbol, side, price):
            raise VenueReject(RejectReason.POST_ONLY_WOULD_TAKE)
        if not closing:
            lev = self._leverage(acct, symbol)
            extra = ledger.initial_margin(
                (quantity - order.executed_qty) * price, lev
            ) - ledger.initial_margin(order.leaves_qty * order.price, lev)
            if extra > 0 and extra > self.available_balance(account_id):
                raise VenueReject(RejectReason.INSUFFICIENT_MARGIN)
        now = self._now()
        self._unrest(order)  # an amended order loses its queue place, as on Binance
        order.orig_qty = quantity
        order.price = price
        order.update_time_ms = now
        self._emit(OrderEvent(account_id, now, ExecType.AMENDMENT, copy_order(order)))
        self._execute(order)
        return copy_order(order)

    def cancel_order(
        self, account_id: str, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        order = self._find_order(account_id, symbol, order_id, client_order_id)
        if not order.is_open:
            raise VenueReject(RejectReason.CANCEL_REJECTED, f"order is {order.status}")
        self._end(order, OrderStatus.CANCELED, ExecType.CANCELED, EXPIRE_NONE)
        return copy_order(order)

    def cancel_all_orders(self, account_id: str, symbol: str) -> list[Order]:
        self._acct(account_id)
        self._spec(symbol)
        targets = [self._orders[o] for o in self._open_orders[account_id] if self._orders[o].symbol == symbol]
        for order in targets:
            self._end(order, OrderStatus.CANCELED, ExecType.CANCELED, EXPIRE_NONE)
        return [copy_order(o) for o in targets]

    def get_order(
        self, account_id: str, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        """Open or finished; raises ORDER_NOT_FOUND."""
        return copy_order(self._find_order(account_id, symbol, order_id, client_order_id))

    def open_orders(self, account_id: str, symbol: str | None = None) -> list[Order]:
        self._acct(account_id)
        if symbol is not None:
            self._spec(symbol)
        orders = (self._orders[o] for o in self._open_orders[account_id])
        return [copy_order(o) for o in orders if symbol is None or o.symbol == symbol]

    def all_orders(
        self,
        account_id: str,
        symbol: str,
        *,
        order_id: int | None = None,  # >= this id
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Order]:
        self._acct(account_id)
        self._spec(symbol)
        matches = [
            o
            for o in (self._orders[i] for i in self._account_orders[account_id])
            if o.symbol == symbol
            and (order_id is None or o.order_id >= order_id)
            and in_range(o.create_time_ms, start_ms, end_ms)
        ]
        return [copy_order(o) for o in page(matches, limit, order_id is not None or start_ms is not None)]

    def account_trades(
        self,
        account_id: str,
        symbol: str,
        *,
        from_id: int | None = None,  # trade id >= from_id
        order_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Trade]:
        self._acct(account_id)
        self._spec(symbol)
        matches = [
            t
            for t in self._account_trades.get((account_id, symbol), [])
            if (from_id is None or t.trade_id >= from_id)
            and (order_id is None or t.order_id == order_id)
            and in_range(t.time_ms, start_ms, end_ms)
        ]
        return [copy.copy(t) for t in page(matches, limit, from_id is not None or start_ms is not None)]
