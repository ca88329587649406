"""Binance USD-M market data: decoding (schemas_market), conversions (parsing_market), stream names."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.adapters.binance import BinanceBar, BinanceFuturesMarkPriceUpdate
from nautilus_trader.model.data import Bar, BarType, OrderBookDelta
from nautilus_trader.model.enums import AggressorSide, BookAction, OrderSide, RecordFlag
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.serialization.arrow.serializer import ArrowSerializer

from adapters.binance_futures import streams
from adapters.binance_futures.parsing import BINANCE_VENUE
from adapters.binance_futures.parsing_market import (
    INTERVAL_SPECS,
    MarketContext,
    bar_type_for,
    interval_for,
    parse_agg_trade,
    parse_agg_trades,
    parse_book_snapshot,
    parse_depth10,
    parse_depth_diff,
    parse_funding_rate,
    parse_funding_rate_history,
    parse_index_price,
    parse_kline,
    parse_kline_rows,
    parse_mark_price,
    parse_mark_price_update,
    parse_premium_index,
    parse_quote_tick,
    parse_trade,
)
from adapters.binance_futures.schemas_market import (
    AggTrade,
    BookTicker,
    ControlResponse,
    DepthUpdate,
    Kline,
    MalformedFrame,
    MarkPriceUpdate,
    SubscriptionError,
    Ticker24hr,
    Trade,
    UnknownEvent,
    decode_agg_trades,
    decode_depth_snapshot,
    decode_funding_rates,
    decode_klines,
    decode_market_frame,
    decode_premium_index,
)
from tests.binance_futures.market_instruments import BTC, FIXTURES, PEPE

# tests/binance_futures/<this file> -> parents[2] is the repo (/work/main); shared sits next to it.
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SHARED_WS = SHARED / "fixtures" / "binance_futures" / "ws_wrapped"

F_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)
F_LAST = int(RecordFlag.F_LAST)
TS_INIT = 1_717_000_009_000_000_000
MS = 1_000_000


def ctx_btc() -> MarketContext:
    return MarketContext.from_instrument(BTC)


def ctx_pepe() -> MarketContext:
    return MarketContext.from_instrument(PEPE)


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def event(name: str) -> object:
    return decode_market_frame(load(name)).event


def test_instruments_have_the_intended_precisions() -> None:
    assert (BTC.price_precision, BTC.size_precision) == (1, 3)
    assert (PEPE.price_precision, PEPE.size_precision) == (7, 0)
    assert BTC.id == InstrumentId(Symbol("BTCUSDT-PERP"), BINANCE_VENUE)


# --------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------


def test_decode_bare_and_wrapped_frames_keep_the_stream_name() -> None:
    bare = decode_market_frame(load("book_ticker.json"))
    assert bare.stream is None
    assert isinstance(bare.event, BookTicker)
    assert bare.event.update_id == 7781245510
    assert bare.event.bid_price == "64250.10"

    wrapped = decode_market_frame(load("depth_diff.json"))
    assert wrapped.stream == "btcusdt@depth@100ms"
    ev = wrapped.event
    assert isinstance(ev, DepthUpdate)
    assert (ev.first_update_id, ev.final_update_id, ev.prev_final_update_id) == (
        9000000101,
        9000000140,
        9000000100,
    )
    assert ev.bids == [("64250.10", "2.117"), ("64249.90", "0.000")]
    assert len(ev.asks) == 3

    partial = decode_market_frame(load("depth10_partial.json"))
    assert partial.stream == "btcusdt@depth10@100ms"
    assert isinstance(partial.event, DepthUpdate)
    assert streams.partial_depth_levels(streams.split_stream(partial.stream)[1]) == 10
    assert streams.partial_depth_levels(streams.split_stream(wrapped.stream)[1]) is None


def test_decode_str_input_and_unknown_fields_and_nulls() -> None:
    frame = decode_market_frame(load("book_ticker_wrapped_pepe.json").decode())
    assert isinstance(frame.event, BookTicker)
    assert frame.event.symbol == "1000PEPEUSDT"

    mp = event("mark_price_delivery_nulls.json")
    assert isinstance(mp, MarkPriceUpdate)
    assert mp.index_price is None
    assert mp.funding_rate == ""
    assert mp.next_funding_time == 0

    ticker = decode_market_frame(
        b'{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"1.0","B":"2","a":"1.1","A":"3","T":null,"E":5}'
    ).event
    assert isinstance(ticker, BookTicker)
    assert ticker.transaction_time is None


def test_decode_every_market_event_type() -> None:
    assert isinstance(event("agg_trade_buyer_maker.json"), AggTrade)
    assert isinstance(event("agg_trade_taker_buy.json"), AggTrade)
    assert isinstance(event("trade.json"), Trade)
    assert isinstance(event("kline_open.json"), Kline)
    assert isinstance(event("kline_closed.json"), Kline)
    assert isinstance(event("mark_price.json"), MarkPriceUpdate)
    k = event("kline_closed.json")
    assert isinstance(k, Kline)
    assert k.kline.closed is True
    assert k.kline.interval == "1m"
    assert k.kline.trades == 100


def test_decode_control_and_error_frames() -> None:
    ok = decode_market_frame(load("subscribe_ok.json")).event
    assert ok == ControlResponse(id=1, result=None)

    err = decode_market_frame(load("subscribe_error.json")).event
    assert isinstance(err, SubscriptionError)
    assert (err.id, err.code) == (2, 2)
    assert err.msg.startswith("Invalid request")

    legacy = decode_market_frame(b'{"code":0,"msg":"Unknown property","id":7}').event
    assert legacy == SubscriptionError(id=7, code=0, msg="Unknown property")

    listing = decode_market_frame(b'{"result":["btcusdt@aggTrade"],"id":3}').event
    assert listing == ControlResponse(id=3, result=["btcusdt@aggTrade"])


def test_decode_unknown_and_malformed_frames_never_raise() -> None:
    frame = decode_market_frame(load("force_order_unknown.json"))
    assert frame.stream == "btcusdt@forceOrder"
    assert isinstance(frame.event, UnknownEvent)
    assert frame.event.event_type == "forceOrder"

    missing = decode_market_frame(b'{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1}}')
    assert missing.stream == "btcusdt@aggTrade"
    assert isinstance(missing.event, MalformedFrame)
    assert missing.event.event_type == "aggTrade"

    truncated = decode_market_frame(b'{"stream":"btcusdt@depth@100ms","data":{"e":"depth')
    assert truncated.stream == "btcusdt@depth@100ms"
    assert isinstance(truncated.event, MalformedFrame)
    assert truncated.event.event_type is None

    assert isinstance(decode_market_frame(b"[]").event, MalformedFrame)


def test_decode_rest_bodies() -> None:
    snap = decode_depth_snapshot(load("rest_depth.json"))
    assert snap.last_update_id == 9000000120
    assert snap.bids[0] == ("64250.10", "1.900")
    assert snap.transaction_time == 1717000003049

    rows = decode_klines(load("rest_klines.json"))
    assert [r.open_time for r in rows] == [1716999900000, 1716999960000, 1717000020000]
    assert rows[1].close == "64251.00"
    assert rows[1].trades == 100

    trades = decode_agg_trades(load("rest_agg_trades.json"))
    assert [t.agg_id for t in trades] == [2219876543, 2219876544]

    one = decode_premium_index(load("rest_premium_index.json"))
    many = decode_premium_index(load("rest_premium_index_list.json"))
    assert [p.symbol for p in one] == ["BTCUSDT"]
    assert [p.symbol for p in many] == ["BTCUSDT", "1000PEPEUSDT"]

    rates = decode_funding_rates(load("rest_funding_rate.json"))
    assert [r.fundingRate for r in rates] == ["0.00010000", "-0.00003125"]


# --------------------------------------------------------------------------------------------------
# Quotes and trades
# --------------------------------------------------------------------------------------------------


def test_quote_tick_precisions_btc_tick_0_10() -> None:
    msg = event("book_ticker.json")
    assert isinstance(msg, BookTicker)
    q = parse_quote_tick(msg, ctx_btc(), TS_INIT)
    assert q.instrument_id == BTC.id
    assert q.bid_price == Price.from_str("64250.1")
    assert q.bid_price.precision == 1  # venue pads to 2 decimals; the instrument has 1
    assert q.ask_price == Price.from_str("64250.2")
    assert q.bid_size == Quantity.from_str("3.417")
    assert q.ask_size.precision == 3
    assert q.ts_event == 1717000000123 * MS  # matching-engine time T, not E
    assert q.ts_init == TS_INIT


def test_quote_tick_precisions_tiny_tick_whole_step() -> None:
    msg = event("book_ticker_wrapped_pepe.json")
    assert isinstance(msg, BookTicker)
    q = parse_quote_tick(msg, ctx_pepe(), TS_INIT)
    assert q.bid_price == Price.from_str("0.0123456")
    assert q.ask_price.precision == 7
    assert str(q.ask_price) == "0.0123457"
    assert q.bid_size == Quantity.from_int(1840200)
    assert q.bid_size.precision == 0
    assert q.ask_size == Quantity.from_int(96)


def test_market_context_cache_is_exact_and_bounded() -> None:
    ctx = MarketContext(BTC.id, 1, 3, cache_size=2)
    a = ctx.price("64250.10")
    assert a == Price.from_str("64250.1") and a.precision == 1
    assert ctx.price("64250.10") is a  # cache hit returns the same immutable object
    ctx.price("1.00")
    ctx.price("2.00")  # third distinct string: cache cleared and refilled, still exact
    assert ctx.price("64250.10") == Price.from_str("64250.1")
    assert ctx.size("0.100") == Quantity.from_str("0.1")
    # A value finer than the tick is kept exact rather than rounded (a venue book level is never rounded).
    assert ctx.price("1.05") == Price.from_str("1.05")


def test_agg_trade_aggressor_sides_and_trade_id() -> None:
    ctx = ctx_btc()
    maker = event("agg_trade_buyer_maker.json")
    taker = event("agg_trade_taker_buy.json")
    assert isinstance(maker, AggTrade) and isinstance(taker, AggTrade)
    t1 = parse_agg_trade(maker, ctx, TS_INIT)
    t2 = parse_agg_trade(taker, ctx, TS_INIT)
    assert t1 is not None and t2 is not None
    assert t1.aggressor_side == AggressorSide.SELLER  # buyer is maker -> seller took liquidity
    assert t2.aggressor_side == AggressorSide.BUYER
    assert t1.trade_id.value == "2219876543"
    assert t1.price == Price.from_str("64250.1")
    assert t1.size == Quantity.from_str("0.250")
    assert t1.ts_event == 1717000001000 * MS


def test_trade_stream_and_zero_size() -> None:
    ctx = ctx_btc()
    msg = event("trade.json")
    assert isinstance(msg, Trade)
    tick = parse_trade(msg, ctx, TS_INIT)
    assert tick is not None
    assert tick.trade_id.value == "5100000010"
    assert tick.aggressor_side == AggressorSide.BUYER
    assert tick.size == Quantity.from_str("0.004")
    zero = Trade(trade_time=1, symbol="BTCUSDT", trade_id=1, price="1.0", qty="0.000", buyer_is_maker=True)
    assert parse_trade(zero, ctx, TS_INIT) is None


def test_rest_agg_trades_to_ticks() -> None:
    ticks = parse_agg_trades(decode_agg_trades(load("rest_agg_trades.json")), ctx_btc(), TS_INIT)
    assert [(t.trade_id.value, t.aggressor_side) for t in ticks] == [
        ("2219876543", AggressorSide.SELLER),
        ("2219876544", AggressorSide.BUYER),
    ]
    assert ticks[1].size == Quantity.from_str("1.003")


# --------------------------------------------------------------------------------------------------
# Order book
# --------------------------------------------------------------------------------------------------


def test_snapshot_deltas_clear_first_flags_and_sequence() -> None:
    snap = decode_depth_snapshot(load("rest_depth.json"))
    deltas = parse_book_snapshot(snap, ctx_btc(), TS_INIT).deltas
    assert len(deltas) == 1 + 3 + 3
    assert deltas[0].action == BookAction.CLEAR
    assert all(d.flags & F_SNAPSHOT for d in deltas)
    assert [bool(d.flags & F_LAST) for d in deltas] == [False] * 6 + [True]
    assert {d.sequence for d in deltas} == {9000000120}
    assert {d.ts_event for d in deltas} == {1717000003049 * MS}
    adds = deltas[1:]
    assert all(d.action == BookAction.ADD for d in adds)
    assert [(d.order.side, str(d.order.price), str(d.order.size)) for d in adds] == [
        (OrderSide.BUY, "64250.1", "1.900"),
        (OrderSide.BUY, "64250.0", "0.300"),
        (OrderSide.BUY, "64249.9", "4.000"),
        (OrderSide.SELL, "64250.2", "0.400"),
        (OrderSide.SELL, "64250.3", "0.010"),
        (OrderSide.SELL, "64260.0", "2.500"),
    ]


def test_empty_snapshot_is_a_single_flagged_clear() -> None:
    snap = decode_depth_snapshot(b'{"lastUpdateId":5,"bids":[],"asks":[]}')
    deltas = parse_book_snapshot(snap, ctx_btc(), TS_INIT).deltas
    assert len(deltas) == 1
    assert deltas[0].action == BookAction.CLEAR
    assert deltas[0].flags == F_SNAPSHOT | F_LAST
    assert deltas[0].ts_event == TS_INIT  # no venue time in the body


def test_diff_deltas_actions_flags_sequence() -> None:
    msg = event("depth_diff.json")
    assert isinstance(msg, DepthUpdate)
    packet = parse_depth_diff(msg, ctx_btc(), TS_INIT)
    assert packet is not None
    deltas: list[OrderBookDelta] = packet.deltas
    assert [(d.action, d.order.side, str(d.order.price), str(d.order.size)) for d in deltas] == [
        (BookAction.UPDATE, OrderSide.BUY, "64250.1", "2.117"),
        (BookAction.DELETE, OrderSide.BUY, "64249.9", "0.000"),
        (BookAction.UPDATE, OrderSide.SELL, "64250.2", "0.512"),
        (BookAction.UPDATE, OrderSide.SELL, "64251.5", "7.000"),
        (BookAction.DELETE, OrderSide.SELL, "64260.0", "0.000"),
    ]
    assert [d.flags for d in deltas] == [0, 0, 0, 0, F_LAST]
    assert {d.sequence for d in deltas} == {9000000140}
    assert {d.ts_event for d in deltas} == {1717000003100 * MS}


def test_empty_diff_yields_no_packet() -> None:
    msg = event("depth_diff_empty.json")
    assert isinstance(msg, DepthUpdate)
    assert parse_depth_diff(msg, ctx_btc(), TS_INIT) is None


def test_depth10_from_partial_book_is_padded() -> None:
    msg = event("depth10_partial.json")
    assert isinstance(msg, DepthUpdate)
    depth = parse_depth10(msg, ctx_btc(), TS_INIT)
    bids = depth.bids
    asks = depth.asks
    assert len(bids) == 10 and len(asks) == 10
    assert [str(b.price) for b in bids[:3]] == ["64250.1", "64250.0", "64249.8"]
    assert [str(a.size) for a in asks[:2]] == ["0.512", "0.010"]
    assert bids[3].side == OrderSide.NO_ORDER_SIDE and asks[2].side == OrderSide.NO_ORDER_SIDE
    assert depth.bid_counts == [1, 1, 1] + [0] * 7
    assert depth.ask_counts == [1, 1] + [0] * 8
    assert depth.flags == F_SNAPSHOT | F_LAST
    assert depth.sequence == 9000000230
    assert depth.ts_event == 1717000004100 * MS


# --------------------------------------------------------------------------------------------------
# Bars
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "spec"),
    [
        ("1m", "1-MINUTE"),
        ("3m", "3-MINUTE"),
        ("5m", "5-MINUTE"),
        ("15m", "15-MINUTE"),
        ("30m", "30-MINUTE"),
        ("1h", "1-HOUR"),
        ("2h", "2-HOUR"),
        ("4h", "4-HOUR"),
        ("6h", "6-HOUR"),
        ("8h", "8-HOUR"),
        ("12h", "12-HOUR"),
        ("1d", "1-DAY"),
        ("1w", "1-WEEK"),
        ("1M", "1-MONTH"),
    ],
)
def test_bar_type_mapping_round_trips(interval: str, spec: str) -> None:
    bt = bar_type_for(BTC.id, interval)
    assert str(bt) == f"BTCUSDT-PERP.BINANCE-{spec}-LAST-EXTERNAL"
    assert bt == BarType.from_str(f"BTCUSDT-PERP.BINANCE-{spec}-LAST-EXTERNAL")
    assert interval_for(bt) == interval


def test_bar_type_mapping_rejects_what_nautilus_cannot_express() -> None:
    # Nautilus 1.221 refuses a 3-DAY BarSpecification, so Binance's 3d interval has no bar type.
    assert "3d" in streams.KLINE_INTERVALS
    assert "3d" not in INTERVAL_SPECS
    with pytest.raises(ValueError, match="3d"):
        bar_type_for(BTC.id, "3d")
    with pytest.raises(ValueError):
        bar_type_for(BTC.id, "2m")
    with pytest.raises(ValueError):
        interval_for(BarType.from_str("BTCUSDT-PERP.BINANCE-2-MINUTE-LAST-EXTERNAL"))
    with pytest.raises(ValueError):
        interval_for(BarType.from_str("BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-INTERNAL"))
    with pytest.raises(ValueError):
        interval_for(BarType.from_str("BTCUSDT-PERP.BINANCE-1-MINUTE-BID-EXTERNAL"))


def test_kline_closed_flag_respected() -> None:
    ctx = ctx_btc()
    bt = bar_type_for(BTC.id, "1m")
    open_k = event("kline_open.json")
    closed_k = event("kline_closed.json")
    assert isinstance(open_k, Kline) and isinstance(closed_k, Kline)

    assert parse_kline(open_k, bt, ctx, TS_INIT) is None
    partial = parse_kline(open_k, bt, ctx, TS_INIT, closed_only=False)
    assert partial is not None and partial.close == Price.from_str("64250.1")

    bar = parse_kline(closed_k, bt, ctx, TS_INIT)
    assert bar is not None
    assert bar.bar_type == bt
    assert (str(bar.open), str(bar.high), str(bar.low), str(bar.close)) == (
        "64240.0",
        "64255.0",
        "64238.3",
        "64251.0",
    )
    assert bar.open.precision == 1
    assert bar.volume == Quantity.from_str("14.020") and bar.volume.precision == 3
    assert bar.ts_event == 1717000020000 * MS  # close boundary: T (…19999) + 1 ms
    assert bar.ts_init == TS_INIT


def test_kline_is_a_binance_bar_with_binances_extra_fields() -> None:
    """As NautilusTrader's Binance adapter publishes them: quote volume, trade count, taker-buy base
    and quote volume, exact; OHLCV, precisions and timestamps as any of our bars."""
    ctx = ctx_btc()
    bt = bar_type_for(BTC.id, "1m")
    closed_k = event("kline_closed.json")
    assert isinstance(closed_k, Kline)
    bar = parse_kline(closed_k, bt, ctx, TS_INIT)
    assert type(bar) is BinanceBar
    assert bar.quote_volume == Decimal("900820.41000") and str(bar.quote_volume) == "900820.41000"
    assert bar.count == 100
    assert bar.taker_buy_base_volume == Decimal("7.000")
    assert bar.taker_buy_quote_volume == Decimal("449757.00000")
    assert bar.taker_sell_base_volume == Decimal("7.020")  # volume - taker buy
    assert bar.volume == Quantity.from_str("14.020") and bar.close.precision == 1
    assert (bar.ts_event, bar.ts_init) == (1717000020000 * MS, TS_INIT)
    # REST rows carry the same columns (7: quote volume, 8: count, 9/10: taker-buy base/quote).
    rows = decode_klines(load("rest_klines.json"))
    rest = parse_kline_rows(rows, bt, ctx, TS_INIT)
    assert all(type(b) is BinanceBar for b in rest)
    assert [(b.quote_volume, b.count, b.taker_buy_base_volume) for b in rest][1] == (
        Decimal("900820.41000"),
        100,
        Decimal("7.000"),
    )
    assert rest[1].ts_event == bar.ts_event


def test_kline_without_the_extra_fields_is_a_plain_bar() -> None:
    ctx = ctx_btc()
    rows = decode_klines(b'[[1,"1.0","2.0","0.5","1.5","3.000",59999]]')
    (bar,) = parse_kline_rows(rows, bar_type_for(BTC.id, "1m"), ctx, TS_INIT)
    assert type(bar) is Bar and bar.ts_event == 60000 * MS


def test_binance_bar_arrow_round_trip_is_exact() -> None:
    """Recorded BinanceBars (streaming/catalog) keep every value: NautilusTrader's registration applies."""
    closed_k = event("kline_closed.json")
    assert isinstance(closed_k, Kline)
    bar = parse_kline(closed_k, bar_type_for(BTC.id, "1m"), ctx_btc(), TS_INIT)
    assert isinstance(bar, BinanceBar)
    table = ArrowSerializer.serialize_batch([bar], data_cls=BinanceBar)
    (back,) = ArrowSerializer.deserialize(BinanceBar, table)
    assert back == bar and back.quote_volume == bar.quote_volume and back.count == bar.count
    assert back.taker_buy_quote_volume == bar.taker_buy_quote_volume and back.ts_init == bar.ts_init


