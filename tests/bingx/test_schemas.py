from __future__ import annotations

import gzip
from pathlib import Path

import msgspec
import pytest

from adapters.bingx import schemas_base as B
from adapters.bingx import schemas_market as M
from adapters.bingx import schemas_rest as S
from adapters.bingx import schemas_user as W
from adapters.bingx import stream_frames as F

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bingx"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def data(name: str, tp: object) -> object:
    env = S.decode_envelope(load(name))
    assert env.code == 0
    return S.decode_data(env.data, tp)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'"0.0001"', "0.0001"),
        (b"0.0001", "0.0001"),
        (b"294.16914617776246", "294.16914617776246"),
        (b"1e-5", "0.00001"),
        (b'""', None),
        (b"null", None),
        (b"2", "2"),
    ],
)
def test_num_is_exact_text(raw: bytes, expected: str | None) -> None:
    assert B.num(msgspec.Raw(raw)) == expected


def test_num_refuses_float() -> None:
    with pytest.raises(TypeError):
        B.num(0.1)


def test_flag_and_to_int() -> None:
    assert B.flag("true") and B.flag(True) and B.flag("TRUE")
    assert not B.flag("") and not B.flag(None) and not B.flag("false")
    assert B.to_int("1736012449498123456") == 1736012449498123456
    assert B.to_int("") is None
    assert B.to_int(0) == 0


def test_order_ids_above_2_53_from_number_and_string() -> None:
    q = data("order_query.json", S.OrderData)
    assert isinstance(q, S.OrderData)
    assert q.order.orderId == 1736012449498123456  # not rounded to ...123500
    c = data("cancel_order.json", S.OrderData)
    assert isinstance(c, S.OrderData)
    assert c.order.orderId == 1736011869418901234
    assert c.order.status == "CANCELLED"
    assert B.to_int(q.order.triggerOrderId) == 1736012449498123500


def test_order_tolerates_numbers_and_both_client_id_spellings() -> None:
    p = data("place_order.json", S.OrderData)
    assert isinstance(p, S.OrderData)
    assert p.order.client_order_id == "528n81-abc"
    assert p.order.quantity_s == "3"
    assert B.num(p.order.price) == "0"
    o = data("open_orders.json", S.OrdersData)
    assert isinstance(o, S.OrdersData) and o.orders is not None
    assert [x.client_order_id for x in o.orders] == ["abc-1", None]
    assert B.flag(o.orders[1].reduceOnly) is True


def test_contracts_numbers_kept_exact() -> None:
    contracts = data("contracts.json", list[S.Contract])
    assert isinstance(contracts, list)
    btc = contracts[0]
    assert B.num(btc.tradeMinQuantity) == "0.0001"
    assert B.num(btc.makerFeeRate) == "0.0002"
    assert btc.api_open_allowed
    assert not contracts[1].api_open_allowed and contracts[1].api_close_allowed


def test_positions_float_liquidation_price_exact() -> None:
    positions = data("positions.json", list[S.Position])
    assert isinstance(positions, list)
    assert B.num(positions[1].liquidationPrice) == "294.16914617776246"
    assert B.to_int(positions[0].positionId) == 1792480725958881280


def test_envelope_error_at_http_200_keeps_code() -> None:
    env = S.decode_envelope(
        b'{"code":100001,"msg":"Signature verification failed","timestamp":1749815755208}'
    )
    assert env.code == 100001
    assert len(env.data) == 0


# -- stream ----------------------------------------------------------------------------------------


def test_gzip_frames_and_ping() -> None:
    assert F.decode_gzip_frame(gzip.compress(b"Ping")) == b"Ping"
    assert F.decode_gzip_frame(b"plain") == b"plain"
    assert F.is_ping(b"Ping")
    assert isinstance(W.decode_user_frame(gzip.compress(b"Ping")), F.PingFrame)
    assert isinstance(M.decode_market_frame(gzip.compress(b"Ping")), F.PingFrame)
    with pytest.raises(ValueError):
        F.decode_gzip_frame(b"\x1f\x8bgarbage")
    assert isinstance(W.decode_user_frame(b"\x1f\x8bgarbage"), F.MalformedFrame)


def test_json_ping_pong() -> None:
    frame = M.decode_market_frame(b'{"ping":"abc","time":"2023-10-02T18:51:55.089+0800"}')
    assert isinstance(frame, F.JsonPing)
    assert msgspec.json.decode(F.json_pong(frame)) == {"pong": "abc", "time": "2023-10-02T18:51:55.089+0800"}


