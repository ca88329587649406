"""The BingX user-stream handler in isolation: last-fill-only fills (REST when missing, never the
cumulative quantity), duplicates, lowercase client ids, cancel-replace chains, liquidity inference,
the gzip Ping/Pong heartbeat and listenKeyExpired."""

from __future__ import annotations

import gzip
import logging
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientId,
    ClientOrderId,
    InstrumentId,
    StrategyId,
    VenueOrderId,
)

from adapters.bingx.user_events import BingxUserStreamHandler, OrderIndex
from adapters.bingx.user_stream import ping_reply, user_stream_url
from adapters.core.client.exec_client import InstrumentInfo
from adapters.core.orders.order_facts import OrderFacts
from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder

IID = InstrumentId.from_str("BTC-USDT-PERP.BINGX")
CID = "O-20260101-000000-001-000-1"


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("generate_", "_send_")):
            return lambda *args, **kwargs: self.events.append((name, args or kwargs))
        raise AttributeError(name)

    def of(self, name: str) -> list[Any]:
        return [args for n, args in self.events if n == name]


class Env:
    def __init__(self) -> None:
        self.sink = Sink()
        self.tracker = OrderTracker()
        self.index = OrderIndex(self.tracker)
        self.fetches: list[tuple[Any, str, int]] = []
        self.expired: list[str] = []
        self.facts = OrderFacts(
            self.tracker, self.sink, treat_expired_as_canceled=False, request_fills=lambda o: None
        )
        self.handler = BingxUserStreamHandler(
            facts=self.facts,
            index=self.index,
            sink=self.sink,  # type: ignore[arg-type]
            client_id=ClientId("BINGX"),
            account_id=AccountId("BINGX-SWAP"),
            instruments=lambda s: InstrumentInfo(IID, 1, 4, USDT),
            adopt=lambda cid, venue_id: None,
            position_id=lambda iid, ps: None,
            clock_ns=lambda: 1,
            on_listen_key_expired=self.expired.append,
            fetch_fills=lambda order, symbol, oid: self.fetches.append((order, symbol, oid)),
            treat_expired_as_canceled=False,
            fee_rates=lambda s: (Decimal("0.0002"), Decimal("0.0005")),
            logger=logging.getLogger("test"),
        )
        self.order = self.index.register(
            TrackedOrder(
                client_order_id=ClientOrderId(CID),
                strategy_id=StrategyId("S-001"),
                instrument_id=IID,
                symbol="BTC-USDT",
                side=OrderSide.BUY,
                order_type=OrderType.LIMIT,
                is_algo=False,
                quantity=Decimal("0.02"),
                price=Decimal("59000"),
            )
        )


def frame(**o: Any) -> bytes:
    body = {
        "s": "BTC-USDT", "c": CID.lower(), "i": 1970374651259388001, "S": "BUY", "o": "LIMIT",
        "q": "0.02000000", "p": "59000.00000000", "x": "TRADE", "X": "PARTIALLY_FILLED", "N": "USDT",
        "n": "-0.11800000", "T": 1700000000000, "ps": "BOTH", "z": "0.01000000",
    }  # fmt: skip
    body.update(o)
    return gzip.compress(msgspec.json.encode({"e": "ORDER_TRADE_UPDATE", "E": 1700000000001, "o": body}))


def test_fill_comes_from_last_fill_fields_and_lowercase_client_id_finds_the_order() -> None:
    env = Env()
    env.handler.handle_frame(frame(l="0.01000000", L="59000.00000000", td=7))
    (fill,) = env.sink.of("generate_order_filled")
    assert fill[2] == ClientOrderId(CID)  # the node's id, not the venue's lowercase echo
    assert fill[8].as_decimal() == Decimal("0.01") and fill[9].as_decimal() == Decimal("59000")
    assert fill[11].as_decimal() == Decimal("0.118")  # commission positive for a cost
    assert fill[12] == LiquiditySide.MAKER  # inferred from the 2 bp fee (no maker flag on BingX)
    env.handler.handle_frame(frame(l="0.01000000", L="59000.00000000", td=7))  # a duplicate push
    assert len(env.sink.of("generate_order_filled")) == 1
    assert env.facts.duplicates_dropped == 1


