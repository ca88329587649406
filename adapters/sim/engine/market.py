"""The market side of the engine: price steps and set prices, external trades, resting orders
reached by the market (maker fills), GTD expiry, and the public market data queries."""

from __future__ import annotations

import heapq
from decimal import Decimal

from adapters.sim.engine.algos import AlgoEngine
from adapters.sim.engine.core import in_range, page
from adapters.sim.engine.orders import EXPIRE_NONE, EXPIRE_REDUCE_ONLY_KNOCKED_OUT
from adapters.sim.market import SymbolMarket
from adapters.sim.model import (
    AlgoStatus,
    BookSnapshot,
    ExecType,
    Kline,
    MarkPriceSnapshot,
    Order,
    OrderStatus,
    PositionSide,
    PublicTrade,
    Side,
)


class MarketEngine(AlgoEngine):
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
        matches = [t for t in trades if in_range(t.time_ms, start_ms, end_ms)]
        return page(matches, limit, from_agg_id is not None or start_ms is not None)

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