def test_kline_rest_rows_drop_the_open_bar() -> None:
    ctx = ctx_btc()
    bt = bar_type_for(BTC.id, "1m")
    rows = decode_klines(load("rest_klines.json"))
    all_bars = parse_kline_rows(rows, bt, ctx, TS_INIT)
    assert len(all_bars) == 3
    closed = parse_kline_rows(rows, bt, ctx, TS_INIT, now_ms=1717000030000)
    assert [b.ts_event for b in closed] == [1716999960000 * MS, 1717000020000 * MS]
    assert closed[0].close == Price.from_str("64225.5")
    assert closed[0].volume == Quantity.from_str("20.100")


def test_kline_precision_tiny_tick() -> None:
    ctx = ctx_pepe()
    bt = bar_type_for(PEPE.id, "1h")
    rows = decode_klines(
        b'[[1,"0.0123400","0.0123500","0.0123300","0.0123450","125000",3599999,"1",2,"0","0","0"]]'
    )
    (bar,) = parse_kline_rows(rows, bt, ctx, TS_INIT)
    assert str(bar.close) == "0.0123450"
    assert bar.close.precision == 7
    assert bar.volume == Quantity.from_int(125000) and bar.volume.precision == 0
    assert bar.ts_event == 3600000 * MS


# --------------------------------------------------------------------------------------------------
# Mark / index / funding
# --------------------------------------------------------------------------------------------------


