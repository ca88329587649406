"""BingX market data: frame decoding, conversions at instrument precisions, the incrDepth chain rule,
trade de-duplication, bar finality, the stream codec and the heartbeat reply (pure, no I/O)."""

from __future__ import annotations

import gzip
from decimal import Decimal

import msgspec
import pytest
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import AggressorSide, BookAction
from nautilus_trader.model.identifiers import InstrumentId

from adapters.bingx.book import BINGX_CHAIN_RULE, BingxBookSync
from adapters.bingx.parsing_market import (
    BarTracker,
    BingxStreamCodec,
    MarketContext,
    bar_type_for,
    depth_topic,
    interval_for,
    parse_depth10,
    parse_mark_price,
    parse_quote,
    parse_trades,
    server_ping_reply,
)
from adapters.bingx.schemas_market import (
    BookTickerFrame,
    DepthFrame,
    IncrDepth,
    IncrDepthFrame,
    KlineFrame,
    MarkPriceFrame,
    TradeFrame,
    decode_market_frame,
)
from adapters.bingx.stream_frames import (
    MalformedFrame,
    PingFrame,
    StreamAck,
)
from adapters.core.base.dedup import FifoDedup
from adapters.core.market.book_sync import SyncState, Verdict
from adapters.core.net.stream_pool import Ack

BTC = InstrumentId.from_str("BTC-USDT-PERP.BINGX")


def gz(obj: object) -> bytes:
    raw = obj if isinstance(obj, bytes) else msgspec.json.encode(obj)
    return gzip.compress(raw)


def ctx() -> MarketContext:
    return MarketContext(BTC, 1, 4)


# Samples from the official BingX swap docs (Websocket market data, October 2025).
TRADE = {
    "code": 0,
    "dataType": "BTC-USDT@trade",
    "data": [
        {"q": "0.0162", "p": "121934.9", "T": 1759994162450, "m": False, "s": "BTC-USDT"},
        {"q": "0.0100", "p": "121934.8", "T": 1759994162450, "m": True, "s": "BTC-USDT"},
    ],
}
BOOK_TICKER = {
    "code": 0,
    "dataType": "BTC-USDT@bookTicker",
    "data": {
        "e": "bookTicker",
        "u": 578534658,
        "E": 1760001840686,
        "T": 1760001840687,
        "s": "BTC-USDT",
        "b": "121584.1",
        "B": "18.7084",
        "a": "121584.3",
        "A": "4.9602",
    },
}
DEPTH5 = {
    "code": 0,
    "dataType": "BTC-USDT@depth5@500ms",
    "ts": 1759996742928,
    "data": {
        "bids": [["121825.7", "7.7622"], ["121825.6", "0.0100"]],
        "asks": [["121827.3", "0.0025"], ["121827.1", "0.0010"], ["121825.9", "9.2345"]],
    },
}
MARK = {
    "code": 0,
    "dataType": "BTC-USDT@markPrice",
    "data": {"e": "markPriceUpdate", "E": 1760001628357, "s": "BTC-USDT", "p": "121570.04"},
}
KLINE = {
    "code": 0,
    "dataType": "BTC-USDT@kline_1m",
    "s": "BTC-USDT",
    "data": [
        {
            "c": "121697.7",
            "o": "121684.1",
            "h": "121697.7",
            "l": "121638.7",
            "v": "5.8244",
            "T": 1759997460000,
        }
    ],
}


def incr(
    action: str, uid: int, bids: list[list[str]] | None = None, asks: list[list[str]] | None = None
) -> dict:
    return {
        "code": 0,
        "dataType": "BTC-USDT@incrDepth",
        "data": {
            "action": action,
            "lastUpdateId": uid,
            "time": 1760002514979,
            "bids": bids or [],
            "asks": asks or [],
        },
    }