def test_execution_without_last_fill_fields_is_fetched_by_rest_never_from_z() -> None:
    env = Env()
    # A partial fill without l/L: the cumulative z (0.01) must not become a fill.
    env.handler.handle_frame(frame())
    env.handler.handle_frame(frame(z="0.02000000", X="FILLED"))  # z grows: still no fill from it
    assert env.sink.of("generate_order_filled") == []
    assert env.handler.missing_last_fill == 2
    assert [(o is env.order, s, oid) for o, s, oid in env.fetches] == [
        (True, "BTC-USDT", 1970374651259388001)
    ] * 2
    # A fill without a trade id is treated the same way (it could not be matched with REST).
    env.handler.handle_frame(frame(l="0.01000000", L="59000.00000000"))
    assert env.sink.of("generate_order_filled") == [] and len(env.fetches) == 3


def test_cancel_with_missing_fills_is_held_until_they_arrive() -> None:
    env = Env()
    env.handler.handle_frame(frame(x="NEW", X="NEW", z="0", T=0))
    env.handler.handle_frame(frame(x="CANCELED", X="CANCELED", z="0.01000000", T=0))
    assert env.sink.of("generate_order_canceled") == []  # 0.01 filled on the venue, 0 emitted
    env.handler.handle_frame(frame(l="0.01000000", L="59000.00000000", td=9))
    assert len(env.sink.of("generate_order_filled")) == 1
    assert len(env.sink.of("generate_order_canceled")) == 1


def test_retired_link_of_a_cancel_replace_chain() -> None:
    env = Env()
    env.handler.handle_frame(frame(x="NEW", X="NEW", z="0", T=0))
    old = VenueOrderId("1970374651259388001")
    assert env.order.venue_order_id == old
    chain = env.index.chain_for(env.order)
    chain.retired.add(old.value)
    chain.filled_before = Decimal("0.01")
    chain.current_cid = f"{CID.lower()}-r1"
    env.index.add_alias(env.order, chain.current_cid)
    env.handler.handle_frame(frame(x="CANCELED", X="CANCELED", T=0))  # our own cancel: ignored
    assert env.sink.of("generate_order_canceled") == []
    # The replacement's events find the order by its alias; its z is offset by the retired link.
    new = 1970374651259388005
    env.handler.handle_frame(frame(c=chain.current_cid, i=new, x="NEW", X="NEW", z="0", T=0))
    assert env.order.venue_order_id == VenueOrderId(str(new))
    env.handler.handle_frame(
        frame(c=chain.current_cid, i=new, l="0.01000000", L="59000.00000000", td=11, X="FILLED", z="0.01")
    )
    assert env.order.filled == Decimal("0.01")
    # filled 0.01 (this link) but the chain filled 0.01 before: not complete yet
    assert env.order.terminal is None
    # A late fill of the retired link is reported under the id the engine holds.
    env.handler.handle_frame(frame(l="0.01000000", L="59000.00000000", td=10))
    fills = env.sink.of("generate_order_filled")
    assert [f[3] for f in fills] == [VenueOrderId(str(new))] * 2


def test_external_order_is_reported_with_its_fill_bundled() -> None:
    env = Env()
    env.handler.handle_frame(frame(c="", i=42, l="0.01000000", L="59000.00000000", td=3, X="FILLED"))
    (mass,) = env.sink.of("_send_mass_status_report")
    report = mass[0]
    assert list(report.order_reports) == [VenueOrderId("42")]
    assert [f.trade_id.value for f in report.fill_reports[VenueOrderId("42")]] == ["3"]


@pytest.mark.parametrize(
    "fields",
    [
        # its first fill's event was lost: this one states 0.02 filled with only 0.01 of its own
        {"l": "0.01000000", "L": "59000.00000000", "td": 4, "z": "0.02000000", "X": "FILLED"},
        # a cancel after fills the engine never got (no fill of its own at all)
        {"x": "CANCELED", "X": "CANCELED", "z": "0.01000000"},
    ],
    ids=["fill-after-a-lost-fill", "cancel-after-lost-fills"],
)
def test_an_external_event_that_cannot_be_reported_whole_is_reported_from_rest(
    fields: dict[str, Any],
) -> None:
    """A report stating more filled than the fills bundled with it makes NautilusTrader infer the
    rest (chaos seed 58): nothing is sent from the event, the venue's view is asked for."""
    env = Env()
    env.handler.handle_frame(frame(c="", i=42, **fields))
    assert env.sink.events == []
    assert env.fetches == [(None, "BTC-USDT", 42)]


