"""Venue-neutral data model of the simulated perpetual-swap venue.

Everything here is plain state: no I/O, no wire format. Prices and quantities are ``Decimal``
so the venue never rounds through float. Each wire dialect (``adapters.sim.binance``, later
``adapters.sim.bingx``) renders these objects in its own field names and spellings.

Enumerations are ``StrEnum`` whose values use Binance's spelling because it is the more
general vocabulary; a dialect that spells them differently maps them at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class PositionSide(StrEnum):
    BOTH = "BOTH"  # one-way mode
    LONG = "LONG"  # hedge mode
    SHORT = "SHORT"


class OrderType(StrEnum):
    LIMIT = "LIMIT"
    MARKET = "MARKET"
    # Conditional types exist only as algo orders until triggered; the order they create
    # keeps the conditional type in ``orig_type`` and becomes LIMIT or MARKET.
    STOP = "STOP"
    STOP_MARKET = "STOP_MARKET"
    TAKE_PROFIT = "TAKE_PROFIT"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET"
    LIQUIDATION = "LIQUIDATION"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTX = "GTX"  # post-only
    GTD = "GTD"


class OrderStatus(StrEnum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH"
    REJECTED = "REJECTED"


class ExecType(StrEnum):
    NEW = "NEW"
    TRADE = "TRADE"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    AMENDMENT = "AMENDMENT"
    CALCULATED = "CALCULATED"  # liquidation / ADL execution


class WorkingType(StrEnum):
    CONTRACT_PRICE = "CONTRACT_PRICE"  # trigger on last price
    MARK_PRICE = "MARK_PRICE"


class AlgoStatus(StrEnum):
    NEW = "NEW"
    TRIGGERING = "TRIGGERING"
    TRIGGERED = "TRIGGERED"
    FINISHED = "FINISHED"
    CANCELED = "CANCELED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"


class MarginType(StrEnum):
    CROSSED = "CROSSED"
    ISOLATED = "ISOLATED"


class RejectReason(StrEnum):
    """Why the venue refused a request. Each dialect maps these to its own codes and messages
    (Binance: -5022, -2022, -4164, ...; BingX: its own numbers)."""

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    PRICE_FILTER = "PRICE_FILTER"  # price off tick, below min or above max
    LOT_SIZE = "LOT_SIZE"  # quantity off step, below min or above max
    MARKET_LOT_SIZE = "MARKET_LOT_SIZE"
    MIN_NOTIONAL = "MIN_NOTIONAL"
    POST_ONLY_WOULD_TAKE = "POST_ONLY_WOULD_TAKE"
    REDUCE_ONLY_REJECTED = "REDUCE_ONLY_REJECTED"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    POSITION_SIDE_MISMATCH = "POSITION_SIDE_MISMATCH"  # LONG/SHORT in one-way mode or BOTH in hedge
    WOULD_IMMEDIATELY_TRIGGER = "WOULD_IMMEDIATELY_TRIGGER"
    ALGO_TYPE_ON_ORDER_ENDPOINT = "ALGO_TYPE_ON_ORDER_ENDPOINT"  # Binance -4120
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    CANCEL_REJECTED = "CANCEL_REJECTED"  # order exists but is already final
    MODIFY_NOT_ALLOWED = "MODIFY_NOT_ALLOWED"  # not a LIMIT order, or already final
    MODIFY_NO_CHANGE = "MODIFY_NO_CHANGE"  # Binance -5027
    DUPLICATE_CLIENT_ID = "DUPLICATE_CLIENT_ID"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    GTD_IN_PAST = "GTD_IN_PAST"
    POSITION_MODE_CHANGE_WITH_OPEN = "POSITION_MODE_CHANGE_WITH_OPEN"
    INVALID_LEVERAGE = "INVALID_LEVERAGE"


class VenueReject(Exception):
    """A definite refusal: nothing changed on the venue."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class SymbolSpec:
    """One perpetual contract and its filters (exchangeInfo / contracts)."""

    symbol: str  # venue symbol, e.g. "BTCUSDT"
    base_asset: str
    quote_asset: str
    margin_asset: str
    price_precision: int
    quantity_precision: int
    tick_size: Decimal
    min_price: Decimal
    max_price: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step_size: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    initial_price: Decimal
    maint_margin_percent: Decimal = Decimal("2.5")
    required_margin_percent: Decimal = Decimal("5.0")
    max_leverage: int = 125
    onboard_date_ms: int = 1569398400000