def test_mark_index_funding_from_stream() -> None:
    ctx = ctx_btc()
    msg = event("mark_price.json")
    assert isinstance(msg, MarkPriceUpdate)
    mark = parse_mark_price(msg, ctx, TS_INIT)
    assert mark.value == Price.from_str("64252.3")  # 64252.34817391 rounded half-even to the tick precision
    assert mark.value.precision == 1
    assert mark.ts_event == 1717000005000 * MS
    index = parse_index_price(msg, ctx, TS_INIT)
    assert index is not None and index.value == Price.from_str("64260.0")  # 64260.05: half-even keeps .0
    funding = parse_funding_rate(msg, ctx, TS_INIT)
    assert funding is not None
    assert funding.rate == Decimal("0.00010000")
    assert isinstance(funding.rate, Decimal)
    assert funding.next_funding_ns == 1717027200000 * 1_000_000
    assert funding.ts_event == 1717000005000 * MS
    assert funding.instrument_id == BTC.id


def test_full_mark_price_update_carries_the_estimated_settle_price() -> None:
    ctx = ctx_btc()
    msg = event("mark_price.json")
    assert isinstance(msg, MarkPriceUpdate)
    update = parse_mark_price_update(msg, ctx, TS_INIT)
    assert type(update) is BinanceFuturesMarkPriceUpdate
    assert update.instrument_id == BTC.id
    # Same precision and rounding as MarkPriceUpdate / IndexPriceUpdate; the rate exact.
    assert update.mark == parse_mark_price(msg, ctx, TS_INIT).value
    assert update.index == Price.from_str("64260.0")
    assert update.estimated_settle == Price.from_str("64243.8")  # P 64243.81022011, half-even
    assert update.estimated_settle.precision == 1
    assert update.funding_rate == Decimal("0.00010000")
    assert update.next_funding_ns == 1717027200000 * MS
    assert (update.ts_event, update.ts_init) == (1717000005000 * MS, TS_INIT)


