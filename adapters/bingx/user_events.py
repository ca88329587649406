"""BingX user-data stream frame handler: one gzip frame in, NautilusTrader events or reports out.

The hot path (run synchronously by the core dispatcher for every frame). Orders this node submitted
become order *events* through the core :class:`~adapters.core.orders.order_facts.OrderFacts` (each fact
exactly once, whichever source reports it: this stream, both sockets of an overlap rotation, REST
backfill, the poll failover); anything else becomes *reports* (with its fills bundled).

BingX specifics handled here:

* client order ids come back **lowercased** (and conditional orders may carry none): orders are found
  through :class:`OrderIndex` by lowercase client id, then by venue order id;
* a modify is a cancel-replace (:mod:`adapters.bingx.execution`): one NautilusTrader order is then a
  *chain* of venue orders. :class:`OrderIndex` knows the chain: fills of any link are the order's
  fills (reported under the venue order id the engine holds), lifecycle events (NEW / CANCELED) of a
  retired link are ignored, and the cumulative ``z`` of the current link is offset by what the
  retired links filled;
* fill quantity and price come **only** from the last-fill fields ``l``/``L`` with the venue trade id
  (``td``/``t``). An execution without them is never turned into a fill from cumulative ``z`` (the
  reference design's double count): the order's fills are fetched by REST instead
  (``fetch_fills``), keyed by the same trade ids, so a later duplicate is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Unpack

from nautilus_trader.cache.cache import Cache
from nautilus_trader.execution.reports import FillReport, OrderStatusReport
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import (
    ClientOrderId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Currency, Money
from nautilus_trader.model.orders import Order as NautilusOrder

from adapters.bingx.parsing import (
    _MARKET_LIKE,  # order types that only take liquidity (as parse_order_fill reads them)
    BINGX_VENUE,
    EXEC_CALCULATED,
    EXEC_TRADE,
    account_update_to_balances,
    commission_money,
    has_last_fill,
    is_fill,
    order_update_to_fill_report,
    order_update_to_status_report,
    parse_order_type,
)
from adapters.bingx.schemas_user import (
    AccountConfigUpdate,
    AccountUpdate,
    ListenKeyExpired,
    OrderTradeUpdate,
    OrderUpdateData,
    Snapshot,
    decode_user_frame,
)
from adapters.bingx.stream_frames import (
    JsonPing,
    MalformedFrame,
    PingFrame,
    StreamAck,
    UnknownEvent,
)
from adapters.core.base.dedup import FifoDedup
from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.market.market_context import MarketContext
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder, fill_key
from adapters.core.orders.reports import send_order_with_fills
from adapters.core.parse.decimal_parse import parse_currency, to_decimal
from adapters.core.parse.instrument_info import InstrumentInfo
from adapters.core.parse.wire_values import WireValueError, check_time_ms, raw_head, strict_decimal
from adapters.core.userstream.frame_handler import HandlerArgs, UserFrameHandler

# Distinct quantity/price/fee strings remembered per instrument on the fill path (cleared when full).
_CONTEXT_CACHE = 4096
# Globals, not ``LiquiditySide.MAKER`` per fill: an enum class attribute costs ~130 ns on Python 3.11.
_MAKER = LiquiditySide.MAKER
_TAKER = LiquiditySide.TAKER
_NO_SIDE = LiquiditySide.NO_LIQUIDITY_SIDE

# --------------------------------------------------------------------------------------------------
# Order index: lowercase client ids and cancel-replace chains
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Chain:
    """The venue orders one NautilusTrader order has lived as (cancel-replace modifies)."""

    current_cid: str  # lowercase venue client id of the live link
    retired: set[str] = field(default_factory=set)  # venue order ids of canceled links
    filled_before: Decimal = Decimal(0)  # what the retired links filled (venue-confirmed)
    replacements: int = 0
    # A replacement sent and not confirmed yet: until its answer (or its resolution) the venue may
    # not know the live link, and "not found" means "not yet", not "gone".
    replacing: bool = False


class OrderIndex:
    """Finds tracked orders by the venue's lowercase client id (original or replacement alias)."""

    def __init__(self, tracker: OrderTracker) -> None:
        self.tracker = tracker
        self._by_cid: dict[str, TrackedOrder] = {}
        self._chains: dict[str, Chain] = {}  # keyed by the NautilusTrader client order id
        self._aliases: dict[str, list[str]] = {}  # client order id -> its venue client ids
        tracker.on_forget.append(self._forget)

    def register(self, order: TrackedOrder) -> TrackedOrder:
        self.tracker.track(order)
        self.add_alias(order, order.cid.lower())
        return order

    def add_alias(self, order: TrackedOrder, alias: str) -> None:
        self._by_cid[alias] = order
        self._aliases.setdefault(order.cid, []).append(alias)

    def _forget(self, order: TrackedOrder) -> None:
        cid = order.cid
        for alias in self._aliases.pop(cid, ()):
            if self._by_cid.get(alias) is order:
                del self._by_cid[alias]
        self._chains.pop(cid, None)

    def lookup(self, venue_cid: str | None, venue_order_id: int | None) -> TrackedOrder | None:
        return self.lookup_lower(venue_cid.lower() if venue_cid else "", venue_order_id)

    def lookup_lower(self, venue_cid: str, venue_order_id: int | None) -> TrackedOrder | None:
        """:meth:`lookup` of a client id already lowercased (the stream's hot path)."""
        if venue_cid:
            order = self._by_cid.get(venue_cid)
            if order is not None:
                return order
        if venue_order_id is not None:
            return self.tracker.by_venue_id.get(str(venue_order_id))
        return None

    # --- chains ---------------------------------------------------------------------------------
    def chain(self, order: TrackedOrder) -> Chain | None:
        return self._chains.get(order.cid)

    def chain_for(self, order: TrackedOrder) -> Chain:
        key = order.cid
        chain = self._chains.get(key)
        if chain is None:
            chain = self._chains[key] = Chain(current_cid=key.lower())
        return chain

    def venue_cid(self, order: TrackedOrder) -> str:
        """The client id the venue knows the order's live link by."""
        chain = self._chains.get(order.cid)
        return chain.current_cid if chain is not None else order.cid.lower()

    def is_retired(self, order: TrackedOrder, venue_order_id: str) -> bool:
        chain = self._chains.get(order.cid)
        return chain is not None and venue_order_id in chain.retired

    def filled_before(self, order: TrackedOrder) -> Decimal:
        chain = self._chains.get(order.cid)
        return chain.filled_before if chain is not None else Decimal(0)

    def effective_venue_id(self, order: TrackedOrder, venue_order_id: VenueOrderId) -> VenueOrderId:
        """A fill of a retired link is reported under the id the engine holds (it must not move the
        engine's order back to a canceled venue order)."""
        if self.is_retired(order, venue_order_id.value):
            return order.engine_venue_order_id or order.venue_order_id or venue_order_id
        return venue_order_id


