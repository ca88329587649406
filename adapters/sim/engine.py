"""The simulated venue's matching engine and account ledger — venue-neutral and I/O-free.

One ``VenueEngine`` is the whole venue: instruments, a seeded market (price process, a finite
synthetic order book, public trades, mark price and funding), accounts with balances, positions
and commission, regular orders and algo (conditional) orders. Wire dialects (Binance, BingX)
translate requests into these calls and render the ``EngineEvent`` objects it publishes.

Contract (the dialects and the tests rely on it):
* Every method is synchronous and runs to completion; events are delivered to listeners
  synchronously, in the order they happened, *before* the method returns.
* A method either raises ``VenueReject`` having changed nothing, or succeeds.
* Determinism: with the same seed, specs and call sequence, the same ids, prices and events result.
  Time comes only from the injected ``clock`` callable (epoch milliseconds).
* The user's orders trade against the synthetic book (the "rest of the market"); they never match
  each other. Taker orders walk the book level by level and deplete it (so a large order partially
  fills across levels, and a level smaller than the order gives a partial fill); a resting LIMIT
  order fills as maker when the market moves through its price, limited by the liquidity the
  market offers at that step (so it can fill partially over several steps).

Simulation choices (where Binance leaves room or where the simulator differs on purpose):
* The synthetic book sits on a fixed price grid (about 0.5 bp apart) strictly either side of the
  last price; levels a taker depletes are refilled at the next step. Each ``step`` publishes one
  BookDelta per symbol; taker consumption publishes its own delta before the fills' events.
* ``set_price`` fills every resting order it reaches in full at its limit price (the tests' lever);
  ``step`` fills only as much as the book liquidity at or better than the order's price.
* Order events come in this order: NEW, BookDelta, PublicTrade(s), then TRADE + AccountEvent per
  fill, then EXPIRED for an IOC/MARKET remainder (``expire_reason`` 2).
* A reduce-only (or hedge-mode closing) algo order whose position is gone when it triggers ends
  EXPIRED, as Binance's algo service system-cancels it; REJECTED means the margin check failed.
  A resting reduce-only order reached by the market with nothing left to reduce expires (er 4).
* A triggered algo order's child carries the algo's client id as its ``client_order_id``.
* ``modify_order`` refuses (and leaves the order as it was) where Binance would cancel it: new
  quantity <= executed, or a GTX order that would cross.
* ``reduce_only`` is refused in hedge mode (Binance -1106); hedge closing orders are capped to
  the position like reduce-only ones.
"""

from __future__ import annotations

import copy
import heapq
import logging
from bisect import bisect_left, insort
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TypeVar

from adapters.sim import ledger
from adapters.sim.market import SymbolMarket, default_specs
from adapters.sim.model import (
    Account,
    AccountConfigEvent,
    AccountEvent,
    AlgoEvent,
    AlgoOrder,
    AlgoRequest,
    AlgoStatus,
    BookSnapshot,
    EngineEvent,
    ExecType,
    Kline,
    MarginCallEvent,
    MarginType,
    MarkPriceSnapshot,
    Order,
    OrderEvent,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    PublicTrade,
    RejectReason,
    Side,
    SymbolSpec,
    TimeInForce,
    Trade,
    VenueReject,
    WorkingType,
)

__all__ = ["Clock", "EventListener", "VenueEngine", "default_specs"]

log = logging.getLogger(__name__)

EventListener = Callable[[EngineEvent], None]
Clock = Callable[[], int]  # epoch milliseconds

DEFAULT_LEVERAGE = 20
ALGO_TYPES = frozenset(
    {
        OrderType.STOP,
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)
_MARKET_ALGO_TYPES = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TRAILING_STOP_MARKET,
    }
)
_STOP_TYPES = frozenset({OrderType.STOP, OrderType.STOP_MARKET})
_MIN_CALLBACK_RATE = Decimal("0.1")
_MAX_CALLBACK_RATE = Decimal("10")
# Binance "er": why an order expired.
EXPIRE_NONE = 0
EXPIRE_IOC_REMAINDER = 2
EXPIRE_REDUCE_ONLY_KNOCKED_OUT = 4

_T = TypeVar("_T")
_BookKey = tuple[int, int, int]  # (price key, queue sequence, order id); price key sorts best first