def test_delivery_contract_has_no_full_mark_price_update() -> None:
    msg = event("mark_price_delivery_nulls.json")
    assert isinstance(msg, MarkPriceUpdate)
    assert parse_mark_price_update(msg, ctx_btc(), TS_INIT) is None  # no index, no funding rate


def test_delivery_contract_has_no_funding_or_index() -> None:
    msg = event("mark_price_delivery_nulls.json")
    assert isinstance(msg, MarkPriceUpdate)
    ctx = ctx_btc()
    assert parse_funding_rate(msg, ctx, TS_INIT) is None
    assert parse_index_price(msg, ctx, TS_INIT) is None
    assert parse_mark_price(msg, ctx, TS_INIT).value == Price.from_str("65012.5")


def test_premium_index_and_funding_history() -> None:
    (pi,) = decode_premium_index(load("rest_premium_index.json"))
    mark, index, funding = parse_premium_index(pi, ctx_btc(), TS_INIT)
    assert mark.value == Price.from_str("64252.3")
    assert index is not None and index.value.precision == 1
    assert funding is not None
    assert funding.rate == Decimal("-0.000025")
    assert funding.next_funding_ns == 1717027200000 * MS
    assert funding.ts_event == 1717000005000 * MS

    pepe = decode_premium_index(load("rest_premium_index_list.json"))[1]
    mark2, _, funding2 = parse_premium_index(pepe, ctx_pepe(), TS_INIT)
    assert str(mark2.value) == "0.0123457"  # 0.01234567 -> 7 decimals, half-even
    assert funding2 is not None and funding2.rate == Decimal("0.0003125")

    history = parse_funding_rate_history(
        decode_funding_rates(load("rest_funding_rate.json")), ctx_btc(), TS_INIT
    )
    assert [(h.rate, h.ts_event, h.next_funding_ns) for h in history] == [
        (Decimal("0.0001"), 1716969600000 * MS, None),
        (Decimal("-0.00003125"), 1716998400001 * MS, None),
    ]


