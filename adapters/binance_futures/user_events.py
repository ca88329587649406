"""The user-data stream's frame handler: one frame in, NautilusTrader events or reports out.

This is the hot path (run synchronously by the dispatcher for every frame): decode once with
msgspec, look the order up by its client id string, build the fill with the instrument's precisions,
hand it to :class:`OrderFacts`. Orders this node submitted become order *events*; anything else —
orders placed elsewhere, liquidations, ADL, settlements — becomes *reports* so the engine can adopt
them. Unknown events and malformed frames are logged and skipped: nothing a venue sends may stop the
dispatcher. A frame with a value NautilusTrader cannot hold (or must not believe: a non-positive
price, a number outside the venue's grammar, an identifier with non-ASCII text) is *rejected*
(``WireValueError``): logged with the field and a redacted sample, counted, nothing emitted from it —
and if it concerned one of our orders, that order is re-read from the venue, so a fill it carried
arrives from REST instead (its trade was never marked seen).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Unpack

from nautilus_trader.execution.reports import FillReport, OrderStatusReport
from nautilus_trader.model.enums import LiquiditySide, OrderSide
from nautilus_trader.model.identifiers import VenueOrderId

from adapters.binance_futures.parsing import (
    BINANCE_VENUE,
    account_update_to_balances,
    algo_update_to_status_report,
    is_exchange_generated,
    order_update_to_fill_report,
    order_update_to_status_report,
    parse_currency,
    parse_money,
    parse_price,
    parse_quantity,
)
from adapters.binance_futures.schemas_user import (
    AccountConfigUpdate,
    AccountUpdate,
    AlgoUpdate,
    AlgoUpdateData,
    ControlResponse,
    ListenKeyExpired,
    MalformedFrame,
    MarginCall,
    OrderTradeUpdate,
    OrderUpdateData,
    StreamError,
    TradeLite,
    UnknownEvent,
    decode_user_frame,
)
from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.market.market_context import MarketContext
from adapters.core.orders.order_tracking import TrackedOrder, fill_key
from adapters.core.orders.reports import send_order_with_fills
from adapters.core.parse.instrument_info import InstrumentInfo
from adapters.core.parse.wire_values import (
    WireValueError,
    check_positive_id,
    check_time_ms,
    raw_head,
    safe_identifier,
    strict_decimal,
)
from adapters.core.userstream.frame_handler import HandlerArgs, UserFrameHandler

# Distinct quantity/price strings remembered per instrument on the fill path (cleared when full).
_CONTEXT_CACHE = 4096
# Globals, not ``LiquiditySide.MAKER`` per fill: an enum class attribute costs ~130 ns on Python 3.11.
_MAKER = LiquiditySide.MAKER
_TAKER = LiquiditySide.TAKER


class UserStreamHandler(UserFrameHandler):
    def __init__(
        self,
        *,
        report_external: Callable[[str, int], None] = lambda symbol, order_id: None,
        **common: Unpack[HandlerArgs],
    ) -> None:
        super().__init__(**common)
        # (symbol, venue order id): report an external order from the venue's REST view, with
        # every fill (an event that cannot be reported whole by itself)
        self._report_external = report_external
        # ALGO_UPDATE NEW with "ia": true of a trailing stop of ours: its activation price was
        # reached (it trails from now on; still NEW, nothing for the engine).
        self.trailing_activations = 0

    # The decoder itself, not a method calling it: one Python call less per frame.
    _decode = staticmethod(decode_user_frame)

    def _new_fill_strings(self, info: InstrumentInfo) -> MarketContext:
        return MarketContext(info.instrument_id, info.price_precision, info.size_precision, _CONTEXT_CACHE)

    def _dispatch(self, event: object) -> None:
        # Ordered by frequency: fills and order updates dominate.
        if type(event) is OrderTradeUpdate:
            self._on_order_update(event.order, event.event_time)
        elif type(event) is AccountUpdate:
            self._on_account_update(event)
        elif type(event) is AlgoUpdate:
            if event.o is None and event.ao is None:
                self.malformed += 1
                self._log.error("malformed ALGO_UPDATE skipped: no 'o'/'ao' payload")
                return
            self._on_algo_update(event.algo, event.event_time)
        elif type(event) is TradeLite:
            # Fills are taken from ORDER_TRADE_UPDATE, which carries the commission; TRADE_LITE
            # only arrives first, and taking it would drop the commission from the fill.
            pass
        elif type(event) is ListenKeyExpired:
            self._log.warning("listenKeyExpired received: no further events on this key; rotating")
            self._on_listen_key_expired("listenKeyExpired")
        elif type(event) is MarginCall:
            self._log.warning(
                "MARGIN_CALL: cross wallet balance %s, %d position(s) at risk",
                event.cross_wallet_balance,
                len(event.positions),
            )
        elif type(event) is AccountConfigUpdate:
            self._log.info("ACCOUNT_CONFIG_UPDATE: %s", event)
        elif type(event) is StreamError:
            self._log.warning("user stream error frame: code=%s msg=%s", event.code, event.msg)
        elif type(event) is ControlResponse:
            self._log.debug("user stream control response: %s", event)
        elif type(event) is UnknownEvent:
            self.unknown += 1
            self._log.warning("unknown user event type %r skipped", event.event_type)
        elif type(event) is MalformedFrame:
            self.malformed += 1
            self._log.error("malformed user frame skipped (%s): %r", event.error, raw_head(event.raw))
        else:  # pragma: no cover - decode_user_frame returns one of the above
            self._log.warning("unhandled user event %r", type(event).__name__)

    def adopt(self, client_order_id: str, venue_order_id: str | None = None) -> TrackedOrder | None:
        """An order in the engine's cache the tracker does not know (by client id, else by venue
        order id): tracked from now on."""
        return self._adopt(client_order_id, venue_order_id)

    # --- ORDER_TRADE_UPDATE ------------------------------------------------------------------
    def _on_order_update(self, o: OrderUpdateData, event_time: int) -> None:
        cid = o.client_order_id
        order = self._tracker.orders.get(cid)
        if order is None:
            adoptable = not is_exchange_generated(cid) and safe_identifier(cid) is not None
            order = self._adopt(cid if adoptable else "", str(o.order_id))
            if order is None:
                self._on_external_order_update(o, event_time)
                return
        try:
            self._on_tracked_update(order, o, event_time)
        except WireValueError:
            # Nothing of this frame was applied (fills are committed only once built): the venue's
            # REST view of the order supplies what the frame would have.
            self._facts.resync(order)
            raise

    def _on_tracked_update(self, order: TrackedOrder, o: OrderUpdateData, event_time: int) -> None:
        x = o.execution_type
        if x == "TRADE" or x == "CALCULATED":
            self._on_fill(order, o)
            return
        ts = (o.trade_time or event_time) * NANOS_PER_MS
        voi = self._venue_order_id(o.order_id)
        if x == "NEW":
            if order.is_algo and order.accepted:
                # The triggered algo order now lives in the matching engine under a new id.
                self._facts.venue_id_changed(order, voi, ts)
            else:
                self._facts.accepted(order, voi, ts)
        elif x == "CANCELED":
            self._facts.canceled(order, voi, strict_decimal(o.cum_filled_qty, "z"), ts)
        elif x == "EXPIRED":
            self._facts.expired(order, voi, strict_decimal(o.cum_filled_qty, "z"), ts)
        elif x == "AMENDMENT":
            info = self._instruments(o.symbol)
            self._facts.amended(
                order,
                voi,
                strict_decimal(o.original_qty, "q"),
                strict_decimal(o.original_price, "p"),
                lambda q: parse_quantity(str(q), info.size_precision),
                lambda p: parse_price(str(p), info.price_precision),
                ts,
            )
        else:
            self.unknown += 1
            self._log.warning(
                "ORDER_TRADE_UPDATE with unknown execution type %r for %s skipped", x, o.client_order_id
            )

    def _on_fill(self, order: TrackedOrder, o: OrderUpdateData) -> None:
        last_qty_dec = strict_decimal(o.last_filled_qty, "l")
        if not last_qty_dec:
            return  # a liquidation announced before its execution: no fill yet
        check_positive_id(o.trade_id, "t")
        check_time_ms(o.trade_time, "T")
        symbol = o.symbol
        entry = self._fill_context(symbol)
        info, ctx = entry[0], entry[1]
        quote = info.quote_currency
        n_asset = o.commission_asset
        commission_ccy = quote if not n_asset or n_asset == entry[2] else parse_currency(n_asset)
        # The hot path: quantities, prices and fees repeat (lot sizes, price levels), so they come
        # from caches (exact integer parse on a miss); nothing goes through float.
        cum = strict_decimal(o.cum_filled_qty, "z")
        self._facts.filled(
            order,
            o.trade_id,
            self._venue_order_id(o.order_id),
            self._position_id(info.instrument_id, o.position_side),
            ctx.size(o.last_filled_qty),
            last_qty_dec,
            ctx.price(o.last_filled_price),
            quote,
            parse_money(o.commission, commission_ccy),
            _MAKER if o.is_maker else _TAKER,
            o.trade_time * NANOS_PER_MS,
            cum,
        )
        if o.order_status == "FILLED" and order.filled >= cum:
            self._facts.fully_filled(order)

    def _on_external_order_update(self, o: OrderUpdateData, event_time: int) -> None:
        """An order this node did not submit (another session, the web UI, a liquidation): report it,
        with its fill bundled so the engine adopts the exact fill instead of inferring one."""
        info = self._instruments(o.symbol)
        ts_init = self._clock_ns()
        pos_id = self._position_id(info.instrument_id, o.position_side)
        ts_event = (o.trade_time or event_time) * NANOS_PER_MS
        fills: list[FillReport] = []
        key = None
        is_trade = o.execution_type in ("TRADE", "CALCULATED")
        own_fill = strict_decimal(o.last_filled_qty, "l") if is_trade else Decimal(0)
        if strict_decimal(o.cum_filled_qty, "z", allow_empty=True) > own_fill:
            # Fills of this order the engine never got (events lost, or made in a gap): a report
            # stating the cumulative quantity with fewer fills would make NautilusTrader infer the
            # rest, and the real fills arriving later would count twice. The venue's view instead.
            self._report_external(o.symbol, o.order_id)
            return
        if is_trade and own_fill > 0:
            check_positive_id(o.trade_id, "t")
            check_time_ms(o.trade_time, "T")
            key = fill_key(o.symbol, o.trade_id, OrderSide.BUY if o.side == "BUY" else OrderSide.SELL)
            if self._tracker.is_seen(key):
                return
            fills.append(
                order_update_to_fill_report(
                    o,
                    self._account_id,
                    info.instrument_id,
                    info.price_precision,
                    info.size_precision,
                    info.quote_currency,
                    ts_init,
                    pos_id,
                )
            )
        elif o.execution_type == "CALCULATED":
            return  # liquidation announced with zero quantity: wait for its execution
        report = order_update_to_status_report(
            o,
            *info.report_head(self._account_id, ts_event),
            ts_init,
            self._expired_as_canceled,
            pos_id,
        )
        self.send_order_with_fills(report, fills)
        if key is not None:
            self._tracker.mark_seen(key)  # committed only once both reports were built and sent

    def send_order_with_fills(self, report: OrderStatusReport, fills: list[FillReport]) -> None:
        send_order_with_fills(self._sink, self._client_id, self._account_id, BINANCE_VENUE, report, fills)

    # --- ALGO_UPDATE -------------------------------------------------------------------------
    def _on_algo_update(self, a: AlgoUpdateData, event_time: int) -> None:
        order = self._tracker.orders.get(a.client_algo_id)
        if order is None and safe_identifier(a.client_algo_id) is not None:
            order = self._adopt(a.client_algo_id, str(a.algo_id))
        ts = event_time * NANOS_PER_MS
        status = a.algo_status
        if order is None:
            if status in ("TRIGGERING", "FINISHED"):
                return  # transitions an external report adds nothing to
            info = self._instruments(a.symbol)
            self._sink._send_order_status_report(
                algo_update_to_status_report(
                    a,
                    *info.report_head(self._account_id, ts),
                    self._clock_ns(),
                    self._expired_as_canceled,
                )
            )
            return
        if order.algo_id is None:
            order.algo_id = a.algo_id
        algo_voi = VenueOrderId(str(a.algo_id))
        if status == "NEW":
            self._facts.accepted(order, algo_voi, ts)
            if a.activated is True and a.order_type == "TRAILING_STOP_MARKET":
                self.trailing_activations += 1
                self._log.info(
                    "trailing stop %s activated (its activation price was reached)", a.client_algo_id
                )
        elif status == "TRIGGERED":
            self._facts.triggered(order, ts)
        elif status == "CANCELED":
            executed = strict_decimal(a.executed_qty, "z", allow_empty=True)
            self._facts.canceled(order, order.venue_order_id or algo_voi, executed, ts)
        elif status == "EXPIRED":
            executed = strict_decimal(a.executed_qty, "z", allow_empty=True)
            self._facts.expired(order, order.venue_order_id or algo_voi, executed, ts)
        elif status == "REJECTED":
            self._facts.rejected(order, f"algo order rejected: {a.reject_reason or 'REJECTED'}", ts)
        elif status in ("TRIGGERING", "FINISHED"):
            pass  # fills and the final state come from the triggered order's ORDER_TRADE_UPDATEs
        else:
            self.unknown += 1
            self._log.warning("ALGO_UPDATE with unknown status %r for %s skipped", status, a.client_algo_id)

    # --- ACCOUNT_UPDATE ----------------------------------------------------------------------
    def _on_account_update(self, event: AccountUpdate) -> None:
        # Ordered by the transaction time (the event time when absent), stamped with the event time.
        self.publish_stream_balances(
            account_update_to_balances(event.data),
            event.transaction_time or event.event_time,
            event.event_time,
        )
