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

Layout: one class per concern, each built on the one before, so a concern calls only what comes
before it: ``core`` (state, listeners, reference data) <- ``accounts`` (accounts and margin) <-
``orders`` <- ``algos`` (conditional orders) <- ``market`` (the market moving, public data) <-
``VenueEngine`` here, which adds the ground truth. This module re-exports every name it had when it
was one file.
"""

from __future__ import annotations

from adapters.sim import ledger as ledger
from adapters.sim.engine.accounts import DEFAULT_LEVERAGE as DEFAULT_LEVERAGE
from adapters.sim.engine.algos import MARKET_ALGO_TYPES, MIN_CALLBACK_RATE, STOP_TYPES
from adapters.sim.engine.core import MAX_CALLBACK_RATE, BookKey, copy_order, in_range, page
from adapters.sim.engine.core import Clock as Clock
from adapters.sim.engine.core import EventListener as EventListener
from adapters.sim.engine.core import log as log
from adapters.sim.engine.market import MarketEngine
from adapters.sim.engine.orders import ALGO_TYPES as ALGO_TYPES
from adapters.sim.engine.orders import EXPIRE_IOC_REMAINDER as EXPIRE_IOC_REMAINDER
from adapters.sim.engine.orders import EXPIRE_NONE as EXPIRE_NONE
from adapters.sim.engine.orders import EXPIRE_REDUCE_ONLY_KNOCKED_OUT as EXPIRE_REDUCE_ONLY_KNOCKED_OUT
from adapters.sim.market import SymbolMarket as SymbolMarket
from adapters.sim.market import default_specs as default_specs
from adapters.sim.model import Account as Account
from adapters.sim.model import AccountConfigEvent as AccountConfigEvent
from adapters.sim.model import AccountEvent as AccountEvent
from adapters.sim.model import AlgoEvent as AlgoEvent
from adapters.sim.model import AlgoOrder as AlgoOrder
from adapters.sim.model import AlgoRequest as AlgoRequest
from adapters.sim.model import AlgoStatus as AlgoStatus
from adapters.sim.model import BookSnapshot as BookSnapshot
from adapters.sim.model import EngineEvent as EngineEvent
from adapters.sim.model import ExecType as ExecType
from adapters.sim.model import Kline as Kline
from adapters.sim.model import MarginCallEvent as MarginCallEvent
from adapters.sim.model import MarginType as MarginType
from adapters.sim.model import MarkPriceSnapshot as MarkPriceSnapshot
from adapters.sim.model import Order as Order
from adapters.sim.model import OrderEvent as OrderEvent
from adapters.sim.model import OrderRequest as OrderRequest
from adapters.sim.model import OrderStatus as OrderStatus
from adapters.sim.model import OrderType as OrderType
from adapters.sim.model import Position as Position
from adapters.sim.model import PositionSide as PositionSide
from adapters.sim.model import PublicTrade as PublicTrade
from adapters.sim.model import RejectReason as RejectReason
from adapters.sim.model import Side as Side
from adapters.sim.model import SymbolSpec as SymbolSpec
from adapters.sim.model import TimeInForce as TimeInForce
from adapters.sim.model import Trade as Trade
from adapters.sim.model import VenueReject as VenueReject
from adapters.sim.model import WorkingType as WorkingType

__all__ = ["Clock", "EventListener", "VenueEngine", "default_specs"]

# The private names of the one-file engine, for code that reached for them.
_MARKET_ALGO_TYPES = MARKET_ALGO_TYPES
_MIN_CALLBACK_RATE = MIN_CALLBACK_RATE
_MAX_CALLBACK_RATE = MAX_CALLBACK_RATE
_STOP_TYPES = STOP_TYPES
_BookKey = BookKey
_copy_order = copy_order
_in_range = in_range
_page = page


class VenueEngine(MarketEngine):
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