def test_order_trade_update_gzip() -> None:
    ev = W.decode_user_frame(gzip.compress(load("order_trade_update_partial.json")))
    assert isinstance(ev, W.OrderTradeUpdate)
    o = ev.order
    assert o.order_id == 1970374651259388123
    assert B.num(o.last_filled_qty) == "0.00100000"
    assert B.num(o.cum_filled_qty) == "0.00200000"
    assert o.client_order_id == "my-order-7"
    assert B.to_int(o.trade_id_alt) == 511178071


def test_trade_update_alias_and_string_order_id() -> None:
    raw = load("order_trade_update_no_last.json").replace(b"ORDER_TRADE_UPDATE", b"TRADE_UPDATE")
    ev = W.decode_user_frame(raw)
    assert isinstance(ev, W.TradeUpdate) and isinstance(ev, W.OrderTradeUpdate)
    assert ev.order.order_id == 1970374651259388000
    assert B.num(ev.order.last_filled_qty) is None


def test_account_events() -> None:
    acc = W.decode_user_frame(load("account_update.json"))
    assert isinstance(acc, W.AccountUpdate)
    assert acc.account.reason == "ORDER"
    assert (
        acc.account.balances is not None and B.num(acc.account.balances[0].wallet_balance) == "117.80007595"
    )
    assert acc.account.positions is not None and acc.account.positions[0].position_side == "SHORT"
    cfg = W.decode_user_frame(load("account_config_update.json"))
    assert isinstance(cfg, W.AccountConfigUpdate) and cfg.config is not None
    assert (cfg.config.long_leverage, cfg.config.short_leverage, cfg.config.margin_type) == (12, 9, "cross")
    snap = W.decode_user_frame(
        b'{"e":"SNAPSHOT","E":1780336019559,"ac":{"s":"MTL-USDT","l":1,"S":1,"mt":"isolated"}}'
    )
    assert isinstance(snap, W.Snapshot) and snap.config is not None and snap.config.symbol == "MTL-USDT"
    exp = W.decode_user_frame(b'{"e":"listenKeyExpired","E":1676964520421,"listenKey":"53c1"}')
    assert isinstance(exp, W.ListenKeyExpired) and exp.listen_key == "53c1"


def test_unknown_acks_and_garbage_never_raise() -> None:
    unknown = W.decode_user_frame(b'{"e":"NEW_THING","E":1}')
    assert isinstance(unknown, F.UnknownEvent) and unknown.event_type == "NEW_THING"
    ack = W.decode_user_frame(b'{"code":0,"id":"e745","msg":"SUCCESS","timestamp":1759980142604}')
    assert isinstance(ack, F.StreamAck) and ack.ok and ack.id == "e745"
    err = M.decode_market_frame(b'{"id":"","code":80014,"msg":"invalid params","dataType":"","data":null}')
    assert isinstance(err, F.StreamAck) and err.code == 80014 and not err.ok
    bad = W.decode_user_frame(b'{"e":"ORDER_TRADE_UPDATE","o":{"s":"X"}}')  # missing order id
    assert isinstance(bad, F.MalformedFrame) and bad.event_type == "ORDER_TRADE_UPDATE"
    assert isinstance(W.decode_user_frame(b"not json"), F.MalformedFrame)


def test_market_frames() -> None:
    trade = M.decode_market_frame(
        gzip.compress(
            b'{"code":0,"dataType":"BTC-USDT@trade","data":[{"q":"0.0162","p":"121934.9","T":1759994162450,'
            b'"m":false,"s":"BTC-USDT"},{"q":"0.1","p":"121935.0","T":1759994162451,"m":true,"s":"BTC-USDT"}]}'
        )
    )
    assert isinstance(trade, M.TradeFrame) and len(trade.data) == 2 and trade.data[0].p == "121934.9"
    depth = M.decode_market_frame(
        b'{"code":0,"dataType":"BTC-USDT@depth5@500ms","ts":1759996742928,"data":{"bids":[["121825.7","7.7622"]],'
        b'"asks":[["121827.3","0.0025"],["121827.1","0.0010"]]}}'
    )
    assert isinstance(depth, M.DepthFrame) and depth.data.asks[1][0] == "121827.1"
    incr = M.decode_market_frame(
        b'{"code":0,"dataType":"BTC-USDT@incrDepth","data":{"action":"update","lastUpdateId":393592635,'
        b'"time":1760002514979,"bids":[["1","0.0000"]],"asks":[]}}'
    )
    assert isinstance(incr, M.IncrDepthFrame) and incr.data.lastUpdateId == 393592635
    kline = M.decode_market_frame(
        b'{"code":0,"dataType":"BTC-USDT@kline_1m","s":"BTC-USDT","data":[{"c":"121697.7","o":"121684.1",'
        b'"h":"121697.7","l":"121638.7","v":"5.8244","T":1759997460000}]}'
    )
    assert isinstance(kline, M.KlineFrame) and kline.data[0].T == 1759997460000
    bt = M.decode_market_frame(
        b'{"code":0,"dataType":"BTC-USDT@bookTicker","data":{"e":"bookTicker","u":578534658,"E":1760001840686,'
        b'"T":1760001840687,"s":"BTC-USDT","b":"121584.1","B":"18.7084","a":"121584.3","A":"4.9602"}}'
    )
    assert isinstance(bt, M.BookTickerFrame) and bt.data.A == "4.9602"
    mp = M.decode_market_frame(
        b'{"code":0,"dataType":"BTC-USDT@markPrice","data":{"e":"markPriceUpdate","E":1760001628357,'
        b'"s":"BTC-USDT","p":"121570.0"}}'
    )
    assert isinstance(mp, M.MarkPriceFrame) and mp.data.p == "121570.0"
    other = M.decode_market_frame(b'{"code":0,"dataType":"BTC-USDT@ticker","data":{"e":"24hTicker"}}')
    assert isinstance(other, M.UnknownMarketFrame) and other.data_type == "BTC-USDT@ticker"