# --------------------------------------------------------------------------------------------------
# The handler
# --------------------------------------------------------------------------------------------------


class CacheByVenueCid:
    """The engine cache's BingX order a client id the venue echoed (lowercased) came from."""

    def __init__(self, cache: Cache, misses: int = 10_000) -> None:
        self._cache = cache
        # Client ids the cache does not know (external orders): remembered so each frame of theirs
        # does not rescan the cache, bounded so that thousands of external orders cannot grow it.
        self.not_in_cache: FifoDedup[str] = FifoDedup(misses)

    def find(self, venue_cid: str) -> NautilusOrder | None:
        if not venue_cid:
            return None
        # NautilusTrader's own ids ("O-20250101-...") come back lowercased: upper() restores them,
        # so the common case is a dictionary lookup, not a scan of every cached order.
        printable = venue_cid.isascii() and venue_cid.isprintable()
        for guess in (venue_cid.upper(), venue_cid) if printable else ():
            order = self._cache.order(ClientOrderId(guess))
            if order is not None and order.instrument_id.venue == BINGX_VENUE:
                return order
        if venue_cid in self.not_in_cache:
            return None  # the scan below found nothing before (the direct lookups above still run)
        for order in self._cache.orders(venue=BINGX_VENUE):
            if order.client_order_id.value.lower() == venue_cid:
                return order
        self.not_in_cache.add(venue_cid)
        return None


