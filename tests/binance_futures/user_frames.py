"""Builders for the Binance user-stream tests: frames as bytes (the recorded fixtures with fields
replaced), the recording sink that stands in for the exec client, and an ``Env`` wiring a real
``UserStreamHandler`` and ``OrderFacts`` to it. Shared by test_user_events, test_venue_sync and the
OrderFacts tests under tests/core."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from nautilus_trader.execution.reports import ExecutionMassStatus, OrderStatusReport
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    VenueOrderId,
)

from adapters.binance_futures.user_events import UserStreamHandler
from adapters.core.client.exec_client import InstrumentInfo
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binance_futures"
ACCOUNT = AccountId("BINANCE-USDT_FUTURES-master")
CLIENT = ClientId("BINANCE")
ETH = InstrumentId.from_str("ETHUSDT-PERP.BINANCE")
BTC = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
STRATEGY = StrategyId("S-001")
CID = "O-20250101-000000-001-001-1"  # the regular LIMIT SELL of the fixtures
ALGO_CID = "O-20250101-000000-001-001-2"  # the STOP_MARKET BUY algo order of the fixtures
TS_INIT = 42
INSTRUMENTS = {
    "ETHUSDT": InstrumentInfo(ETH, 2, 3, USDT),
    "BTCUSDT": InstrumentInfo(BTC, 2, 3, USDT),
}
MS = 1_000_000


# ------------------------------------------------------------------------------------------------
# Frames
# ------------------------------------------------------------------------------------------------


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def encode(payload: Any) -> bytes:
    # Compact, as the venue sends it (the decoder's fast path keys on a leading {"e").
    return json.dumps(payload, separators=(",", ":")).encode()


def otu(o: dict[str, Any], *, base: str = "order_trade_update_new.json", **top: Any) -> bytes:
    """An ORDER_TRADE_UPDATE frame: the fixture with ``o`` fields replaced (wire keys)."""
    payload = fixture(base)
    payload["o"].update(o)
    payload.update(top)
    return encode(payload)


def trade(t: int, last: str, cum: str, status: str = "PARTIALLY_FILLED", **o: Any) -> bytes:
    """A TRADE of the fixtures' LIMIT SELL (order 4200000001) at 3150.10, maker, 0.063002 USDT fee."""
    fields = {"x": "TRADE", "X": status, "l": last, "z": cum, "L": "3150.10", "t": t, "T": 1735689601000}
    fields.update(o)
    return otu(fields, base="order_trade_update_trade.json")


def algo(status: str, *, base: str = "algo_update_new.json", **o: Any) -> bytes:
    payload = fixture(base)
    payload["o"].update({"X": status, **o})
    return encode(payload)


# ------------------------------------------------------------------------------------------------
# The recording sink (implements OrderEventSink and ReportSink)
# ------------------------------------------------------------------------------------------------