# --------------------------------------------------------------------------------------------------
# Stream names
# --------------------------------------------------------------------------------------------------


def test_stream_names() -> None:
    assert streams.depth_diff_stream("BTCUSDT") == "btcusdt@depth@100ms"
    assert streams.depth_diff_stream("BTCUSDT", 250) == "btcusdt@depth"
    assert streams.depth_diff_stream("BTCUSDT", 500) == "btcusdt@depth@500ms"
    assert streams.partial_depth_stream("BTCUSDT", 10) == "btcusdt@depth10@100ms"
    assert streams.partial_depth_stream("BTCUSDT", 5, 250) == "btcusdt@depth5"
    assert streams.book_ticker_stream("BTCUSDT") == "btcusdt@bookTicker"
    assert streams.agg_trade_stream("BTCUSDT") == "btcusdt@aggTrade"
    assert streams.trade_stream("BTCUSDT") == "btcusdt@trade"
    assert streams.kline_stream("BTCUSDT", "1M") == "btcusdt@kline_1M"
    assert streams.mark_price_stream("BTCUSDT") == "btcusdt@markPrice@1s"
    assert streams.mark_price_stream("BTCUSDT", one_second=False) == "btcusdt@markPrice"
    assert streams.split_stream("1000pepeusdt@depth@100ms") == ("1000PEPEUSDT", "depth@100ms")
    for bad in (
        lambda: streams.depth_diff_stream("BTCUSDT", 50),
        lambda: streams.partial_depth_stream("X", 7),
    ):
        with pytest.raises(ValueError):
            bad()
    with pytest.raises(ValueError):
        streams.kline_stream("BTCUSDT", "2m")
    with pytest.raises(ValueError):
        streams.split_stream("!markPrice@arr")