class BingxUserStreamHandler(UserFrameHandler):
    def __init__(
        self,
        *,
        index: OrderIndex,
        fetch_fills: Callable[[TrackedOrder | None, str, int], None],
        fee_rates: Callable[[str], tuple[Decimal, Decimal] | None] = lambda symbol: None,
        **common: Unpack[HandlerArgs],
    ) -> None:
        super().__init__(**common)
        self._index = index
        # (tracked order or None for an external one, symbol, venue order id): fetch by REST
        self._fetch_fills = fetch_fills
        self._fee_rates = fee_rates  # (maker, taker) per symbol
        self.missing_last_fill = 0  # executions without l/L/trade id: fetched by REST instead
        # (fee string, currency, its precision) -> commission
        self._fees: dict[tuple[str | None, Currency, int], Money] = {}
        self._order_types: dict[str, OrderType] = {}

    # Decode included in the handler's guard: a corrupt or oversized gzip frame is a malformed
    # frame, not the end of the dispatcher. The decoder itself, not a method calling it: one
    # Python call less per frame.
    _decode = staticmethod(decode_user_frame)

    def _new_fill_strings(self, info: InstrumentInfo) -> MarketContext:
        return MarketContext(info.instrument_id, info.price_precision, info.size_precision, _CONTEXT_CACHE)

    def _dispatch(self, event: object) -> None:
        tp = type(event)
        if issubclass(tp, OrderTradeUpdate):  # ORDER_TRADE_UPDATE and TRADE_UPDATE
            assert isinstance(event, OrderTradeUpdate)
            self._on_order_update(event.order, event.event_time)
        elif tp is AccountUpdate:
            assert isinstance(event, AccountUpdate)
            self._on_account(event.account, event.event_time)
        elif tp is Snapshot:
            assert isinstance(event, Snapshot)
            if event.account is not None:
                self._on_account(event.account, event.event_time)
        elif tp is AccountConfigUpdate:
            self._log.debug("ACCOUNT_CONFIG_UPDATE: %s", event)
        elif tp is ListenKeyExpired:
            self._log.warning("listenKeyExpired received: no further events on this key; rotating")
            self._on_listen_key_expired("listenKeyExpired")
        elif tp is PingFrame or tp is JsonPing:
            pass  # answered by the connection (server_ping_reply); nothing to do here
        elif tp is StreamAck:
            assert isinstance(event, StreamAck)
            if not event.ok:
                self._log.warning("user stream error frame: code=%s msg=%s", event.code, event.msg)
        elif tp is UnknownEvent:
            assert isinstance(event, UnknownEvent)
            self.unknown += 1
            self._log.warning("unknown user event type %r skipped", event.event_type)
        elif tp is MalformedFrame:
            assert isinstance(event, MalformedFrame)
            self.malformed += 1
            self._log.error("malformed user frame skipped (%s): %r", event.error, raw_head(event.raw))
        else:  # pragma: no cover - decode_user_frame returns one of the above
            self._log.warning("unhandled user event %r", tp.__name__)

    def adopt(self, venue_cid: str, venue_order_id: str | None = None) -> TrackedOrder | None:
        """An order in the engine's cache the tracker does not know (by client id, else by venue
        order id): tracked from now on."""
        return self._adopt(venue_cid, venue_order_id)

    # --- ORDER_TRADE_UPDATE ------------------------------------------------------------------
    def _on_order_update(self, o: OrderUpdateData, event_time: int) -> None:
        cid = o.client_order_id.lower() if o.client_order_id else ""
        order = self._index.lookup_lower(cid, o.order_id)
        if order is None:
            order = self._adopt(cid, str(o.order_id) if o.order_id else None)
        if order is None:
            self._on_external(o, event_time)
            return
        try:
            self._on_tracked(order, o, event_time, cid)
        except WireValueError:
            # Nothing of this frame was applied: the venue's REST view of the order supplies it.
            self._facts.resync(order)
            raise

    def _on_tracked(self, order: TrackedOrder, o: OrderUpdateData, event_time: int, cid: str) -> None:
        x = o.execution_type.upper()
        voi = self._venue_order_id(o.order_id)
        chain = self._index.chain(order)
        if x in (EXEC_TRADE, EXEC_CALCULATED):  # is_fill(o)
            self._on_fill(order, o, voi, chain)
            return
        if chain is not None and str(o.order_id) in chain.retired:
            return  # lifecycle of a link our cancel-replace retired: not the order's
        ts = (o.trade_time or event_time) * NANOS_PER_MS
        # Read (and a malformed one rejected) whatever the execution type, as it always was.
        venue_filled = to_decimal(o.cum_filled_qty, "z")
        if chain is not None:
            venue_filled += chain.filled_before
        if x == "NEW":
            if order.venue_order_id is not None and order.venue_order_id != voi and order.accepted:
                self._facts.venue_id_changed(order, voi, ts)
            else:
                self._facts.accepted(order, voi, ts)
        elif x == "CANCELED":
            if o.order_status.upper() == "EXPIRED":
                self._facts.expired(order, voi, venue_filled, ts)
            else:
                self._facts.canceled(order, voi, venue_filled, ts)
        elif x == "EXPIRED":
            self._facts.expired(order, voi, venue_filled, ts)
        else:
            self.unknown += 1
            self._log.warning("ORDER_TRADE_UPDATE with unknown execution type %r for %s skipped", x, cid)

    def _on_fill(
        self, order: TrackedOrder, o: OrderUpdateData, voi: VenueOrderId, chain: Chain | None
    ) -> None:
        trade_id = _trade_id(o)
        qty_s = o.last_filled_qty
        px_s = o.last_filled_price
        # has_last_fill(o) (after the trade id, as before), with the quantity's Decimal kept
        qty_dec = strict_decimal(qty_s, "l", allow_empty=True) if trade_id is not None else None
        if trade_id is None or not qty_dec or px_s is None or not o.trade_time:
            # Never from cumulative z (nor at a made-up time): fetch this venue order's fills (with
            # trade ids and times) by REST.
            self.missing_last_fill += 1
            self._fetch_fills(order, o.symbol, o.order_id)
            return
        assert qty_s is not None
        check_time_ms(o.trade_time, "T")
        symbol = o.symbol
        entry = self._fill_context(symbol)
        info, ctx = entry[0], entry[1]
        quote = info.quote_currency
        pos_id = self._position_id(info.instrument_id, o.position_side)
        # A stream fill quantity is never signed: a negative one is hostile, not a short (rejected).
        last_qty = ctx.size(qty_s)
        last_px = ctx.price(px_s)
        asset = o.commission_asset
        ccy = quote if not asset or asset == entry[2] else parse_currency(asset)
        commission = self._commission(o.commission, ccy)
        if o.is_maker is not None:
            liquidity = _MAKER if o.is_maker else _TAKER
        elif self._order_type(o.order_type) in _MARKET_LIKE:
            liquidity = _TAKER
        else:
            liquidity = self._infer_liquidity(symbol, qty_dec, px_s, commission)
        retired = chain is not None and str(o.order_id) in chain.retired
        # The whole chain's cumulative (a retired link's z says nothing about the live link).
        venue_cum = None
        if not retired:
            venue_cum = to_decimal(o.cum_filled_qty, "z")
            if chain is not None:
                venue_cum += chain.filled_before
        self._facts.filled(
            order,
            trade_id,
            # a fill of a retired link is reported under the id the engine holds (effective_venue_id)
            (order.engine_venue_order_id or order.venue_order_id or voi) if retired else voi,
            pos_id,
            last_qty,
            qty_dec,
            last_px,
            quote,
            commission,
            liquidity,
            o.trade_time * NANOS_PER_MS,
            venue_cum,
        )
        if venue_cum is not None and order.filled >= venue_cum and o.order_status.upper() == "FILLED":
            self._facts.fully_filled(order)

    def _commission(self, fee: str | None, ccy: Currency) -> Money:
        """``commission_money(fee, ccy)`` (BingX's negative fee is a cost), remembered per string."""
        key = (fee, ccy, ccy.precision)  # a Currency compares by its code alone
        money = self._fees.get(key)
        if money is None:
            money = commission_money(fee, ccy)
            if len(self._fees) >= _CONTEXT_CACHE:
                self._fees.clear()
            self._fees[key] = money
        return money

    def _order_type(self, value: str) -> OrderType:
        """``parse_order_type(value)``, remembered per string (an unknown one warns once either way)."""
        order_type = self._order_types.get(value)
        if order_type is None:
            order_type = parse_order_type(value)
            if len(self._order_types) < 64:
                self._order_types[value] = order_type
        return order_type

    def _infer_liquidity(self, symbol: str, qty: Decimal, px_s: str, commission: Money) -> LiquiditySide:
        """BingX's swap order event has no maker flag (REST ``fillHistory`` has ``role``): infer it
        from the fee rate charged - the nearer of the account's maker and taker rates - so the
        stream and the REST path report the same fill the same way (mode parity)."""
        rates = self._fee_rates(symbol)
        notional = qty * strict_decimal(px_s, "L")
        if rates is None or notional == 0:
            return _NO_SIDE
        maker, taker = rates
        if maker == taker:
            return _NO_SIDE
        rate = commission.as_decimal() / notional
        return _MAKER if abs(rate - maker) < abs(rate - taker) else _TAKER

    def _on_external(self, o: OrderUpdateData, event_time: int) -> None:
        """An order this node did not submit: report it, its fill bundled."""
        info = self._instruments(o.symbol)
        ts_init = self._clock_ns()
        pos_id = self._position_id(info.instrument_id, o.position_side)
        ts_event = (o.trade_time or event_time) * NANOS_PER_MS
        fills: list[FillReport] = []
        trade_id = _trade_id(o) if is_fill(o) else None
        if is_fill(o) and (trade_id is None or not has_last_fill(o) or not o.trade_time):
            self.missing_last_fill += 1
            self._fetch_fills(None, o.symbol, o.order_id)
            return
        own_fill = to_decimal(o.last_filled_qty, "l").copy_abs() if trade_id is not None else Decimal(0)
        if to_decimal(o.cum_filled_qty, "z") > own_fill:
            # Fills of this order the engine never got (events lost, or made in a gap): a report
            # stating the cumulative quantity with fewer fills would make NautilusTrader infer the
            # rest, and the real fills arriving later would count twice. The venue's view instead.
            self._fetch_fills(None, o.symbol, o.order_id)
            return
        if trade_id is not None:
            check_time_ms(o.trade_time, "T")
            key = fill_key(o.symbol, trade_id, OrderSide.BUY if o.side.upper() == "BUY" else OrderSide.SELL)
            if self._tracker.is_seen(key):
                return
            report = order_update_to_fill_report(
                o,
                self._account_id,
                info.instrument_id,
                info.price_precision,
                info.size_precision,
                info.quote_currency,
                ts_event,
                ts_init,
                pos_id,
            )
            if report is not None:
                fills.append(report)
        try:
            status = order_update_to_status_report(
                o,
                *info.report_head(self._account_id, ts_event),
                ts_init,
                self._expired_as_canceled,
                pos_id,
            )
        except ValueError as exc:
            self._log.warning("external order %s not reported: %s", o.order_id, exc)
            return
        self.send_order_with_fills(status, fills)
        if fills:
            self._tracker.mark_seen(key)  # committed once both reports were built and sent

    def send_order_with_fills(self, report: OrderStatusReport, fills: list[FillReport]) -> None:
        send_order_with_fills(self._sink, self._client_id, self._account_id, BINGX_VENUE, report, fills)

    # --- ACCOUNT_UPDATE ----------------------------------------------------------------------
    def _on_account(self, data: object, event_time: int) -> None:
        from adapters.bingx.schemas_user import AccountUpdateData

        assert isinstance(data, AccountUpdateData)
        self.publish_stream_balances(account_update_to_balances(data), event_time, event_time)


def _trade_id(o: OrderUpdateData) -> int | None:
    """The venue trade id (``t``, else ``td``); None when absent (never synthesized from ``z``: a
    synthesized id could not be matched with the REST fill of the same trade)."""
    for tid in (o.trade_id, o.trade_id_alt):
        if tid is not None and tid > 0:
            return tid
    return None