class RecordingSink:
    """Records every call as ``(kind, ...)`` with the fields that matter, plus the raw arguments."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail_next_fill = False

    def _record(self, kind: str, args: dict[str, Any], summary: tuple[Any, ...]) -> None:
        self.calls.append((kind, args))
        self.events.append((kind, *summary))

    def generate_order_accepted(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None:
        self._record("accepted", locals(), (client_order_id.value, venue_order_id.value))

    def generate_order_rejected(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        reason: str,
        ts_event: int,
        due_post_only: bool = False,
    ) -> None:
        self._record("rejected", locals(), (client_order_id.value, reason))

    def generate_order_canceled(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None:
        self._record("canceled", locals(), (client_order_id.value, venue_order_id.value))

    def generate_order_expired(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None:
        self._record("expired", locals(), (client_order_id.value, venue_order_id.value))

    def generate_order_triggered(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        ts_event: int,
    ) -> None:
        self._record("triggered", locals(), (client_order_id.value, venue_order_id.value))

    def generate_order_updated(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        quantity: Any,
        price: Any,
        trigger_price: Any,
        ts_event: int,
        venue_order_id_modified: bool = False,
    ) -> None:
        self._record(
            "updated", locals(), (client_order_id.value, venue_order_id.value, str(quantity), str(price))
        )

    def generate_order_filled(
        self,
        strategy_id: StrategyId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        venue_order_id: VenueOrderId,
        venue_position_id: PositionId | None,
        trade_id: Any,
        order_side: OrderSide,
        order_type: OrderType,
        last_qty: Any,
        last_px: Any,
        quote_currency: Any,
        commission: Any,
        liquidity_side: LiquiditySide,
        ts_event: int,
    ) -> None:
        if self.fail_next_fill:
            # As building a real OrderFilled raises on a value NautilusTrader cannot represent.
            self.fail_next_fill = False
            raise ValueError("cannot build OrderFilled")
        self._record(
            "filled",
            locals(),
            (client_order_id.value, venue_order_id.value, trade_id.value, str(last_qty), str(last_px)),
        )

    def _send_order_status_report(self, report: OrderStatusReport) -> None:
        self._record("report", {"report": report}, (report,))

    def _send_mass_status_report(self, report: ExecutionMassStatus) -> None:
        self._record("mass", {"report": report}, (report,))

    def generate_account_state(
        self,
        balances: list[Any],
        margins: list[Any],
        reported: bool,
        ts_event: int,
        info: dict[str, object] | None = None,
    ) -> None:
        self._record("account", locals(), (balances, margins, reported, ts_event))

    # --- helpers for assertions --------------------------------------------------------------
    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]

    def args(self, kind: str) -> list[dict[str, Any]]:
        return [a for k, a in self.calls if k == kind]


@dataclass
class Env:
    tracker: OrderTracker
    sink: RecordingSink
    facts: OrderFacts
    handler: UserStreamHandler
    fill_requests: list[TrackedOrder] = field(default_factory=list)
    expirations: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    external_by_rest: list[tuple[str, int]] = field(default_factory=list)

    def feed(self, *frames: bytes | str) -> None:
        for f in frames:
            self.handler.handle_frame(f)


def make_env(
    *,
    expired_as_canceled: bool = False,
    adopt: Callable[[str, str | None], TrackedOrder | None] | None = None,
) -> Env:
    tracker = OrderTracker()
    sink = RecordingSink()
    fill_requests: list[TrackedOrder] = []
    expirations: list[str] = []
    adopted: list[str] = []
    external_by_rest: list[tuple[str, int]] = []

    def request_fills(order: TrackedOrder) -> None:
        # As FillRepairs: at most one repair per order at a time.
        if not any(o is order for o in fill_requests):
            fill_requests.append(order)

    facts = OrderFacts(
        tracker, sink, treat_expired_as_canceled=expired_as_canceled, request_fills=request_fills
    )

    def _adopt(cid: str, venue_id: str | None = None) -> TrackedOrder | None:
        if cid:  # an exchange-generated id is looked up by its venue order id only
            adopted.append(cid)
        return adopt(cid, venue_id) if adopt is not None else None

    def _position_id(iid: InstrumentId, side: str | None) -> PositionId | None:
        return PositionId(f"{iid}-{side}") if side in ("LONG", "SHORT") else None

    handler = UserStreamHandler(
        facts=facts,
        sink=sink,
        client_id=CLIENT,
        account_id=ACCOUNT,
        instruments=INSTRUMENTS.__getitem__,
        adopt=_adopt,
        position_id=_position_id,
        clock_ns=lambda: TS_INIT,
        on_listen_key_expired=expirations.append,
        treat_expired_as_canceled=expired_as_canceled,
        logger=logging.getLogger("tests.user_events"),
        report_external=lambda symbol, order_id: external_by_rest.append((symbol, order_id)),
    )
    return Env(tracker, sink, facts, handler, fill_requests, expirations, adopted, external_by_rest)


def tracked(
    cid: str = CID,
    *,
    side: OrderSide = OrderSide.SELL,
    order_type: OrderType = OrderType.LIMIT,
    quantity: str | None = None,
    price: str | None = "3150.10",
    symbol: str = "ETHUSDT",
) -> TrackedOrder:
    is_algo = order_type not in (OrderType.LIMIT, OrderType.MARKET)
    return TrackedOrder(
        client_order_id=ClientOrderId(cid),
        strategy_id=STRATEGY,
        instrument_id=INSTRUMENTS[symbol].instrument_id,
        symbol=symbol,
        side=side,
        order_type=order_type,
        is_algo=is_algo,
        quantity=Decimal(quantity or ("0.300" if cid == ALGO_CID else "0.250")),
        price=Decimal(price) if price is not None else None,
    )