def _copy_order(order: Order) -> Order:
    return replace(order, trade_ids=list(order.trade_ids))


def _page(items: list[_T], limit: int, from_start: bool) -> list[_T]:
    """Binance history paging: with a lower bound, the oldest ``limit`` from it; otherwise the
    newest ``limit``. Always ascending."""
    if limit <= 0:
        return []
    return items[:limit] if from_start else items[-limit:]


def _in_range(t: int, start_ms: int | None, end_ms: int | None) -> bool:
    return (start_ms is None or t >= start_ms) and (end_ms is None or t <= end_ms)


class VenueEngine:
    def __init__(
        self,
        specs: list[SymbolSpec],
        *,
        seed: int = 1,
        clock: Clock,
        order_id_start: int = 8_000_000_000,
        algo_id_start: int = 1_000_000_000_000,
        book_levels: int = 20,
        max_callback_rate: Decimal = _MAX_CALLBACK_RATE,
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
        self._resting: dict[str, dict[Side, list[_BookKey]]] = {
            s: {Side.BUY: [], Side.SELL: []} for s in self._specs
        }
        self._rest_keys: dict[int, _BookKey] = {}
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

    # --- accounts ----------------------------------------------------------------------------
    def create_account(
        self,
        account_id: str,
        *,
        asset: str = "USDT",
        balance: Decimal = Decimal("100000"),
        maker_commission: Decimal = Decimal("0.0002"),
        taker_commission: Decimal = Decimal("0.0005"),
        hedge_mode: bool = False,
    ) -> Account:
        if account_id in self._accounts:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"account {account_id} exists")
        acct = Account(
            account_id=account_id,
            asset=asset,
            wallet_balance=balance,
            maker_commission=maker_commission,
            taker_commission=taker_commission,
            hedge_mode=hedge_mode,
            update_time_ms=self._now(),
        )
        self._accounts[account_id] = acct
        self._account_orders[account_id] = []
        self._open_orders[account_id] = {}
        self._account_algos[account_id] = []
        return self.account(account_id)

    def _acct(self, account_id: str) -> Account:
        acct = self._accounts.get(account_id)
        if acct is None:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"unknown account {account_id}")
        return acct

    def account(self, account_id: str) -> Account:
        """A copy: callers cannot change the venue through it."""
        acct = self._acct(account_id)
        return replace(
            acct,
            leverage=dict(acct.leverage),
            margin_type=dict(acct.margin_type),
            positions={k: copy.copy(p) for k, p in acct.positions.items()},
        )

    def _leverage(self, acct: Account, symbol: str) -> int:
        return acct.leverage.get(symbol, DEFAULT_LEVERAGE)

    def _slots(self, acct: Account) -> tuple[PositionSide, ...]:
        return (PositionSide.LONG, PositionSide.SHORT) if acct.hedge_mode else (PositionSide.BOTH,)

    def _position(self, acct: Account, symbol: str, position_side: PositionSide) -> Position:
        key = (symbol, position_side)
        pos = acct.positions.get(key)
        if pos is None:
            pos = acct.positions[key] = Position(symbol=symbol, position_side=position_side)
        return pos

    @staticmethod
    def _peek_position(acct: Account, symbol: str, position_side: PositionSide) -> Position:
        """Read-only view: a flat stand-in for a slot never traded, so queries and rejected
        requests leave the account exactly as it was."""
        pos = acct.positions.get((symbol, position_side))
        return pos if pos is not None else Position(symbol=symbol, position_side=position_side)

    def set_position_mode(self, account_id: str, hedge_mode: bool) -> None:
        """Rejects POSITION_MODE_CHANGE_WITH_OPEN with open orders or positions."""
        acct = self._acct(account_id)
        if acct.hedge_mode == hedge_mode:
            return
        has_algos = any(self._algos[a].is_open for a in self._account_algos[account_id])
        has_position = any(p.amount != 0 for p in acct.positions.values())
        if self._open_orders[account_id] or has_algos or has_position:
            raise VenueReject(RejectReason.POSITION_MODE_CHANGE_WITH_OPEN)
        acct.hedge_mode = hedge_mode
        acct.positions.clear()  # all flat: the new mode's slots are created on demand
        acct.update_time_ms = self._now()

    def set_leverage(self, account_id: str, symbol: str, leverage: int) -> int:
        """Publishes AccountConfigEvent. Returns the leverage set."""
        acct = self._acct(account_id)
        spec = self._spec(symbol)
        if not 1 <= leverage <= spec.max_leverage:
            raise VenueReject(RejectReason.INVALID_LEVERAGE, f"{leverage} not in 1..{spec.max_leverage}")
        acct.leverage[symbol] = leverage
        self._emit(AccountConfigEvent(account_id, self._now(), symbol, leverage))
        return leverage

    def set_margin_type(self, account_id: str, symbol: str, margin_type: MarginType) -> None:
        acct = self._acct(account_id)
        self._spec(symbol)
        busy = any(self._orders[o].symbol == symbol for o in self._open_orders[account_id]) or any(
            p.amount != 0 for (s, _), p in acct.positions.items() if s == symbol
        )
        if busy and acct.margin_type.get(symbol, MarginType.CROSSED) != margin_type:
            # Binance -4047/-4048: margin type is fixed while orders or a position exist.
            raise VenueReject(RejectReason.INVALID_PARAMETER, "open orders or position on symbol")
        acct.margin_type[symbol] = margin_type

    def positions(self, account_id: str, symbol: str | None = None) -> list[Position]:
        """All position slots (including flat ones) for the account's mode: one BOTH per symbol
        in one-way mode, LONG and SHORT per symbol in hedge mode."""
        acct = self._acct(account_id)
        symbols = [self._spec(symbol).symbol] if symbol is not None else list(self._specs)
        return [copy.copy(self._peek_position(acct, s, ps)) for s in symbols for ps in self._slots(acct)]

    def unrealized_pnl(self, account_id: str, symbol: str, position_side: PositionSide) -> Decimal:
        acct = self._acct(account_id)
        self._spec(symbol)
        return ledger.unrealized(
            self._peek_position(acct, symbol, position_side), self._markets[symbol].mark_price
        )

    def available_balance(self, account_id: str) -> Decimal:
        """Wallet + unrealized PnL - initial margin of positions and open orders."""
        acct = self._acct(account_id)
        total = acct.wallet_balance
        for (symbol, _), pos in acct.positions.items():
            if pos.amount != 0:
                mark = self._markets[symbol].mark_price
                total += ledger.unrealized(pos, mark)
                total -= ledger.initial_margin(pos.amount * mark, self._leverage(acct, symbol))
        for oid in self._open_orders[account_id]:
            order = self._orders[oid]
            total -= ledger.initial_margin(order.leaves_qty * order.price, self._leverage(acct, order.symbol))
        return total

    # --- validation helpers ------------------------------------------------------------------
    @staticmethod
    def _check_price(spec: SymbolSpec, price: Decimal | None, what: str = "price") -> Decimal:
        if price is None:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"{what} is required")
        if price <= 0 or price < spec.min_price or price > spec.max_price or price % spec.tick_size != 0:
            raise VenueReject(RejectReason.PRICE_FILTER, f"{what} {price}")
        return price

    @staticmethod
    def _check_qty(spec: SymbolSpec, qty: Decimal, market: bool) -> None:
        if market:
            step, lo, hi, reason = (
                spec.market_step_size,
                spec.market_min_qty,
                spec.market_max_qty,
                RejectReason.MARKET_LOT_SIZE,
            )
        else:
            step, lo, hi, reason = spec.step_size, spec.min_qty, spec.max_qty, RejectReason.LOT_SIZE
        if qty <= 0 or qty < lo or qty > hi or qty % step != 0:
            raise VenueReject(reason, f"quantity {qty}")

    @staticmethod
    def _check_position_side(acct: Account, position_side: PositionSide, reduce_only: bool) -> None:
        if acct.hedge_mode == (position_side is PositionSide.BOTH):
            raise VenueReject(
                RejectReason.POSITION_SIDE_MISMATCH,
                f"{position_side} in {'hedge' if acct.hedge_mode else 'one-way'} mode",
            )
        if acct.hedge_mode and reduce_only:
            # Binance -1106: in hedge mode the position side already says open or close.
            raise VenueReject(RejectReason.INVALID_PARAMETER, "reduceOnly not allowed in hedge mode")

    @staticmethod
    def _closes(side: Side, position_side: PositionSide, reduce_only: bool) -> bool:
        """Orders that may only shrink a position: reduce-only, and hedge-mode closing orders."""
        if position_side is PositionSide.LONG:
            return side is Side.SELL
        if position_side is PositionSide.SHORT:
            return side is Side.BUY
        return reduce_only

    def _reducible(self, acct: Account, symbol: str, side: Side, position_side: PositionSide) -> Decimal:
        return ledger.reducible(self._peek_position(acct, symbol, position_side), side)

    def _reference_price(self, symbol: str, side: Side) -> Decimal:
        market = self._markets[symbol]
        best = market.best(side)
        return market.px(best) if best is not None else market.last_price

    def _check_margin(self, acct: Account, symbol: str, notional: Decimal) -> None:
        need = ledger.initial_margin(notional, self._leverage(acct, symbol))
        available = self.available_balance(acct.account_id)
        if need > available:
            raise VenueReject(RejectReason.INSUFFICIENT_MARGIN, f"need {need}, available {available}")

    def _would_take(self, symbol: str, side: Side, price: Decimal) -> bool:
        market = self._markets[symbol]
        best = market.best(side)
        if best is None:
            return False
        ticks = market.to_ticks(price)
        return best <= ticks if side is Side.BUY else best >= ticks

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
        self._emit(OrderEvent(account_id, now, ExecType.NEW, _copy_order(order)))
        self._execute(order)
        return _copy_order(order)

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
        self._emit(OrderEvent(acct.account_id, now, ExecType.TRADE, _copy_order(order), copy.copy(trade)))
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
        self._finalize(order, publish_first=OrderEvent(order.account_id, now, exec_type, _copy_order(order)))

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
        self._emit(OrderEvent(account_id, now, ExecType.AMENDMENT, _copy_order(order)))
        self._execute(order)
        return _copy_order(order)

    def cancel_order(
        self, account_id: str, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        order = self._find_order(account_id, symbol, order_id, client_order_id)
        if not order.is_open:
            raise VenueReject(RejectReason.CANCEL_REJECTED, f"order is {order.status}")
        self._end(order, OrderStatus.CANCELED, ExecType.CANCELED, EXPIRE_NONE)
        return _copy_order(order)

    def cancel_all_orders(self, account_id: str, symbol: str) -> list[Order]:
        self._acct(account_id)
        self._spec(symbol)
        targets = [self._orders[o] for o in self._open_orders[account_id] if self._orders[o].symbol == symbol]
        for order in targets:
            self._end(order, OrderStatus.CANCELED, ExecType.CANCELED, EXPIRE_NONE)
        return [_copy_order(o) for o in targets]

    def get_order(
        self, account_id: str, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        """Open or finished; raises ORDER_NOT_FOUND."""
        return _copy_order(self._find_order(account_id, symbol, order_id, client_order_id))

    def open_orders(self, account_id: str, symbol: str | None = None) -> list[Order]:
        self._acct(account_id)
        if symbol is not None:
            self._spec(symbol)
        orders = (self._orders[o] for o in self._open_orders[account_id])
        return [_copy_order(o) for o in orders if symbol is None or o.symbol == symbol]

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
            and _in_range(o.create_time_ms, start_ms, end_ms)
        ]
        return [_copy_order(o) for o in _page(matches, limit, order_id is not None or start_ms is not None)]

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
            and _in_range(t.time_ms, start_ms, end_ms)
        ]
        return [copy.copy(t) for t in _page(matches, limit, from_id is not None or start_ms is not None)]

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
        self._check_qty(spec, request.quantity, request.type in _MARKET_ALGO_TYPES)
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
            if rate is None or not _MIN_CALLBACK_RATE <= rate <= self._max_callback_rate:
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
        upward = (side is Side.BUY) == (type_ in _STOP_TYPES)
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
        is_market = algo.type in _MARKET_ALGO_TYPES
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
        self._emit(OrderEvent(algo.account_id, now, ExecType.NEW, _copy_order(order)))
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
            if a.symbol == symbol and _in_range(a.create_time_ms, start_ms, end_ms)
        ]
        return [copy.copy(a) for a in _page(matches, limit, start_ms is not None)]

    # --- market ------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance the seeded price process one step for every symbol: new last/mark price,
        book changes (BookDelta), zero or more public trades, triggered algo orders, resting
        orders filled, GTD orders expired (against ``clock``). The server calls this on a timer."""
        now = self._now()
        self._expire_gtd(now)  # first, so an order past its time cannot fill in this step
        for symbol, market in self._markets.items():
            market.advance(now)
            fills, knocked_out = self._cross_resting(symbol, limited=True)
            self._emit(market.flush_delta(now))
            executions = self._publish_maker_trades(market, fills, now)
            for trade in market.synthetic_trades(now):
                self._emit(trade)
            self._emit(market.mark_event())
            self._apply_maker_fills(executions, knocked_out)
            self._check_algos(symbol)

    def set_price(self, symbol: str, price: Decimal, *, mark_price: Decimal | None = None) -> None:
        """Moves last and mark price to ``price`` now (book re-centred, BookDelta published);
        resting and algo orders that the move crosses trigger or fill.

        Resting orders the new price reaches (buy limit >= price, sell limit <= price) fill
        completely at their limit price, whatever the book holds: this is how tests force fills.
        ``mark_price`` (an addition to the contract) sets the mark apart from last, so MARK_PRICE
        triggers can be driven independently."""
        spec = self._spec(symbol)
        self._check_price(spec, price)
        if mark_price is not None:
            self._check_price(spec, mark_price, "markPrice")
        now = self._now()
        market = self._markets[symbol]
        market.set_price(market.to_ticks(price), now)
        if mark_price is not None:
            market.mark_ticks = market.to_ticks(mark_price)
        fills, knocked_out = self._cross_resting(symbol, limited=False)
        self._emit(market.flush_delta(now))
        executions = self._publish_maker_trades(market, fills, now)
        self._emit(market.mark_event())
        self._apply_maker_fills(executions, knocked_out)
        self._check_algos(symbol)

    def external_trade(self, symbol: str, side: Side, qty: Decimal, price: Decimal | None = None) -> Decimal:
        """Another participant's ``side`` taker order of ``qty`` trades against the account orders
        resting on the other side, best price first (and in time order at one price), each filled as
        maker at its own limit price; ``price`` bounds the taker (a buy takes no resting sell above
        it). Last and mark price stay where they are: this moves no market, it only makes resting
        orders trade, by as much as asked - the lever for a *partial* fill of a given size
        (``set_price`` fills every order it crosses in full). Returns the quantity traded (less than
        ``qty`` when not enough rests). An addition to the contract, for the restart drill."""
        spec = self._spec(symbol)
        if price is not None:
            self._check_price(spec, price)
        if not qty.is_finite() or qty <= 0:
            raise ValueError(f"qty {qty} must be a positive number")
        market = self._markets[symbol]
        maker_side = Side.SELL if side is Side.BUY else Side.BUY
        limit_ticks = market.to_ticks(price) if price is not None else None
        now = self._now()
        left = qty
        fills: list[tuple[Order, int, Decimal]] = []
        knocked_out: list[Order] = []
        allocated: dict[tuple[str, PositionSide], Decimal] = {}
        for key in list(self._resting[symbol][maker_side]):
            if left <= 0:
                break
            ticks = -key[0] if maker_side is Side.BUY else key[0]
            if limit_ticks is not None and (ticks > limit_ticks if side is Side.BUY else ticks < limit_ticks):
                break
            order = self._orders[key[2]]
            take = min(order.leaves_qty, left)
            slot = (order.account_id, order.position_side)
            if self._closes(order.side, order.position_side, order.reduce_only):
                acct = self._accounts[order.account_id]
                cap = self._reducible(acct, symbol, maker_side, order.position_side) - allocated.get(slot, 0)
                if cap <= 0:
                    knocked_out.append(order)
                    continue
                take = min(take, cap)
                allocated[slot] = allocated.get(slot, Decimal(0)) + take
            fills.append((order, ticks, take))
            left -= take
        executions = self._publish_maker_trades(market, fills, now)
        self._apply_maker_fills(executions, knocked_out)
        return qty - left

    def _cross_resting(
        self, symbol: str, limited: bool
    ) -> tuple[list[tuple[Order, int, Decimal]], list[Order]]:
        """Resting orders the market now trades through, best price first, as (order, ticks,
        qty); with ``limited`` each takes the synthetic liquidity at or better than its price.
        Also returns closing orders whose position is gone."""
        market = self._markets[symbol]
        fills: list[tuple[Order, int, Decimal]] = []
        knocked_out: list[Order] = []
        allocated: dict[tuple[str, PositionSide], Decimal] = {}
        for side in (Side.BUY, Side.SELL):
            for key in self._resting[symbol][side]:
                ticks = -key[0] if side is Side.BUY else key[0]
                if limited:
                    best = market.best(side)
                    if best is None or (best > ticks if side is Side.BUY else best < ticks):
                        break
                elif market.last_ticks > ticks if side is Side.BUY else market.last_ticks < ticks:
                    break
                order = self._orders[key[2]]
                qty = order.leaves_qty
                slot = (order.account_id, order.position_side)
                closing = self._closes(order.side, order.position_side, order.reduce_only)
                if closing:
                    acct = self._accounts[order.account_id]
                    cap = self._reducible(acct, symbol, side, order.position_side) - allocated.get(slot, 0)
                    if cap <= 0:
                        knocked_out.append(order)
                        continue
                    qty = min(qty, cap)
                if limited:
                    qty = sum((q for _, q in market.take(side, qty, ticks)), Decimal(0))
                    if qty == 0:
                        break
                if closing:
                    allocated[slot] = allocated.get(slot, Decimal(0)) + qty
                fills.append((order, ticks, qty))
        return fills, knocked_out

    def _publish_maker_trades(
        self, market: SymbolMarket, fills: list[tuple[Order, int, Decimal]], now: int
    ) -> list[tuple[Order, Decimal, Decimal, int]]:
        executions = []
        for order, ticks, qty in fills:
            trade_id = market.next_trade_id()
            self._emit(market.record_public(now, ticks, qty, order.side is Side.BUY, trade_id, trade_id))
            executions.append((order, market.px(ticks), qty, trade_id))
        return executions

    def _apply_maker_fills(
        self, executions: list[tuple[Order, Decimal, Decimal, int]], knocked_out: list[Order]
    ) -> None:
        for order, price, qty, trade_id in executions:
            self._fill(order, price, qty, True, trade_id)
        for order in knocked_out:
            if order.is_open:
                self._end(order, OrderStatus.EXPIRED, ExecType.EXPIRED, EXPIRE_REDUCE_ONLY_KNOCKED_OUT)

    def _expire_gtd(self, now: int) -> None:
        while self._gtd_orders and self._gtd_orders[0][0] <= now:
            _, order_id = heapq.heappop(self._gtd_orders)
            order = self._orders[order_id]
            if order.is_open:
                self._end(order, OrderStatus.EXPIRED, ExecType.EXPIRED, EXPIRE_NONE)
        while self._gtd_algos and self._gtd_algos[0][0] <= now:
            _, algo_id = heapq.heappop(self._gtd_algos)
            algo = self._algos[algo_id]
            if algo.is_open:
                self._algo_done(algo, AlgoStatus.EXPIRED, "GTD")

    def last_price(self, symbol: str) -> Decimal:
        self._spec(symbol)
        return self._markets[symbol].last_price

    def mark_price(self, symbol: str) -> MarkPriceSnapshot:
        self._spec(symbol)
        return self._markets[symbol].mark_snapshot()

    def book(self, symbol: str, limit: int = 100) -> BookSnapshot:
        self._spec(symbol)
        return self._markets[symbol].snapshot(limit, self._now())

    def public_trades(
        self,
        symbol: str,
        *,
        from_agg_id: int | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[PublicTrade]:
        self._spec(symbol)
        trades = self._markets[symbol].public
        if from_agg_id is not None:
            # agg ids are 1, 2, 3... in list order, so the id is the index
            trades = trades[max(0, from_agg_id - 1) :]
        matches = [t for t in trades if _in_range(t.time_ms, start_ms, end_ms)]
        return _page(matches, limit, from_agg_id is not None or start_ms is not None)

    def klines(
        self,
        symbol: str,
        interval_ms: int,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 500,
    ) -> list[Kline]:
        """Deterministic history for any range (a pure function of seed, symbol and open time for
        times before the engine started, live aggregation of public trades after)."""
        self._spec(symbol)
        return self._markets[symbol].klines(interval_ms, start_ms, end_ms, limit, self._now())

    def deposit(self, account_id: str, amount: Decimal, *, reason: str = "DEPOSIT") -> Account:
        """Credits (or, negative, debits) the wallet; publishes AccountEvent with ``balance_change``
        (an addition to the contract, for demo-credit endpoints such as BingX's VST faucet)."""
        acct = self._acct(account_id)
        if amount == 0 or acct.wallet_balance + amount < 0:
            raise VenueReject(RejectReason.INVALID_PARAMETER, f"amount {amount}")
        now = self._now()
        acct.wallet_balance += amount
        acct.update_time_ms = now
        self._emit(
            AccountEvent(
                account_id=account_id,
                time_ms=now,
                reason=reason,
                wallet_balance=acct.wallet_balance,
                cross_wallet_balance=acct.wallet_balance,
                balance_change=amount,
                positions=(),
            )
        )
        return self.account(account_id)

    # --- faults and ground truth -------------------------------------------------------------
    def emit_margin_call(self, account_id: str) -> None:
        acct = self._acct(account_id)
        positions = tuple(copy.copy(p) for p in acct.positions.values() if p.amount != 0)
        self._emit(MarginCallEvent(account_id, self._now(), acct.wallet_balance, positions))

    def state(self) -> dict[str, object]:
        """The venue's ground truth as JSON-ready data (strings for decimals): accounts with
        balances and positions, every order and algo order with status, every trade with id."""
        accounts: dict[str, object] = {}
        for account_id, acct in self._accounts.items():
            accounts[account_id] = {
                "asset": acct.asset,
                "wallet_balance": str(acct.wallet_balance),
                "available_balance": str(self.available_balance(account_id)),
                "hedge_mode": acct.hedge_mode,
                "leverage": dict(acct.leverage),
                "positions": [
                    {
                        "symbol": p.symbol,
                        "position_side": p.position_side.value,
                        "amount": str(p.amount),
                        "entry_price": str(p.entry_price),
                        "break_even_price": str(p.break_even_price),
                        "realized_pnl": str(p.realized_pnl),
                        "unrealized_pnl": str(ledger.unrealized(p, self._markets[p.symbol].mark_price)),
                    }
                    for p in self.positions(account_id)
                ],
            }
        orders = [
            {
                "order_id": o.order_id,
                "client_order_id": o.client_order_id,
                "account_id": o.account_id,
                "symbol": o.symbol,
                "side": o.side.value,
                "type": o.type.value,
                "orig_type": o.orig_type.value,
                "time_in_force": o.time_in_force.value,
                "position_side": o.position_side.value,
                "reduce_only": o.reduce_only,
                "status": o.status.value,
                "qty": str(o.orig_qty),
                "executed_qty": str(o.executed_qty),
                "avg_price": str(o.avg_price),
                "price": str(o.price),
                "stop_price": str(o.stop_price),
                "algo_id": o.algo_id,
                "update_time_ms": o.update_time_ms,
            }
            for o in self._orders.values()
        ]
        algos = [
            {
                "algo_id": a.algo_id,
                "client_algo_id": a.client_algo_id,
                "account_id": a.account_id,
                "symbol": a.symbol,
                "side": a.side.value,
                "type": a.type.value,
                "status": a.status.value,
                "qty": str(a.quantity),
                "trigger_price": str(a.trigger_price),
                "price": str(a.price),
                "working_type": a.working_type.value,
                "actual_order_id": a.actual_order_id,
                "executed_qty": str(a.executed_qty),
                "avg_price": str(a.avg_price),
            }
            for a in self._algos.values()
        ]
        trades = [
            {
                "trade_id": t.trade_id,
                "order_id": t.order_id,
                "account_id": t.account_id,
                "symbol": t.symbol,
                "side": t.side.value,
                "position_side": t.position_side.value,
                "qty": str(t.qty),
                "price": str(t.price),
                "commission": str(t.commission),
                "realized_pnl": str(t.realized_pnl),
                "maker": t.maker,
                "time_ms": t.time_ms,
            }
            for t in self._trades
        ]
        markets = {
            s: {
                "last_price": str(m.last_price),
                "mark_price": str(m.mark_price),
                "book_update_id": m.update_id,
            }
            for s, m in self._markets.items()
        }
        return {
            "time_ms": self._now(),
            "accounts": accounts,
            "orders": orders,
            "algo_orders": algos,
            "trades": trades,
            "markets": markets,
        }