def test_listen_key_expired_and_heartbeat() -> None:
    env = Env()
    env.handler.handle_frame(gzip.compress(b'{"e":"listenKeyExpired","E":1,"listenKey":"abc"}'))
    assert env.expired == ["listenKeyExpired"]
    assert ping_reply(gzip.compress(b"Ping")) == "Pong"
    assert ping_reply(b"Ping") == "Pong"
    assert ping_reply(gzip.compress(b'{"e":"ACCOUNT_UPDATE"}' * 10)) is None
    assert user_stream_url("wss://h/swap-market/", "k") == "wss://h/swap-market?listenKey=k"
    env.handler.handle_frame(b"\x1f\x8bgarbage")
    assert env.handler.malformed == 1


# ------------------------------------------------------------------------------------------------
# Hostile input
# ------------------------------------------------------------------------------------------------


def test_a_frame_that_inflates_beyond_the_limit_is_malformed_not_64_mib() -> None:
    """65 KB of gzip used to inflate to 64 MiB in memory before anything looked at it."""
    env = Env()
    bomb = gzip.compress(b'{"e":"ORDER_TRADE_UPDATE","pad":"' + b"0" * (64 * 1024 * 1024) + b'"}')
    assert len(bomb) < 100_000
    env.handler.handle_frame(bomb)
    assert env.handler.malformed == 1 and env.handler.errors == 0 and env.sink.events == []


def test_a_corrupt_heartbeat_sized_frame_neither_raises_nor_answers() -> None:
    """A tiny corrupt gzip frame used to raise out of the heartbeat check and drop the socket."""
    good = gzip.compress(b"Ping")
    for corrupt in (good[:-4], good[:10] + b"\xff" * 8 + good[18:], b"\x1f\x8b\x08" + b"\x00" * 20):
        assert ping_reply(corrupt) is None


def test_an_external_order_with_a_chinese_client_id_is_reported_not_fatal() -> None:
    """BingX accepts any client id from other tools; NautilusTrader aborts on non-ASCII ids."""
    env = Env()
    env.handler.handle_frame(frame(c="网页下单1", i=43, l="0.01000000", L="59000.00000000", td=4, X="FILLED"))
    (mass,) = env.sink.of("_send_mass_status_report")
    report = mass[0].order_reports[VenueOrderId("43")]
    assert report.client_order_id is None  # the engine names it; the order and its fill arrive
    assert [f.trade_id.value for f in mass[0].fill_reports[VenueOrderId("43")]] == ["4"]


def test_a_tracked_fill_with_a_hostile_value_is_rejected_and_the_order_reread() -> None:
    env = Env()
    requests: list[TrackedOrder] = []
    env.facts._request_fills = requests.append
    env.handler.handle_frame(frame(l="0.01000000", L="99999999999999999", td=9))
    env.handler.handle_frame(frame(l="0.01000000", L="-1", td=9))
    assert env.sink.of("generate_order_filled") == [] and env.handler.rejected == 2
    assert env.order.resync and requests
    env.handler.handle_frame(frame(l="0.01000000", L="59000.00000000", td=9))  # not a "duplicate"
    assert len(env.sink.of("generate_order_filled")) == 1


# The fill path reads l/L through the per-instrument caches since issue 16 (no OrderFill): every
# hostile quantity or price must still be rejected, never believed, never cached, never fatal.
@pytest.mark.parametrize(
    ("qty", "px"),
    [
        ("-0.01000000", "59000.00000000"),  # a stream fill quantity is never signed
        ("1" + "0" * 200, "59000.00000000"),  # past the decimal length bound
        ("abc", "59000.00000000"),
        ("0.01000000", "5.9e4"),
        ("0.01000000", "59000.00000000" + "0" * 200),
        ("NaN", "59000.00000000"),
    ],
)
def test_a_tracked_fill_with_a_hostile_quantity_or_price_is_rejected_every_time(qty: str, px: str) -> None:
    env = Env()
    requests: list[TrackedOrder] = []
    env.facts._request_fills = requests.append
    for _ in range(2):  # the second time too: a rejected string is never remembered as valid
        env.handler.handle_frame(frame(l=qty, L=px, td=9))
    assert env.sink.of("generate_order_filled") == []
    assert env.handler.rejected + env.handler.missing_last_fill == 2 and env.handler.errors == 0
    assert env.order.filled == 0
    env.handler.handle_frame(frame(l="0.01000000", L="59000.00000000", td=9))  # the real one still lands
    assert len(env.sink.of("generate_order_filled")) == 1