# --- decoding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "tp"),
    [
        (TRADE, TradeFrame),
        (BOOK_TICKER, BookTickerFrame),
        (DEPTH5, DepthFrame),
        (MARK, MarkPriceFrame),
        (KLINE, KlineFrame),
        (incr("all", 1, [["1.0", "2.0000"]]), IncrDepthFrame),
    ],
)
def test_data_frames_decode_to_typed_structs(payload: dict, tp: type) -> None:
    decoded = decode_market_frame(gz(payload))
    assert isinstance(decoded, tp)
    assert decoded.dataType == payload["dataType"]  # type: ignore[union-attr]
    # plain (not gzip) frames decode the same way
    assert isinstance(decode_market_frame(msgspec.json.encode(payload)), tp)


def test_control_frames_go_through_the_general_decoder() -> None:
    assert isinstance(decode_market_frame(gz(b"Ping")), PingFrame)
    ack = decode_market_frame(gz({"id": "7", "code": 0, "msg": "", "dataType": "", "data": None}))
    assert isinstance(ack, StreamAck) and ack.ok and ack.id == "7"
    refused = decode_market_frame(
        gz({"id": "8", "code": 80403, "msg": "too many", "dataType": "BTC-USDT@trade", "data": None})
    )
    assert isinstance(refused, StreamAck) and refused.code == 80403
    assert isinstance(decode_market_frame(b"\x1f\x8bgarbage"), MalformedFrame)


def test_numbers_instead_of_strings_fall_back_without_raising() -> None:
    odd = {"code": 0, "dataType": "BTC-USDT@markPrice", "data": {"s": "BTC-USDT", "p": 121570.0}}
    decoded = decode_market_frame(gz(odd))
    # not believed: a malformed frame naming the topic (the codec logs it and passes nothing on)
    assert isinstance(decoded, MalformedFrame) and decoded.event_type == "BTC-USDT@markPrice"
    assert "Expected `str`" in decoded.error


def test_codec_encodes_one_topic_per_request_and_maps_acks() -> None:
    codec = BingxStreamCodec("t")
    frame = codec.encode("SUBSCRIBE", ["BTC-USDT@trade"], 12)
    assert msgspec.json.decode(frame) == {"id": "12", "reqType": "sub", "dataType": "BTC-USDT@trade"}
    assert msgspec.json.decode(codec.encode("UNSUBSCRIBE", ["X@trade"], 3))["reqType"] == "unsub"
    assert codec.decode(gz({"id": "12", "code": 0, "msg": "", "dataType": "", "data": None})) == Ack(12)
    refused = codec.decode(
        gz({"id": "13", "code": 80014, "msg": "invalid params", "dataType": "", "data": None})
    )
    assert isinstance(refused, Ack) and refused.id == 13 and "80014" in (refused.error or "")
    topic, event = codec.decode(gz(TRADE))  # type: ignore[misc]
    assert topic == "BTC-USDT@trade" and isinstance(event, TradeFrame)
    assert codec.decode(gz(b"Ping")) is None


def test_server_ping_reply() -> None:
    assert server_ping_reply(gz(b"Ping")) == "Pong"
    assert server_ping_reply("Ping") == "Pong"
    assert msgspec.json.decode(server_ping_reply(gz({"ping": "abc", "time": "t"})) or "") == {
        "pong": "abc",
        "time": "t",
    }
    assert server_ping_reply(gz(TRADE)) is None
    assert server_ping_reply(gz({"id": "1", "code": 0})) is None


# --- conversions --------------------------------------------------------------------------------------


def test_quote_and_mark_price_at_instrument_precisions() -> None:
    c = ctx()
    ticker = decode_market_frame(gz(BOOK_TICKER))
    assert isinstance(ticker, BookTickerFrame)
    q = parse_quote(ticker.data, c, 5)
    assert (str(q.bid_price), str(q.bid_size), str(q.ask_price), str(q.ask_size)) == (
        "121584.1",
        "18.7084",
        "121584.3",
        "4.9602",
    )
    assert q.ts_event == 1760001840687 * 1_000_000 and q.ts_init == 5
    frame = decode_market_frame(gz(MARK))
    assert isinstance(frame, MarkPriceFrame)
    m = parse_mark_price(frame.data, c, 5)
    assert str(m.value) == "121570.0" and m.value.precision == 1  # rounded half-even to the tick


