"""``UserFrameHandler``: what both venues' user-stream frame handlers (the hot path) share.

The collaborators every handler is built with (``PerpExecutionClient._handler_args``), its counters,
and the entry point the dispatcher calls: one frame in, decoded and dispatched by the venue, and
nothing a venue sends raises out of it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, NotRequired, Protocol, TypedDict, Unpack

from nautilus_trader.model.identifiers import AccountId, ClientId, InstrumentId, PositionId, VenueOrderId
from nautilus_trader.model.objects import AccountBalance, Price, Quantity

from adapters.core.base.timestamps import NANOS_PER_MS
from adapters.core.orders.balance_clock import BalanceClock
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder
from adapters.core.orders.reports import ReportSink
from adapters.core.parse.instrument_info import InstrumentInfo
from adapters.core.parse.wire_values import WireValueError, raw_head, redact

VENUE_ID_CACHE: Final = 8192  # venue order ids remembered as VenueOrderId (see UserFrameHandler)


class FillStrings(Protocol):
    """An instrument's string -> ``Price`` / ``Quantity`` conversions on the fill path (a venue's
    ``MarketContext``: bounded caches over the exact integer parse)."""

    def price(self, s: str) -> Price: ...

    def size(self, s: str) -> Quantity: ...


# A symbol's instrument, its fill-path conversions and its quote currency's code.
FillContext = tuple[InstrumentInfo, FillStrings, str]


class HandlerArgs(TypedDict):
    """What every venue's handler is built with (``PerpExecutionClient._handler_args``)."""

    facts: OrderFacts
    sink: ReportSink
    client_id: ClientId
    account_id: AccountId
    instruments: Callable[[str], InstrumentInfo]
    adopt: Callable[[str, str | None], TrackedOrder | None]
    position_id: Callable[[InstrumentId, str | None], PositionId | None]
    clock_ns: Callable[[], int]
    on_listen_key_expired: Callable[[str], None]
    treat_expired_as_canceled: bool
    logger: logging.Logger
    balance_clock: NotRequired[BalanceClock | None]


class UserFrameHandler:
    """A venue subclass decodes (:attr:`_decode`) and dispatches (:meth:`_dispatch`) one frame."""

    def __init__(self, **args: Unpack[HandlerArgs]) -> None:
        self._facts = args["facts"]
        self._tracker: OrderTracker = self._facts.tracker
        self._sink = args["sink"]
        self._client_id = args["client_id"]
        self._account_id = args["account_id"]
        self._instruments = args["instruments"]
        self._adopt = args["adopt"]
        self._position_id = args["position_id"]
        self._clock_ns = args["clock_ns"]
        self._on_listen_key_expired = args["on_listen_key_expired"]
        self._expired_as_canceled = args["treat_expired_as_canceled"]
        self._log = args["logger"]
        self.balance_clock = args.get("balance_clock") or BalanceClock()
        self.frames = 0
        self.malformed = 0
        self.unknown = 0  # unknown event types (and the venue's other unknown enums)
        self.errors = 0  # frames whose processing raised (logged, skipped)
        self.rejected = 0  # frames with a value rejected at the boundary (core.parse.wire_values)
        # Venue order id (int) -> VenueOrderId: an order's frames (NEW, fills, cancel) all carry its
        # id, and building the identifier costs ~4x a lookup. Bounded, cleared when full.
        self._venue_ids: dict[int, VenueOrderId] = {}
        self._fill_contexts: dict[str, FillContext] = {}

    # --- entry point (the dispatcher's FrameHandler) -----------------------------------------
    def handle_frame(self, raw: bytes | str) -> None:
        self.frames += 1
        # Nothing a venue sends may raise out of here (a garbage decimal, an event without its
        # payload, a failing lookup, a decoder error, a corrupt or oversized gzip frame): the frame
        # is logged, counted and skipped. A try block costs nothing on the happy path.
        try:
            self._dispatch(self._decode(raw))
        except WireValueError as exc:
            self.rejected += 1
            self._log.error("user frame rejected: %s", exc)
        except Exception:
            self.errors += 1
            self._log.exception("user frame skipped: processing failed: %s", redact(raw_head(raw)))

    def _venue_order_id(self, order_id: int) -> VenueOrderId:
        """``VenueOrderId(str(order_id))``, remembered."""
        voi = self._venue_ids.get(order_id)
        if voi is None:
            voi = VenueOrderId(str(order_id))
            if len(self._venue_ids) >= VENUE_ID_CACHE:
                self._venue_ids.clear()
            self._venue_ids[order_id] = voi
        return voi

    def _fill_context(self, symbol: str) -> FillContext:
        """``symbol``'s instrument with its fill-path conversions, made anew when the instrument
        changed (its id or precisions): the strings then parse at the new precisions."""
        info = self._instruments(symbol)
        entry = self._fill_contexts.get(symbol)
        if entry is None or (entry[0] is not info and entry[0] != info):
            entry = self._fill_contexts[symbol] = (
                info,
                self._new_fill_strings(info),
                info.quote_currency.code,
            )
        return entry

    def _new_fill_strings(self, info: InstrumentInfo) -> FillStrings:
        raise NotImplementedError

    # The venue's decoder (a staticmethod): one frame, bytes or text, in; one of its decoded event
    # types out, never raising on what a venue sends.
    _decode: Callable[[bytes | str], object]

    def publish_stream_balances(self, balances: list[AccountBalance], stamp_ms: int, event_ms: int) -> None:
        """An account update from the stream, unless a newer one (a REST read, a later frame) is already
        applied: ``stamp_ms`` orders it (an update still queued on a socket being drained, or repeated by
        a second socket, must not revert a balance), ``event_ms`` stamps the state (the clock when 0)."""
        fresh = self.balance_clock.fresh(balances, stamp_ms, stream=True)
        if not fresh:
            return
        self._sink.generate_account_state(
            balances=fresh,
            margins=[],
            reported=True,
            ts_event=(event_ms * NANOS_PER_MS) or self._clock_ns(),
        )

    def _dispatch(self, event: object) -> None:
        raise NotImplementedError
