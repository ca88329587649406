from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from adapters.binance_futures.schemas_rest import (
    AccountInfo,
    AlgoOrder,
    Balance,
    CommissionRate,
    ExchangeInfo,
    ListenKeyResponse,
    Order,
    PositionRisk,
    PositionSideDual,
    UserTrade,
    decode_http,
)
from adapters.binance_futures.schemas_user import (
    AccountConfigUpdate,
    AccountUpdate,
    AlgoUpdate,
    ControlResponse,
    ListenKeyExpired,
    MalformedFrame,
    MarginCall,
    OrderTradeUpdate,
    StreamError,
    TradeLite,
    UnknownEvent,
    decode_user_frame,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "binance_futures"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "binance_futures"

USER_EXPECTED = {
    "order_trade_update_new.json": OrderTradeUpdate,
    "order_trade_update_trade.json": OrderTradeUpdate,
    "order_trade_update_filled_bnb_fee.json": OrderTradeUpdate,
    "order_trade_update_liquidation_nulls.json": OrderTradeUpdate,
    "order_trade_update_expired_unknown_fields.json": OrderTradeUpdate,
    "order_trade_update_unknown_enums.json": OrderTradeUpdate,
    "trade_lite.json": TradeLite,
    "algo_update_new.json": AlgoUpdate,
    "algo_update_triggered_ao_alias.json": AlgoUpdate,
    "algo_update_finished.json": AlgoUpdate,
    "account_update.json": AccountUpdate,
    "account_config_update.json": AccountConfigUpdate,
    "account_config_update_asset_mode.json": AccountConfigUpdate,
    "margin_call.json": MarginCall,
    "listen_key_expired_int.json": ListenKeyExpired,
    "listen_key_expired_str.json": ListenKeyExpired,
    "stream_error.json": StreamError,
    "strategy_update_unknown.json": UnknownEvent,
}

HTTP_EXPECTED: dict[str, object] = {
    "http_order.json": Order,
    "http_open_orders.json": list[Order],
    "http_user_trades.json": list[UserTrade],
    "http_position_risk_v3.json": list[PositionRisk],
    "http_account_v3.json": AccountInfo,
    "http_balance_v3.json": list[Balance],
    "http_open_algo_orders.json": list[AlgoOrder],
    "http_commission_rate.json": CommissionRate,
    "http_position_side_dual.json": PositionSideDual,
    "http_listen_key.json": ListenKeyResponse,
    "http_exchange_info.json": ExchangeInfo,
}


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_every_project_fixture_is_covered() -> None:
    names = {p.name for p in FIXTURES.glob("*.json")}
    assert names == set(USER_EXPECTED) | set(HTTP_EXPECTED)


@pytest.mark.parametrize(("name", "tp"), sorted(USER_EXPECTED.items()))
def test_user_fixture_decodes_to_expected_type(name: str, tp: type) -> None:
    decoded = decode_user_frame(load(name))
    assert type(decoded) is tp, decoded


@pytest.mark.parametrize(("name", "tp"), sorted(HTTP_EXPECTED.items(), key=lambda kv: kv[0]))
def test_http_fixture_decodes(name: str, tp: object) -> None:
    decoded = decode_http(load(name), tp)
    assert decoded is not None


def test_order_trade_update_fields() -> None:
    ev = decode_user_frame(load("order_trade_update_trade.json"))
    assert isinstance(ev, OrderTradeUpdate)
    o = ev.order
    assert (o.symbol, o.side, o.execution_type, o.order_status) == (
        "ETHUSDT",
        "SELL",
        "TRADE",
        "PARTIALLY_FILLED",
    )
    assert (o.last_filled_qty, o.last_filled_price, o.cum_filled_qty) == ("0.100", "3150.10", "0.100")
    assert (o.commission_asset, o.commission) == ("USDT", "0.06300200")
    assert (o.order_id, o.trade_id, o.trade_time) == (4200000001, 987650001, 1735689601000)
    assert o.is_maker is True
    assert o.expiry_reason == 0
    assert o.price_match == "NONE"
    assert o.good_till_date == 0
    assert o.strategy_id == 0
    assert ev.event_time == 1735689601002


def test_nullable_fields_and_wrapper() -> None:
    ev = decode_user_frame(load("order_trade_update_liquidation_nulls.json"))
    assert isinstance(ev, OrderTradeUpdate)
    o = ev.order
    assert o.commission is None and o.commission_asset is None
    assert o.stop_price is None and o.activation_price is None and o.callback_rate is None
    assert o.stp_mode is None and o.working_time is None
    assert o.client_order_id.startswith("autoclose-")


def test_unknown_fields_and_enums_tolerated() -> None:
    ev = decode_user_frame(load("order_trade_update_unknown_enums.json"))
    assert isinstance(ev, OrderTradeUpdate)
    assert ev.order.execution_type == "SOMETHING_NEW"
    assert ev.order.order_status == "SOME_NEW_STATUS"
    ev2 = decode_user_frame(load("order_trade_update_expired_unknown_fields.json"))
    assert isinstance(ev2, OrderTradeUpdate)
    assert ev2.order.expiry_reason == 2


def test_listen_key_expired_e_int_or_string() -> None:
    a = decode_user_frame(load("listen_key_expired_int.json"))
    b = decode_user_frame(load("listen_key_expired_str.json"))
    assert isinstance(a, ListenKeyExpired) and isinstance(b, ListenKeyExpired)
    assert a.event_time_ms == b.event_time_ms == 1735693200000
    assert a.listen_key == "OurOwnListenKey0001"
    c = decode_user_frame(b'{"e":"listenKeyExpired"}')
    assert isinstance(c, ListenKeyExpired) and c.event_time_ms is None


def test_algo_update_alias() -> None:
    a = decode_user_frame(load("algo_update_triggered_ao_alias.json"))
    assert isinstance(a, AlgoUpdate)
    assert a.algo.algo_status == "TRIGGERED"
    assert a.algo.actual_order_id == "4200000077"
    with pytest.raises(ValueError):
        AlgoUpdate(event_time=1).algo  # noqa: B018


def test_account_update_and_config() -> None:
    a = decode_user_frame(load("account_update.json"))
    assert isinstance(a, AccountUpdate)
    assert [b.asset for b in a.data.balances] == ["USDT", "BNFCR"]
    assert a.data.positions[0].position_amount == "-0.100"
    c = decode_user_frame(load("account_config_update.json"))
    assert isinstance(c, AccountConfigUpdate) and c.leverage is not None and c.leverage.leverage == 20
    m = decode_user_frame(load("margin_call.json"))
    assert isinstance(m, MarginCall) and m.positions[0].maintenance_margin == "1.614445"


def test_non_event_frames_never_raise() -> None:
    assert isinstance(decode_user_frame(b'{"result":null,"id":7}'), ControlResponse)
    assert isinstance(decode_user_frame(b"not json"), MalformedFrame)
    assert isinstance(decode_user_frame(b""), MalformedFrame)
    bad = decode_user_frame(b'{"e":"ORDER_TRADE_UPDATE","E":1}')
    assert isinstance(bad, MalformedFrame) and bad.event_type == "ORDER_TRADE_UPDATE"
    typed_wrong = decode_user_frame(b'{"e":"TRADE_LITE","E":1,"s":5}')
    assert isinstance(typed_wrong, MalformedFrame)
    unknown_wrapped = decode_user_frame(b'{"stream":"x","data":{"e":"bookTicker","s":"BTCUSDT"}}')
    assert isinstance(unknown_wrapped, UnknownEvent) and unknown_wrapped.event_type == "bookTicker"
    err = decode_user_frame(b'{"code":-1125,"msg":"This listenKey does not exist."}')
    assert isinstance(err, StreamError) and err.code == -1125
    assert isinstance(decode_user_frame('{"e":"listenKeyExpired","E":1}'), ListenKeyExpired)


def test_wrapped_and_bare_decode_identically() -> None:
    raw = load("order_trade_update_trade.json")
    bare = decode_user_frame(raw)
    wrapped = decode_user_frame(b'{"stream":"abc","data":' + raw + b"}")
    data_first = decode_user_frame(b'{"data":' + raw + b',"stream":"abc"}')
    pretty = decode_user_frame(json.dumps({"stream": "abc", "data": json.loads(raw)}, indent=4).encode())
    assert bare == wrapped == data_first == pretty


def test_http_field_values() -> None:
    algos = decode_http(load("http_open_algo_orders.json"), list[AlgoOrder])
    assert algos[0].algo_order_type == "STOP_MARKET"
    assert algos[1].algo_order_type == "TAKE_PROFIT"  # "type" alias
    assert algos[0].actual_order_id is None
    assert algos[1].actual_order_id == "4200000088"
    info = decode_http(load("http_exchange_info.json"), ExchangeInfo)
    btc = info.symbols[0]
    assert btc.filter("PRICE_FILTER") is not None and btc.filter("PRICE_FILTER").tickSize == "0.10"
    assert btc.filter("NOPE") is None


def _shared_files(sub: str) -> list[Path]:
    d = SHARED / sub
    return sorted(d.glob("*.json")) if d.is_dir() else []


requires_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason=f"conformance vectors not present at {SHARED} (../shared is absent)"
)