def usdt_perpetual(
    symbol: str,
    base: str,
    *,
    precision: tuple[int, int],
    tick: str,
    prices: tuple[str, str],
    step: str,
    quantities: tuple[str, str],
    market_max_qty: str,
    min_notional: str,
    initial_price: str,
    margin_percent: tuple[str, str] = ("2.5", "5.0"),
    max_leverage: int = 125,
    onboard_date_ms: int = 1569398400000,
) -> SymbolSpec:
    """A USDT-quoted, USDT-margined contract as both venues list them: ``precision`` is (price,
    quantity) decimals, ``prices`` and ``quantities`` are (min, max), ``margin_percent`` is
    (maintenance, required); market orders share the limit orders' step and minimum. Values are
    decimal strings, kept as written (``0.10`` and ``0.1`` render differently on the wire)."""
    return SymbolSpec(
        symbol=symbol,
        base_asset=base,
        quote_asset="USDT",
        margin_asset="USDT",
        price_precision=precision[0],
        quantity_precision=precision[1],
        tick_size=Decimal(tick),
        min_price=Decimal(prices[0]),
        max_price=Decimal(prices[1]),
        step_size=Decimal(step),
        min_qty=Decimal(quantities[0]),
        max_qty=Decimal(quantities[1]),
        market_step_size=Decimal(step),
        market_min_qty=Decimal(quantities[0]),
        market_max_qty=Decimal(market_max_qty),
        min_notional=Decimal(min_notional),
        initial_price=Decimal(initial_price),
        maint_margin_percent=Decimal(margin_percent[0]),
        required_margin_percent=Decimal(margin_percent[1]),
        max_leverage=max_leverage,
        onboard_date_ms=onboard_date_ms,
    )


@dataclass(slots=True)
class OrderRequest:
    """A new regular order as the venue receives it (already decoded from the wire)."""

    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    client_order_id: str | None = None  # venue generates one when None
    good_till_date_ms: int | None = None  # required for GTD


@dataclass(slots=True)
class AlgoRequest:
    """A new conditional (algo) order."""

    symbol: str
    side: Side
    type: OrderType  # STOP, STOP_MARKET, TAKE_PROFIT, TAKE_PROFIT_MARKET, TRAILING_STOP_MARKET
    quantity: Decimal
    trigger_price: Decimal | None = None  # required except trailing (which may use activate_price)
    price: Decimal | None = None  # STOP / TAKE_PROFIT limit price
    time_in_force: TimeInForce = TimeInForce.GTC
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = False
    working_type: WorkingType = WorkingType.CONTRACT_PRICE
    activate_price: Decimal | None = None  # trailing stop activation
    callback_rate: Decimal | None = None  # trailing stop, percent (1 = 1 %)
    client_algo_id: str | None = None
    good_till_date_ms: int | None = None


@dataclass(slots=True)
class Trade:
    """One execution of one account's order (one side of a match)."""

    trade_id: int  # per symbol, strictly increasing
    order_id: int
    client_order_id: str
    account_id: str
    symbol: str
    side: Side
    position_side: PositionSide
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    realized_pnl: Decimal
    maker: bool
    time_ms: int


@dataclass(slots=True)
class Order:
    """A regular order on the book (or finished). Mutable: the engine updates it in place and
    hands out copies in events (see ``snapshot``)."""

    order_id: int
    client_order_id: str
    account_id: str
    symbol: str
    side: Side
    type: OrderType
    orig_type: OrderType  # the conditional type for an order created by a triggered algo order
    time_in_force: TimeInForce
    position_side: PositionSide
    reduce_only: bool
    orig_qty: Decimal
    price: Decimal  # 0 for MARKET
    stop_price: Decimal  # 0 unless created by an algo order
    working_type: WorkingType
    status: OrderStatus
    executed_qty: Decimal = Decimal(0)
    cum_quote: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)
    good_till_date_ms: int = 0
    create_time_ms: int = 0
    update_time_ms: int = 0
    algo_id: int | None = None  # set when created by a triggered algo order
    expire_reason: int = 0  # Binance "er": 0 none, 2 IOC remainder, ...
    trade_ids: list[int] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)

    @property
    def leaves_qty(self) -> Decimal:
        return self.orig_qty - self.executed_qty


@dataclass(slots=True)
class AlgoOrder:
    algo_id: int
    client_algo_id: str
    account_id: str
    symbol: str
    side: Side
    type: OrderType
    position_side: PositionSide
    time_in_force: TimeInForce
    quantity: Decimal
    trigger_price: Decimal
    price: Decimal
    working_type: WorkingType
    reduce_only: bool
    status: AlgoStatus
    activate_price: Decimal | None = None
    callback_rate: Decimal | None = None
    good_till_date_ms: int = 0
    create_time_ms: int = 0
    update_time_ms: int = 0
    trigger_time_ms: int = 0
    actual_order_id: int | None = None  # the regular order created on trigger
    reject_reason: str = ""
    # trailing stop: the best price seen since activation
    trailing_extreme: Decimal | None = None
    # of the triggered order (Binance ALGO_UPDATE "aq"/"ap"); kept in step with its fills
    executed_qty: Decimal = Decimal(0)
    avg_price: Decimal = Decimal(0)

    @property
    def is_open(self) -> bool:
        return self.status in (AlgoStatus.NEW, AlgoStatus.TRIGGERING)

    @property
    def is_activated(self) -> bool:
        """Trailing stop: its activation price was reached (it trails from then on). Other
        conditional types watch their trigger from placement: always activated."""
        return self.type is not OrderType.TRAILING_STOP_MARKET or self.trailing_extreme is not None