def test_trades_get_stable_ids_and_duplicates_are_dropped() -> None:
    c = ctx()
    frame = decode_market_frame(gz(TRADE))
    assert isinstance(frame, TradeFrame)
    seen: FifoDedup[str] = FifoDedup(100)
    ticks = parse_trades(frame, c, 1, seen)
    assert len(ticks) == 2
    assert len({t.trade_id for t in ticks}) == 2 and all(len(t.trade_id.value) <= 36 for t in ticks)
    assert ticks[0].aggressor_side == AggressorSide.BUYER and ticks[1].aggressor_side == AggressorSide.SELLER
    assert (str(ticks[0].price), str(ticks[0].size)) == ("121934.9", "0.0162")
    assert ticks[0].size.precision == 4
    again = decode_market_frame(gz(TRADE))
    assert isinstance(again, TradeFrame)
    assert parse_trades(again, c, 2, seen) == []  # the venue's duplicate push
    assert [t.trade_id for t in parse_trades(again, c, 2)] == [t.trade_id for t in ticks]  # deterministic


def test_depth10_sorts_far_to_best_asks() -> None:
    frame = decode_market_frame(gz(DEPTH5))
    assert isinstance(frame, DepthFrame)
    depth = parse_depth10(frame, ctx(), 1)
    assert [str(o.price) for o in depth.asks[:3]] == ["121825.9", "121827.1", "121827.3"]
    assert [str(o.price) for o in depth.bids[:2]] == ["121825.7", "121825.6"]
    assert depth.ts_event == 1759996742928 * 1_000_000


def test_depth10_keeps_the_ten_best_levels_that_hold_something() -> None:
    # Twelve levels a side, unordered, one of the best ten empty: it is skipped, the eleventh comes in.
    bids = [[f"{121800 - i}.0", "0" if i == 3 else f"0.{i + 1:04d}"] for i in range(12)]
    asks = [[f"{121801 + i}.0", "0.0000" if i == 0 else "1.0000"] for i in range(12)]
    frame = decode_market_frame(
        gz({**DEPTH5, "dataType": "BTC-USDT@depth20@500ms", "data": {"bids": bids[::-1], "asks": asks[::-1]}})
    )
    assert isinstance(frame, DepthFrame)
    depth = parse_depth10(frame, ctx(), 1)
    assert [str(o.price) for o in depth.bids] == [f"{121800 - i}.0" for i in range(12) if i != 3][:10]
    assert [str(o.price) for o in depth.asks] == [f"{121801 + i}.0" for i in range(1, 11)]
    assert all(o.size.raw > 0 for o in (*depth.bids, *depth.asks))


def test_bar_types_and_intervals() -> None:
    bt = bar_type_for(BTC, "1m")
    assert str(bt) == "BTC-USDT-PERP.BINGX-1-MINUTE-LAST-EXTERNAL"
    assert interval_for(BarType.from_str("BTC-USDT-PERP.BINGX-4-HOUR-LAST-EXTERNAL")) == "4h"
    with pytest.raises(ValueError):
        interval_for(BarType.from_str("BTC-USDT-PERP.BINGX-7-MINUTE-LAST-EXTERNAL"))
    assert depth_topic("BTC-USDT") == "BTC-USDT@depth10@200ms"
    assert depth_topic("1000PEPE-USDT") == "1000PEPE-USDT@depth10@500ms"