_MARKET_DATA = {
    "ws_futures_book_ticker.json",
    "ws_futures_depth_diff_update.json",
    "ws_futures_depth_update.json",
    "ws_futures_ticker_24hr.json",
}


@pytest.mark.conformance
@requires_shared
def test_shared_user_data_and_wrapped_vectors_decode() -> None:
    files = _shared_files("user_data") + _shared_files("ws_wrapped")
    assert files, "shared fixtures directory exists but is empty"
    for path in files:
        decoded = decode_user_frame(path.read_bytes())
        if path.name in _MARKET_DATA:
            assert isinstance(decoded, UnknownEvent), path.name
        else:
            assert isinstance(decoded, OrderTradeUpdate | TradeLite | AlgoUpdate | AccountUpdate), (
                f"{path.name}: {decoded!r}"
            )


_SHARED_HTTP: dict[str, object] = {
    "account_info_v2.json": AccountInfo,
    "balance.json": list[Balance],
    "http_futures_account_orders.json": list[Order],
    "http_futures_account_position_side_dual.json": PositionSideDual,
    "http_futures_account_trades.json": list[UserTrade],
    "open_algo_orders.json": list[AlgoOrder],
    "order_response.json": Order,
    "position_risk.json": list[PositionRisk],
}


@pytest.mark.conformance
@requires_shared
def test_shared_http_vectors_decode() -> None:
    files = _shared_files("http")
    assert {p.name for p in files} <= set(_SHARED_HTTP), "new shared HTTP vector: add it to _SHARED_HTTP"
    for path in files:
        try:
            decode_http(path.read_bytes(), _SHARED_HTTP[path.name])
        except msgspec.ValidationError as exc:  # pragma: no cover - failure message
            pytest.fail(f"{path.name}: {exc}")