@dataclass(slots=True)
class Position:
    symbol: str
    position_side: PositionSide
    amount: Decimal = Decimal(0)  # signed in one-way mode; >= 0 for LONG, <= 0 for SHORT
    entry_price: Decimal = Decimal(0)
    break_even_price: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)  # accumulated
    update_time_ms: int = 0


@dataclass(slots=True)
class Account:
    account_id: str
    asset: str  # margin asset, "USDT"
    wallet_balance: Decimal
    maker_commission: Decimal  # rate, e.g. Decimal("0.0002")
    taker_commission: Decimal
    hedge_mode: bool = False
    leverage: dict[str, int] = field(default_factory=dict)  # symbol -> leverage (default 20)
    margin_type: dict[str, MarginType] = field(default_factory=dict)
    positions: dict[tuple[str, PositionSide], Position] = field(default_factory=dict)
    update_time_ms: int = 0


# Market query results ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    symbol: str
    last_update_id: int
    time_ms: int
    bids: tuple[tuple[Decimal, Decimal], ...]  # best first
    asks: tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True, slots=True)
class MarkPriceSnapshot:
    symbol: str
    time_ms: int
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal
    next_funding_time_ms: int
    interest_rate: Decimal = Decimal("0.0001")
    estimated_settle_price: Decimal | None = None  # None: the mark price


@dataclass(frozen=True, slots=True)
class Kline:
    open_time_ms: int
    close_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote_volume: Decimal
    trades: int
    taker_buy_volume: Decimal
    taker_buy_quote_volume: Decimal
    closed: bool


# ---------------------------------------------------------------------------------------------
# Events the engine publishes. Dialects render them onto their user-data and market streams.
# Every event carries copies, never live objects, so a listener may keep them.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderEvent:
    account_id: str
    time_ms: int  # event time
    exec_type: ExecType
    order: Order  # a copy taken after the change
    trade: Trade | None = None  # set for TRADE / CALCULATED


@dataclass(frozen=True, slots=True)
class AlgoEvent:
    account_id: str
    time_ms: int
    algo: AlgoOrder  # a copy
    # A trailing stop's activation price was reached (status still NEW): Binance pushes a second
    # ALGO_UPDATE NEW with "ia": true; dialects without such an event ignore it.
    activation: bool = False


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """Balances/positions changed (Binance ACCOUNT_UPDATE). Only what changed is listed."""

    account_id: str
    time_ms: int
    reason: str  # "ORDER", "FUNDING_FEE", "DEPOSIT", ...
    wallet_balance: Decimal
    cross_wallet_balance: Decimal
    balance_change: Decimal  # excluding PnL and commission ("bc")
    positions: tuple[Position, ...]  # copies


@dataclass(frozen=True, slots=True)
class AccountConfigEvent:
    account_id: str
    time_ms: int
    symbol: str | None
    leverage: int | None
    multi_assets: bool | None = None


@dataclass(frozen=True, slots=True)
class MarginCallEvent:
    account_id: str
    time_ms: int
    cross_wallet_balance: Decimal
    positions: tuple[Position, ...]


@dataclass(frozen=True, slots=True)
class PublicTrade:
    symbol: str
    time_ms: int
    agg_id: int  # per symbol
    first_trade_id: int
    last_trade_id: int
    price: Decimal
    qty: Decimal
    buyer_is_maker: bool


@dataclass(frozen=True, slots=True)
class BookDelta:
    """Depth change. ``first_update_id``..``last_update_id`` cover this delta and
    ``prev_update_id`` is the previous delta's ``last_update_id`` (Binance U/u/pu)."""

    symbol: str
    time_ms: int
    first_update_id: int
    last_update_id: int
    prev_update_id: int
    bids: tuple[tuple[Decimal, Decimal], ...]  # (price, qty); qty 0 removes the level
    asks: tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True, slots=True)
class MarkPriceEvent:
    symbol: str
    time_ms: int
    mark_price: Decimal
    index_price: Decimal
    funding_rate: Decimal
    next_funding_time_ms: int
    estimated_settle_price: Decimal | None = None  # None: the mark price


EngineEvent = (
    OrderEvent
    | AlgoEvent
    | AccountEvent
    | AccountConfigEvent
    | MarginCallEvent
    | PublicTrade
    | BookDelta
    | MarkPriceEvent
)