def test_market_data_the_strict_decoder_refuses_is_malformed_never_data() -> None:
    # Decimal numbers where the topic sends strings, a string time, a missing required field.
    for frame in (
        b'{"code":0,"dataType":"BTC-USDT@trade","data":[{"q":1,"p":2,"T":5}]}',
        b'{"code":0,"dataType":"BTC-USDT@incrDepth","data":{"action":"update","lastUpdateId":"7"}}',
        b'{"code":0,"dataType":"BTC-USDT@bookTicker","data":{"b":"1","B":"1","a":"2"}}',
        b'{"code":0,"dataType": "BTC-USDT@markPrice","data":{"p":"1"}}',  # not compact: not the fast path
    ):
        decoded = M.decode_market_frame(gzip.compress(frame))
        assert isinstance(decoded, F.MalformedFrame), frame
        assert decoded.event_type == msgspec.json.decode(frame)["dataType"] and decoded.error


@pytest.mark.parametrize(
    ("data_type", "kind"),
    [
        ("BTC-USDT@depth20@500ms", "depth"),
        ("BTC-USDT@kline_1m", "kline"),
        ("BTC-USDT@incrDepth", "incrDepth"),
        ("BTC-USDT@trade", "trade"),
        ("BTC-USDT@ticker", None),
        ("nonsense", None),
    ],
)
def test_topic_kind(data_type: str, kind: str | None) -> None:
    assert M.market_topic_kind(data_type) == kind


def test_lenient_fields_are_normalised_at_decode_time() -> None:
    """Issue 15: numbers, strings and ``""`` become plain typed values inside the schema layer."""
    body = (
        b'{"orders":[{"orderId":"1736012449498123456","symbol":"BTC-USDT","price":294.16914617776246,'
        b'"origQty":"0.0010","executedQty":"","avgPrice":1e-5,"stopPrice":1e999999999,"profit":true,'
        b'"commission":-12,"postOnly":"","reduceOnly":"TRUE"}]}'
    )
    data = S.decode_data(msgspec.Raw(body), S.OrdersData)
    assert isinstance(data, S.OrdersData) and data.orders
    o = data.orders[0]
    assert o.orderId == 1736012449498123456
    assert o.price == "294.16914617776246"  # a JSON number's own digits, never through float
    assert o.origQty == "0.0010" and o.executedQty is None and o.quantity is None
    assert o.avgPrice == "0.00001" and o.commission == "-12"
    assert o.stopPrice == "1e999999999"  # not expanded; rejected downstream by the decimal grammar
    assert o.profit == "true"  # not a number: kept as text, rejected downstream, never a default
    assert o.postOnly is False and o.reduceOnly is True and o.closePosition is None
    item = S.decode_data(msgspec.Raw(b'{"orderId":1,"tradeId":"","qty":"1"}'), S.FillHistoryItem)
    assert isinstance(item, S.FillHistoryItem) and item.tradeId is None
    item = S.decode_data(msgspec.Raw(b'{"orderId":1,"tradeId":"77"}'), S.FillHistoryItem)
    assert isinstance(item, S.FillHistoryItem) and item.tradeId == 77
    # A decoder without the float hook would read a JSON number through float: refused, loudly.
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"orderId":1,"symbol":"X","price":2.5}', type=S.Order)
    # Built models (raw text or plain values) are normalised the same way.
    built = S.Order(orderId=1, symbol="X", price=msgspec.Raw(b"1.50"), origQty="", postOnly="true")
    assert built.price == "1.50" and built.origQty is None and built.postOnly is True
