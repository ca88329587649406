"""One outbound mapping for Binance orders: the REST client and the WS trading client send the same
params for the same order, built by :mod:`adapters.binance_futures.parsing` (``new_order_args`` /
``new_algo_order_args`` from a NautilusTrader order, then ``new_order_params`` and its siblings).
Checked at the dict level (the params each client hands its transport, in order) and at the byte level
(REST's query string and the WS request's params object carry the same text), and pinned to the wire
so the mapping itself cannot drift."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.model.enums import OrderSide, TimeInForce, TrailingOffsetType, TriggerType
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, StrategyId, TraderId
from nautilus_trader.model.objects import Price, Quantity

from adapters.binance_futures.credentials import BinanceSigner
from adapters.binance_futures.http import BinanceFuturesHttpClient, encode_params
from adapters.binance_futures.parsing import (
    new_algo_order_args,
    new_algo_order_params,
    new_order_args,
    new_order_params,
    order_position_side,
)
from adapters.binance_futures.rate_limit import RateLimitTracker
from adapters.binance_futures.ws_trading import BinanceWsTradingClient, WsTradingSettings


class Captured:
    """Both clients with their request layer replaced by a recorder (nothing is sent)."""

    def __init__(self) -> None:
        self.http = BinanceFuturesHttpClient("http://127.0.0.1:1", "key", "secret")
        self.ws = BinanceWsTradingClient(
            WsTradingSettings(url="ws://127.0.0.1:1"),
            api_key="key",
            signer=BinanceSigner("secret"),
            rate_limiter=RateLimitTracker(),
        )
        self.rest: dict[str, Any] = {}
        self.ws_sent: dict[str, Any] = {}

        async def rest_request(method: str, path: str, tp: Any, params: Any = None, **kw: Any) -> None:
            self.rest = {"method": method, "path": path, "params": params, **kw}

        async def ws_request(method: str, params: Any, tp: Any, **kw: Any) -> None:
            self.ws_sent = {"method": method, "params": params, **kw}

        self.http.request = rest_request  # type: ignore[method-assign]
        self.ws.request = ws_request  # type: ignore[method-assign]

    async def both(self, name: str, *args: Any, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        await getattr(self.http, name)(*args, **kwargs)
        await getattr(self.ws, name)(*args, **kwargs)
        return self.rest, self.ws_sent


@pytest.fixture
async def clients() -> AsyncIterator[Captured]:
    c = Captured()
    yield c
    await c.http.close()


def ws_text(ws: BinanceWsTradingClient, params: Any) -> str:
    """The WS request's params object (as ``_params`` puts it in the frame, unsigned) written as REST's
    query string: the same names, order and text values."""
    sent = ws._params(params, signed=False)
    return "&".join(
        f"{k}={quote('true' if v is True else 'false' if v is False else str(v), safe='')}"
        for k, v in sent.items()
    )


# (order type, args, the query string REST sends before timestamp/recvWindow/signature)
NEW_ORDERS = [
    pytest.param(
        ("BTCUSDT", "BUY", "MARKET"),
        {"quantity": "0.010", "new_client_order_id": "O-1"},
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&newClientOrderId=O-1",
        id="market-client-id",
    ),
    pytest.param(
        ("BTCUSDT", "SELL", "LIMIT"),
        {"quantity": "0.010", "price": "50000.0", "time_in_force": "GTX", "new_client_order_id": "O-2"},
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTX&quantity=0.010&price=50000.0"
        "&newClientOrderId=O-2",
        id="limit-post-only",
    ),
    pytest.param(
        ("BTCUSDT", "SELL", "STOP_MARKET"),
        {
            "quantity": "0.010",
            "stop_price": Decimal("49000.10"),
            "working_type": "MARK_PRICE",
            "reduce_only": True,
            "new_client_order_id": "O-3",
        },
        "symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.010&reduceOnly=true&newClientOrderId=O-3"
        "&stopPrice=49000.10&workingType=MARK_PRICE",
        id="stop-reduce-only",
    ),
    pytest.param(
        ("ETHUSDT", "BUY", "LIMIT"),
        {
            "quantity": Decimal("1.5"),
            "price": Decimal("3000"),
            "time_in_force": "GTD",
            "good_till_date": 1790000000000,
            "position_side": "LONG",
            "new_client_order_id": "O-4",
            "self_trade_prevention_mode": "EXPIRE_MAKER",
            "price_match": "QUEUE",
            "new_order_resp_type": "RESULT",
        },
        "symbol=ETHUSDT&side=BUY&type=LIMIT&positionSide=LONG&timeInForce=GTD&quantity=1.5&price=3000"
        "&newClientOrderId=O-4&priceMatch=QUEUE&selfTradePreventionMode=EXPIRE_MAKER"
        "&goodTillDate=1790000000000&newOrderRespType=RESULT",
        id="hedge-long-gtd",
    ),
    pytest.param(
        ("ETHUSDT", "SELL", "MARKET"),
        {"quantity": "1", "position_side": "SHORT", "close_position": False, "price_protect": True},
        "symbol=ETHUSDT&side=SELL&type=MARKET&positionSide=SHORT&quantity=1&closePosition=false"
        "&priceProtect=true",
        id="hedge-short",
    ),
    pytest.param(
        ("ETHUSDT", "SELL", "TRAILING_STOP_MARKET"),
        {"quantity": "1", "activation_price": "3100", "callback_rate": "0.5", "reduce_only": False},
        "symbol=ETHUSDT&side=SELL&type=TRAILING_STOP_MARKET&quantity=1&reduceOnly=false"
        "&activationPrice=3100&callbackRate=0.5",
        id="trailing",
    ),
]


@pytest.mark.parametrize(("head", "args", "query"), NEW_ORDERS)
async def test_new_order_params_are_the_same_on_rest_and_ws(
    clients: Captured, head: tuple[str, str, str], args: dict[str, Any], query: str
) -> None:
    rest, ws = await clients.both("new_order", *head, **args)
    assert (rest["method"], rest["path"], ws["method"]) == ("POST", "/fapi/v1/order", "order.place")
    built = new_order_params(*head, **args)
    assert list(rest["params"].items()) == list(ws["params"].items()) == list(built.items())
    assert encode_params(rest["params"]) == ws_text(clients.ws, ws["params"]) == query
    assert rest["is_order"] and ws["is_order"]


NEW_ALGO_ORDERS = [
    pytest.param(
        ("BTCUSDT", "SELL", "STOP_MARKET"),
        {
            "quantity": "0.010",
            "trigger_price": "49000",
            "working_type": "CONTRACT_PRICE",
            "reduce_only": True,
            "client_algo_id": "A-1",
        },
        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.010&triggerPrice=49000"
        "&workingType=CONTRACT_PRICE&reduceOnly=true&clientAlgoId=A-1",
        id="stop-reduce-only",
    ),
    pytest.param(
        ("BTCUSDT", "BUY", "TAKE_PROFIT"),
        {
            "quantity": "0.010",
            "price": "51000",
            "trigger_price": "50900",
            "time_in_force": "GTX",
            "position_side": "LONG",
            "client_algo_id": "A-2",
            "good_till_date": 1790000000000,
        },
        "algoType=CONDITIONAL&symbol=BTCUSDT&side=BUY&positionSide=LONG&type=TAKE_PROFIT&timeInForce=GTX"
        "&quantity=0.010&price=51000&triggerPrice=50900&clientAlgoId=A-2&goodTillDate=1790000000000",
        id="hedge-take-profit-post-only",
    ),
    pytest.param(
        ("BTCUSDT", "SELL", "TRAILING_STOP_MARKET"),
        {
            "quantity": "0.010",
            "callback_rate": Decimal("1.0"),
            "activate_price": "52000",
            "client_algo_id": "A-3",
        },
        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=TRAILING_STOP_MARKET&quantity=0.010"
        "&activatePrice=52000&callbackRate=1.0&clientAlgoId=A-3",
        id="trailing",
    ),
]


@pytest.mark.parametrize(("head", "args", "query"), NEW_ALGO_ORDERS)
async def test_new_algo_order_params_are_the_same_on_rest_and_ws(
    clients: Captured, head: tuple[str, str, str], args: dict[str, Any], query: str
) -> None:
    rest, ws = await clients.both("new_algo_order", *head, **args)
    assert (rest["method"], rest["path"], ws["method"]) == ("POST", "/fapi/v1/algoOrder", "algoOrder.place")
    built = new_algo_order_params(*head, **args)
    assert list(rest["params"].items()) == list(ws["params"].items()) == list(built.items())
    assert encode_params(rest["params"]) == ws_text(clients.ws, ws["params"]) == query


@pytest.mark.parametrize(
    ("name", "args", "kwargs", "query"),
    [
        (
            "modify_order",
            ("BTCUSDT", "BUY", "0.020", "50001.0"),
            {"orig_client_order_id": "O-2"},
            "symbol=BTCUSDT&origClientOrderId=O-2&side=BUY&quantity=0.020&price=50001.0",
        ),
        (
            "modify_order",
            ("BTCUSDT", "BUY", Decimal("0.020"), "50001.0"),
            {"order_id": 123, "price_match": "QUEUE"},
            "symbol=BTCUSDT&orderId=123&side=BUY&quantity=0.020&price=50001.0&priceMatch=QUEUE",
        ),
        (
            "cancel_order",
            ("BTCUSDT",),
            {"orig_client_order_id": "O-2"},
            "symbol=BTCUSDT&origClientOrderId=O-2",
        ),
        ("query_order", ("BTCUSDT",), {"order_id": 7}, "symbol=BTCUSDT&orderId=7"),
        ("cancel_algo_order", (), {"client_algo_id": "A-1"}, "clientAlgoId=A-1"),
        ("cancel_algo_order", (), {"algo_id": 99}, "algoId=99"),
    ],
)
async def test_amend_cancel_and_query_params_are_the_same_on_rest_and_ws(
    clients: Captured, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], query: str
) -> None:
    rest, ws = await clients.both(name, *args, **kwargs)
    assert list(rest["params"].items()) == list(ws["params"].items())
    assert encode_params(rest["params"]) == ws_text(clients.ws, ws["params"]) == query


async def test_an_unknown_argument_is_refused_on_both(clients: Captured) -> None:
    for client in (clients.http, clients.ws):
        with pytest.raises(TypeError, match="stop_pirce"):
            await client.new_order("BTCUSDT", "BUY", "MARKET", quantity="1", stop_pirce="1")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="stop_price"):
            await client.new_algo_order("BTCUSDT", "BUY", "STOP_MARKET", stop_price="1")  # type: ignore[call-arg]
        with pytest.raises(TypeError, match="client_order_id"):
            await client.modify_order("BTCUSDT", "BUY", "1", "2", client_order_id="x")  # type: ignore[call-arg]


# --- from a NautilusTrader order -------------------------------------------------------------------

BTC = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
QTY = Quantity.from_str("0.010")
FACTORY = OrderFactory(TraderId("TESTER-001"), StrategyId("S-001"), TestClock())


def cid(value: str) -> ClientOrderId:
    return ClientOrderId(value)


# (order, hedge mode, use_reduce_only, the query string both clients send)
ORDERS = [
    pytest.param(
        FACTORY.market(BTC, OrderSide.BUY, QTY, client_order_id=cid("O-market")),
        False,
        True,
        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&newClientOrderId=O-market",
        id="market",
    ),
    pytest.param(
        FACTORY.limit(
            BTC, OrderSide.SELL, QTY, Price.from_str("50000.0"), post_only=True, client_order_id=cid("O-po")
        ),
        False,
        True,
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTX&quantity=0.010&price=50000.0&newClientOrderId=O-po",
        id="limit-post-only",
    ),
    pytest.param(
        FACTORY.limit(
            BTC,
            OrderSide.BUY,
            QTY,
            Price.from_str("50000.0"),
            time_in_force=TimeInForce.GTD,
            expire_time=pd.Timestamp("2026-12-31T00:00:00Z"),
            client_order_id=cid("O-gtd"),
        ),
        False,
        True,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTD&quantity=0.010&price=50000.0&newClientOrderId=O-gtd"
        "&goodTillDate=1798675200000",
        id="limit-gtd",
    ),
    pytest.param(
        FACTORY.market(BTC, OrderSide.SELL, QTY, reduce_only=True, client_order_id=cid("O-ro")),
        False,
        True,
        "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.010&reduceOnly=true&newClientOrderId=O-ro",
        id="reduce-only",
    ),
    pytest.param(
        FACTORY.market(BTC, OrderSide.SELL, QTY, reduce_only=True, client_order_id=cid("O-ro-off")),
        False,
        False,
        "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.010&newClientOrderId=O-ro-off",
        id="reduce-only-not-sent",
    ),
    pytest.param(
        FACTORY.market(BTC, OrderSide.SELL, QTY, reduce_only=True, client_order_id=cid("O-hedge")),
        True,
        True,
        "symbol=BTCUSDT&side=SELL&type=MARKET&positionSide=LONG&quantity=0.010&newClientOrderId=O-hedge",
        id="hedge-closing-long",
    ),
    pytest.param(
        FACTORY.limit(BTC, OrderSide.SELL, QTY, Price.from_str("50000.0"), client_order_id=cid("O-short")),
        True,
        True,
        "symbol=BTCUSDT&side=SELL&type=LIMIT&positionSide=SHORT&timeInForce=GTC&quantity=0.010&price=50000.0"
        "&newClientOrderId=O-short",
        id="hedge-opening-short",
    ),
]


@pytest.mark.parametrize(("order", "hedge", "use_reduce_only", "query"), ORDERS)
async def test_the_same_order_is_the_same_request_on_rest_and_ws(
    clients: Captured, order: Any, hedge: bool, use_reduce_only: bool, query: str
) -> None:
    args = new_order_args(
        order,
        position_side=order_position_side(order, None, hedge=hedge),
        reduce_only=order.is_reduce_only and use_reduce_only and not hedge,
    )
    rest, ws = await clients.both("new_order", **args)
    assert list(rest["params"].items()) == list(ws["params"].items())
    assert encode_params(rest["params"]) == ws_text(clients.ws, ws["params"]) == query


ALGOS = [
    pytest.param(
        FACTORY.stop_market(
            BTC,
            OrderSide.SELL,
            QTY,
            Price.from_str("49000.0"),
            reduce_only=True,
            client_order_id=cid("A-stop"),
        ),
        False,
        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.010&triggerPrice=49000.0"
        "&workingType=CONTRACT_PRICE&reduceOnly=true&clientAlgoId=A-stop",
        id="stop-reduce-only",
    ),
    pytest.param(
        FACTORY.stop_limit(
            BTC,
            OrderSide.BUY,
            QTY,
            Price.from_str("51010.0"),
            Price.from_str("51000.0"),
            post_only=True,
            trigger_type=TriggerType.MARK_PRICE,
            client_order_id=cid("A-stop-limit"),
        ),
        True,
        "algoType=CONDITIONAL&symbol=BTCUSDT&side=BUY&positionSide=LONG&type=STOP&timeInForce=GTX&quantity=0.010"
        "&price=51010.0&triggerPrice=51000.0&workingType=MARK_PRICE&clientAlgoId=A-stop-limit",
        id="hedge-stop-limit-post-only-mark",
    ),
    pytest.param(
        FACTORY.trailing_stop_market(
            BTC,
            OrderSide.SELL,
            QTY,
            trailing_offset=Decimal("100"),
            trailing_offset_type=TrailingOffsetType.BASIS_POINTS,
            activation_price=Price.from_str("52000.0"),
            client_order_id=cid("A-trail"),
        ),
        False,
        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=TRAILING_STOP_MARKET&quantity=0.010"
        "&workingType=CONTRACT_PRICE&activatePrice=52000.0&callbackRate=1&clientAlgoId=A-trail",
        id="trailing",
    ),
]


@pytest.mark.parametrize(("order", "hedge", "query"), ALGOS)
async def test_the_same_conditional_order_is_the_same_request_on_rest_and_ws(
    clients: Captured, order: Any, hedge: bool, query: str
) -> None:
    args = new_algo_order_args(
        order,
        position_side=order_position_side(order, None, hedge=hedge),
        reduce_only=order.is_reduce_only and not hedge,
    )
    rest, ws = await clients.both("new_algo_order", **args)
    assert list(rest["params"].items()) == list(ws["params"].items())
    assert encode_params(rest["params"]) == ws_text(clients.ws, ws["params"]) == query


def test_a_position_side_param_wins_and_one_way_mode_sends_none() -> None:
    order = FACTORY.market(BTC, OrderSide.BUY, QTY)
    assert order_position_side(order, {"position_side": "SHORT"}, hedge=False) == "SHORT"
    assert order_position_side(order, {"position_side": ""}, hedge=True) == "LONG"
    assert order_position_side(order, None, hedge=False) is None