# --------------------------------------------------------------------------------------------------
# Conformance: real venue payloads in ../shared
# --------------------------------------------------------------------------------------------------

requires_shared = pytest.mark.skipif(
    not SHARED_WS.is_dir(), reason=f"conformance vectors not present at {SHARED_WS} (../shared is absent)"
)


def test_shared_path_arithmetic() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert (repo / "adapters" / "binance_futures").is_dir()
    assert repo.parent / "shared" == SHARED


@pytest.mark.conformance
@requires_shared
def test_shared_ws_payloads_decode_and_convert() -> None:
    files = sorted(SHARED_WS.glob("*.json"))
    assert files, f"{SHARED_WS} exists but holds no payloads"
    seen: dict[str, int] = {}
    ctx = MarketContext(BTC.id, 8, 8)  # precise enough for every sample's prices
    for path in files:
        frame = decode_market_frame(path.read_bytes())
        ev = frame.event
        assert not isinstance(ev, MalformedFrame), f"{path.name}: {ev.error}"
        seen[type(ev).__name__] = seen.get(type(ev).__name__, 0) + 1
        if isinstance(ev, BookTicker):
            q = parse_quote_tick(ev, ctx, TS_INIT)
            assert q.bid_price == Price.from_str(ev.bid_price)
            assert q.ask_size == Quantity.from_str(ev.ask_qty)
        elif isinstance(ev, DepthUpdate):
            assert ev.prev_final_update_id is not None
            assert ev.first_update_id <= ev.final_update_id
            packet = parse_depth_diff(ev, ctx, TS_INIT)
            assert packet is not None
            assert len(packet.deltas) == len(ev.bids) + len(ev.asks)
            assert packet.deltas[-1].flags == F_LAST
            assert {d.sequence for d in packet.deltas} == {ev.final_update_id}
        elif isinstance(ev, Ticker24hr):
            assert ev.symbol and ev.last_price is not None
        elif isinstance(ev, UnknownEvent):
            # Non-market frames in that folder (user data) are classified, not failed.
            assert ev.event_type not in {"bookTicker", "depthUpdate", "aggTrade", "kline", "markPriceUpdate"}
    assert seen.get("BookTicker", 0) >= 1
    assert seen.get("DepthUpdate", 0) >= 2
    assert seen.get("Ticker24hr", 0) >= 1