def test_bar_emitted_only_when_a_later_bar_arrives() -> None:
    tracker = BarTracker(bar_type_for(BTC, "1m"), 60_000, ctx())
    frame = decode_market_frame(gz(KLINE))
    assert isinstance(frame, KlineFrame)
    assert tracker.on_push(frame.data, 1) == []
    later = dict(KLINE, data=[dict(KLINE["data"][0], c="121700.0", h="121700.0")])  # type: ignore[arg-type]
    f2 = decode_market_frame(gz(later))
    assert isinstance(f2, KlineFrame)
    assert tracker.on_push(f2.data, 2) == []  # same bar, updated: still open
    nxt = dict(KLINE, data=[dict(KLINE["data"][0], T=1759997520000)])  # type: ignore[arg-type]
    f3 = decode_market_frame(gz(nxt))
    assert isinstance(f3, KlineFrame)
    bars = tracker.on_push(f3.data, 3)
    assert len(bars) == 1
    assert (str(bars[0].close), str(bars[0].high), str(bars[0].volume)) == ("121700.0", "121700.0", "5.8244")
    assert bars[0].ts_event == 1759997520000 * 1_000_000
    tracker.invalidate()
    assert tracker.held is None


# --- incrDepth chain rule -------------------------------------------------------------------------------


def upd(uid: int, action: str = "update") -> IncrDepth:
    return IncrDepth(action, uid, 1, [("100.0", "1.0000")], [])


def test_chain_rule_verdicts() -> None:
    assert BINGX_CHAIN_RULE.first(upd(10), 10) is Verdict.STALE
    assert BINGX_CHAIN_RULE.first(upd(11), 10) is Verdict.APPLY
    assert BINGX_CHAIN_RULE.first(upd(12), 10) is Verdict.GAP
    assert BINGX_CHAIN_RULE.next(upd(21), 20) is Verdict.APPLY
    assert BINGX_CHAIN_RULE.next(upd(19), 20) is Verdict.STALE
    assert BINGX_CHAIN_RULE.next(upd(23), 20) is Verdict.GAP


def test_book_sync_snapshot_updates_gap_and_authoritative_all() -> None:
    sync = BingxBookSync(ctx())
    assert sync.on_push(upd(5), 1).deltas == []  # buffered before the snapshot
    snap = IncrDepth("all", 5, 1, [("100.0", "1.0000"), ("99.9", "2.0000")], [("100.1", "3.0000")])
    out = sync.on_push(snap, 1)
    assert sync.is_synced and sync.last_update_id == 5
    assert out.deltas[0].is_snapshot and len(out.deltas[0].deltas) == 4  # CLEAR + 3 ADD
    out = sync.on_push(IncrDepth("update", 6, 2, [("100.0", "0.0000")], [("100.2", "1.5000")]), 2)
    [packet] = out.deltas
    assert [d.action for d in packet.deltas] == [BookAction.DELETE, BookAction.UPDATE]
    assert packet.deltas[-1].flags & 0x80 and packet.deltas[0].sequence == 6
    gap = sync.on_push(upd(8), 3)
    assert gap.request_snapshot and sync.state is SyncState.RESYNC_NEEDED
    [clear] = gap.deltas
    assert clear.deltas[0].action == BookAction.CLEAR
    assert sync.on_push(upd(9), 3).deltas == []  # nothing emitted while unsynced
    again = sync.on_push(IncrDepth("all", 9, 4, [("100.0", "1.0000")], []), 4)
    assert sync.is_synced and sync.last_update_id == 9 and again.deltas[0].is_snapshot
    assert sync.on_push(upd(10), 5).deltas  # chained on the fresh snapshot
    # An "all" while synced is authoritative (in order with the updates): the book is reset onto it.
    reset = sync.on_push(IncrDepth("all", 50, 6, [("101.0", "1.0000")], []), 6)
    assert sync.last_update_id == 50 and reset.deltas[0].is_snapshot
    assert sync.metrics.gaps_detected == 1 and sync.snapshots_seen == 3


def test_reconnect_resync_clears_once_and_waits_for_all() -> None:
    sync = BingxBookSync(ctx())
    sync.on_push(IncrDepth("all", 1, 1, [("100.0", "1.0000")], []), 1)
    out = sync.request_resync("reconnected", 2)
    assert out.request_snapshot and [d.deltas[0].action for d in out.deltas] == [BookAction.CLEAR]
    assert sync.on_push(upd(2), 3).deltas == []
    assert sync.on_push(IncrDepth("all", 7, 4, [("100.0", "2.0000")], []), 4).deltas
    assert Decimal(sync.last_update_id or 0) == 7
