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
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from adapters.sim.model import (
    Account,
    AlgoOrder,
    AlgoRequest,
    BookSnapshot,
    EngineEvent,
    Kline,
    MarginType,
    MarkPriceSnapshot,
    Order,
    OrderRequest,
    Position,
    PositionSide,
    PublicTrade,
    Side,
    SymbolSpec,
    Trade,
)

EventListener = Callable[[EngineEvent], None]
Clock = Callable[[], int]  # epoch milliseconds


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
    ) -> None:
        raise NotImplementedError

    # --- listeners ---------------------------------------------------------------------------
    def subscribe(self, listener: EventListener) -> None:
        """Every event, in order. Listeners must not call back into the engine synchronously."""
        raise NotImplementedError

    def unsubscribe(self, listener: EventListener) -> None:
        raise NotImplementedError

    # --- reference data ----------------------------------------------------------------------
    @property
    def specs(self) -> dict[str, SymbolSpec]:
        raise NotImplementedError

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
        raise NotImplementedError

    def account(self, account_id: str) -> Account:
        raise NotImplementedError

    def set_position_mode(self, account_id: str, hedge_mode: bool) -> None:
        """Rejects POSITION_MODE_CHANGE_WITH_OPEN with open orders or positions."""
        raise NotImplementedError

    def set_leverage(self, account_id: str, symbol: str, leverage: int) -> int:
        """Publishes AccountConfigEvent. Returns the leverage set."""
        raise NotImplementedError

    def set_margin_type(self, account_id: str, symbol: str, margin_type: MarginType) -> None:
        raise NotImplementedError

    def positions(self, account_id: str, symbol: str | None = None) -> list[Position]:
        """All position slots (including flat ones) for the account's mode: one BOTH per symbol
        in one-way mode, LONG and SHORT per symbol in hedge mode."""
        raise NotImplementedError

    def unrealized_pnl(self, account_id: str, symbol: str, position_side: PositionSide) -> Decimal:
        raise NotImplementedError

    def available_balance(self, account_id: str) -> Decimal:
        """Wallet + unrealized PnL - initial margin of positions and open orders."""
        raise NotImplementedError

    # --- regular orders ----------------------------------------------------------------------
    def place_order(self, account_id: str, request: OrderRequest) -> Order:
        """Validates filters, then accepts (OrderEvent NEW) and matches (TRADE events, then
        AccountEvent per fill). IOC/FOK remainders expire (EXPIRED); GTX that would take raises
        POST_ONLY_WOULD_TAKE; conditional types raise ALGO_TYPE_ON_ORDER_ENDPOINT.
        Returns a copy of the order after matching."""
        raise NotImplementedError

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
        """Amends a resting LIMIT order (OrderEvent AMENDMENT), then matches if it now crosses."""
        raise NotImplementedError

    def cancel_order(
        self, account_id: str, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        raise NotImplementedError

    def cancel_all_orders(self, account_id: str, symbol: str) -> list[Order]:
        raise NotImplementedError

    def get_order(
        self, account_id: str, symbol: str, *, order_id: int | None = None, client_order_id: str | None = None
    ) -> Order:
        """Open or finished; raises ORDER_NOT_FOUND."""
        raise NotImplementedError

    def open_orders(self, account_id: str, symbol: str | None = None) -> list[Order]:
        raise NotImplementedError

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
        raise NotImplementedError

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
        raise NotImplementedError

    # --- algo orders -------------------------------------------------------------------------
    def place_algo(self, account_id: str, request: AlgoRequest) -> AlgoOrder:
        """AlgoEvent NEW. On trigger: TRIGGERING, a regular order is created (MARKET, or LIMIT
        for STOP/TAKE_PROFIT) with ``orig_type`` = the algo type and ``algo_id`` set, TRIGGERED
        (with ``actual_order_id``), the order's own OrderEvents, and FINISHED once that order
        is final."""
        raise NotImplementedError

    def cancel_algo(
        self, account_id: str, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder:
        raise NotImplementedError

    def cancel_all_algos(self, account_id: str, symbol: str) -> list[AlgoOrder]:
        raise NotImplementedError

    def get_algo(
        self, account_id: str, *, algo_id: int | None = None, client_algo_id: str | None = None
    ) -> AlgoOrder:
        raise NotImplementedError

    def open_algos(self, account_id: str, symbol: str | None = None) -> list[AlgoOrder]:
        raise NotImplementedError

    def all_algos(
        self,
        account_id: str,
        symbol: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 100,
    ) -> list[AlgoOrder]:
        raise NotImplementedError

    # --- market ------------------------------------------------------------------------------
    def step(self) -> None:
        """Advance the seeded price process one step for every symbol: new last/mark price,
        book changes (BookDelta), zero or more public trades, triggered algo orders, resting
        orders filled, GTD orders expired (against ``clock``). The server calls this on a timer."""
        raise NotImplementedError

    def set_price(self, symbol: str, price: Decimal) -> None:
        """Moves last and mark price to ``price`` now (book re-centred, BookDelta published);
        resting and algo orders that the move crosses trigger or fill."""
        raise NotImplementedError

    def last_price(self, symbol: str) -> Decimal:
        raise NotImplementedError

    def mark_price(self, symbol: str) -> MarkPriceSnapshot:
        raise NotImplementedError

    def book(self, symbol: str, limit: int = 100) -> BookSnapshot:
        raise NotImplementedError

    def public_trades(self, symbol: str, *, from_agg_id: int | None = None, start_ms: int | None = None,
                      end_ms: int | None = None, limit: int = 500) -> list[PublicTrade]:
        raise NotImplementedError

    def klines(self, symbol: str, interval_ms: int, *, start_ms: int | None = None,
               end_ms: int | None = None, limit: int = 500) -> list[Kline]:
        """Deterministic history for any range (a pure function of seed, symbol and open time for
        times before the engine started, live aggregation of public trades after)."""
        raise NotImplementedError

    # --- faults and ground truth -------------------------------------------------------------
    def emit_margin_call(self, account_id: str) -> None:
        raise NotImplementedError

    def state(self) -> dict[str, object]:
        """The venue's ground truth as JSON-ready data (strings for decimals): accounts with
        balances and positions, every order and algo order with status, every trade with id."""
        raise NotImplementedError
