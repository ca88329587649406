"""The oracle's venue option: BingX's ``/sim/state`` brought into the oracle's terms (lowercased client
ids, cancel-replace chains ``<cid>-r<n>``, 4-decimal REST balances), idempotently, and the plain
(Binance) comparison left exactly as strict as it was."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.enums import AccountType, OrderSide
from nautilus_trader.model.events import AccountState
from nautilus_trader.model.identifiers import (
    AccountId,
    InstrumentId,
    StrategyId,
    Symbol,
    TradeId,
    TraderId,
    Venue,
    VenueOrderId,
)
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import AccountBalance, Money, Price, Quantity
from nautilus_trader.model.orders import Order
from nautilus_trader.test_kit.stubs.events import TestEventStubs

from adapters.sim.oracle import check, normalize_bingx_state, normalize_state

IID = InstrumentId(Symbol("BTC-USDT-PERP"), Venue("BINGX"))
ACCOUNT = AccountId("BINGX-master")


def _instrument() -> CryptoPerpetual:
    return CryptoPerpetual(
        instrument_id=IID,
        raw_symbol=Symbol("BTC-USDT"),
        base_currency=BTC,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=1,
        size_precision=4,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("0.0001"),
        ts_event=0,
        ts_init=0,
    )


class Node:
    """A cache with orders and fills as a node would hold them."""

    def __init__(self) -> None:
        self.cache = Cache(database=None)
        self.instrument = _instrument()
        self.cache.add_instrument(self.instrument)
        self.factory = OrderFactory(TraderId("TESTER-001"), StrategyId("S-001"), TestClock())

    def order(self, qty: str = "0.0100", price: str = "60000.0") -> Order:
        order = self.factory.limit(IID, OrderSide.BUY, Quantity.from_str(qty), Price.from_str(price))
        self.cache.add_order(order)
        order.apply(TestEventStubs.order_submitted(order, account_id=ACCOUNT))
        order.apply(
            TestEventStubs.order_accepted(order, account_id=ACCOUNT, venue_order_id=VenueOrderId("1"))
        )
        self.cache.update_order(order)
        return order

    def fill(self, order: Order, trade_id: int, qty: str, price: str) -> None:
        order.apply(
            TestEventStubs.order_filled(
                order,
                self.instrument,
                account_id=ACCOUNT,
                venue_order_id=order.venue_order_id,
                trade_id=TradeId(str(trade_id)),
                last_qty=Quantity.from_str(qty),
                last_px=Price.from_str(price),
            )
        )
        self.cache.update_order(order)

    def cancel(self, order: Order) -> None:
        order.apply(TestEventStubs.order_canceled(order))
        self.cache.update_order(order)

    def wallet(self, total: str) -> None:
        money = Money(Decimal(total), USDT)
        state = AccountState(
            ACCOUNT,
            AccountType.MARGIN,
            USDT,
            True,
            [AccountBalance(money, Money(0, USDT), money)],
            [],
            {},
            UUID4(),
            0,
            0,
        )
        from nautilus_trader.accounting.factory import AccountFactory

        self.cache.add_account(AccountFactory.create(state))


def _order_row(order_id: int, cid: str, status: str, qty: str, executed: str, avg: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "client_order_id": cid,
        "account_id": "default",
        "symbol": "BTC-USDT",
        "status": status,
        "qty": qty,
        "executed_qty": executed,
        "avg_price": avg,
    }


def _trade(trade_id: int, order_id: int, qty: str, price: str) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "order_id": order_id,
        "account_id": "default",
        "symbol": "BTC-USDT",
        "side": "BUY",
        "qty": qty,
        "price": price,
    }


def _state(
    orders: list[dict[str, Any]], trades: list[dict[str, Any]], wallet: str = "1000"
) -> dict[str, Any]:
    return {
        "orders": orders,
        "algo_orders": [],
        "trades": trades,
        "accounts": {"default": {"asset": "USDT", "wallet_balance": wallet, "positions": []}},
    }


# --------------------------------------------------------------------------------------------------
# Lowercased client ids
# --------------------------------------------------------------------------------------------------
def test_lowercased_client_ids_match_only_with_the_bingx_option() -> None:
    node = Node()
    order = node.order()
    node.fill(order, 11, "0.0100", "60000.0")
    cid = order.client_order_id.value
    assert cid != cid.lower()  # NautilusTrader ids carry capitals: the case matters below
    state = _state(
        [_order_row(1, cid.lower(), "FILLED", "0.0100", "0.0100", "60000.0")],
        [_trade(11, 1, "0.0100", "60000.0")],
    )
    plain = check(state, node.cache, avg_price=True)
    assert not plain.ok and plain.status_mismatches == [f"{cid}: unknown to venue, node FILLED"]
    report = check(state, node.cache, avg_price=True, venue="bingx")
    assert report.ok, report.details()
    assert report.venue_trades == 1 and report.node_fills == 1


def test_bingx_option_still_finds_a_wrong_status_and_a_lost_fill() -> None:
    node = Node()
    order = node.order()
    cid = order.client_order_id.value
    state = _state(
        [_order_row(1, cid.lower(), "FILLED", "0.0100", "0.0100", "60000.0")],
        [_trade(11, 1, "0.0100", "60000.0")],
    )
    report = check(state, node.cache, venue="bingx")
    assert report.lost == [("BTC-USDT", "11", "BUY")]
    assert report.status_mismatches == [f"{cid}: venue FILLED, node ACCEPTED"]
    assert report.filled_mismatches == [f"{cid}: venue filled 0.0100, node 0.0000"]


def test_orders_the_node_does_not_know_are_left_alone() -> None:
    state = _state(
        [
            _order_row(1, "sim-1", "NEW", "1", "0", "0"),
            _order_row(2, "someone-r1", "CANCELED", "1", "0", "0"),
        ],
        [],
    )
    assert normalize_bingx_state(state, ["O-1"])["orders"] == state["orders"]


# --------------------------------------------------------------------------------------------------
# Cancel-replace chains
# --------------------------------------------------------------------------------------------------
def _chain_state(cid: str) -> dict[str, Any]:
    low = cid.lower()
    return _state(
        [
            _order_row(1, low, "CANCELED", "0.0100", "0.0040", "60000.0"),
            _order_row(3, f"{low}-r2", "FILLED", "0.0040", "0.0040", "60020.0"),
            _order_row(2, f"{low}-r1", "CANCELED", "0.0060", "0.0020", "60010.0"),
        ],
        [
            _trade(11, 1, "0.0040", "60000.0"),
            _trade(12, 2, "0.0020", "60010.0"),
            _trade(13, 3, "0.0010", "60020.0"),
            _trade(14, 3, "0.0030", "60020.0"),
        ],
    )


def test_a_cancel_replace_chain_is_one_order_with_the_last_links_status_and_all_fills() -> None:
    node = Node()
    order = node.order()
    node.fill(order, 11, "0.0040", "60000.0")
    node.fill(order, 12, "0.0020", "60010.0")
    node.fill(order, 13, "0.0010", "60020.0")
    node.fill(order, 14, "0.0030", "60020.0")
    cid = order.client_order_id.value
    state = _chain_state(cid)
    merged = normalize_bingx_state(state, [cid])["orders"]
    assert len(merged) == 1
    row = merged[0]
    assert (row["client_order_id"], row["status"], row["order_id"]) == (cid, "FILLED", 3)
    assert Decimal(row["executed_qty"]) == Decimal("0.0100")
    # (0.004*60000 + 0.002*60010 + 0.004*60020) / 0.010, from the venue's trades
    assert Decimal(row["avg_price"]) == Decimal("60010")
    report = check(state, node.cache, avg_price=True, venue="bingx")
    assert report.ok, report.details()
    assert report.venue_trades == 4


def test_a_chain_whose_last_link_the_node_missed_is_a_mismatch() -> None:
    node = Node()
    order = node.order()
    node.fill(order, 11, "0.0040", "60000.0")
    node.fill(order, 12, "0.0020", "60010.0")
    node.cancel(order)  # the node believes the order ended on link r1
    report = check(_chain_state(order.client_order_id.value), node.cache, venue="bingx")
    assert not report.ok
    assert report.lost == [("BTC-USDT", "13", "BUY"), ("BTC-USDT", "14", "BUY")]
    assert report.status_mismatches and "venue FILLED, node CANCELED" in report.status_mismatches[0]


def test_chain_avg_price_falls_back_to_the_links_when_trades_are_absent() -> None:
    low = "o-1"
    state = _state(
        [
            _order_row(1, low, "CANCELED", "0.0100", "0.0040", "60000.0"),
            _order_row(2, f"{low}-r1", "FILLED", "0.0060", "0.0060", "60010.0"),
        ],
        [],
    )
    row = normalize_bingx_state(state, ["O-1"])["orders"][0]
    assert Decimal(row["avg_price"]) == Decimal("60006")
    assert Decimal(row["executed_qty"]) == Decimal("0.0100")


# --------------------------------------------------------------------------------------------------
# Idempotence: SimNode's own normalisation and the oracle's option agree
# --------------------------------------------------------------------------------------------------
def test_normalisation_is_idempotent() -> None:
    state = _chain_state("O-20240101-000000-001-001-1")
    ids = ["O-20240101-000000-001-001-1"]
    once = normalize_bingx_state(state, ids)
    assert normalize_bingx_state(once, ids) == once
    assert normalize_state(once, ids, "bingx") == once


def test_check_with_the_option_on_already_normalised_state_gives_the_same_report() -> None:
    node = Node()
    order = node.order()
    node.fill(order, 11, "0.0040", "60000.0")
    node.fill(order, 12, "0.0020", "60010.0")  # lost: trades 13, 14
    state = _chain_state(order.client_order_id.value)
    pre = normalize_bingx_state(state, [order.client_order_id.value])
    a = check(state, node.cache, avg_price=True, balances=True, venue="bingx")
    b = check(pre, node.cache, avg_price=True, balances=True, venue="bingx")
    c = check(pre, node.cache, avg_price=True, balances=True)  # normalised by the caller only
    assert a == b == c
    assert not a.ok


# --------------------------------------------------------------------------------------------------
# Balances: BingX's REST publishes 4 decimals
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("node_wallet", "venue", "ok"),
    [
        ("99999.04018933", "bingx", True),  # exact (from the stream's 8 decimals)
        ("99999.0402", "bingx", True),  # exactly what GET /v3/user/balance publishes
        ("99999.0401", "bingx", False),  # not the venue's rounding: a real mismatch
        ("99999.0403", "bingx", False),
        ("99999.0402", None, False),  # Binance publishes every decimal: exact only
        ("99999.04018933", None, True),
    ],
)
def test_balance_accepts_the_exact_wallet_or_bingx_rest_rounding(
    node_wallet: str, venue: str | None, ok: bool
) -> None:
    node = Node()
    node.wallet(node_wallet)
    state = _state([], [], wallet="99999.04018933")
    report = check(state, node.cache, balances=True, venue=venue)
    assert report.ok is ok, report.details()


def test_plain_venues_are_unchanged_and_unknown_venues_refused() -> None:
    state = _chain_state("O-1")
    assert normalize_state(state, ["O-1"], None) is state
    assert normalize_state(state, ["O-1"], "binance-futures") is state
    with pytest.raises(ValueError, match="unknown venue"):
        normalize_state(state, ["O-1"], "kraken")


# --------------------------------------------------------------------------------------------------
# Issue 11: fills keyed (symbol, trade id, side), attribution, adoption, hedge positions per side
# --------------------------------------------------------------------------------------------------
def _sell(node: Node, qty: str = "0.0100", price: str = "60000.0", voi: str = "2") -> Order:
    order = node.factory.limit(IID, OrderSide.SELL, Quantity.from_str(qty), Price.from_str(price))
    node.cache.add_order(order)
    order.apply(TestEventStubs.order_submitted(order, account_id=ACCOUNT))
    order.apply(TestEventStubs.order_accepted(order, account_id=ACCOUNT, venue_order_id=VenueOrderId(voi)))
    node.cache.update_order(order)
    return order


def _sided(trade: dict[str, Any], side: str) -> dict[str, Any]:
    return {**trade, "side": side}


def test_a_self_trade_is_one_trade_id_and_two_fills_one_per_side() -> None:
    node = Node()
    buy, sell = node.order(), _sell(node)
    node.fill(buy, 21, "0.0100", "60000.0")
    node.fill(sell, 21, "0.0100", "60000.0")
    state = _state(
        [
            _order_row(1, buy.client_order_id.value, "FILLED", "0.0100", "0.0100", "60000.0"),
            _order_row(2, sell.client_order_id.value, "FILLED", "0.0100", "0.0100", "60000.0"),
        ],
        [_trade(21, 1, "0.0100", "60000.0"), _sided(_trade(21, 2, "0.0100", "60000.0"), "SELL")],
    )
    report = check(state, node.cache, avg_price=True, orders_known=True)
    assert report.ok, report.details()
    assert report.venue_trades == 2 and report.node_fills == 2


def test_a_self_trade_missing_one_side_is_a_lost_fill_of_that_side() -> None:
    node = Node()
    buy, sell = node.order(), _sell(node)
    node.fill(buy, 21, "0.0100", "60000.0")
    state = _state(
        [
            _order_row(1, buy.client_order_id.value, "FILLED", "0.0100", "0.0100", "60000.0"),
            _order_row(2, sell.client_order_id.value, "FILLED", "0.0100", "0.0100", "60000.0"),
        ],
        [_trade(21, 1, "0.0100", "60000.0"), _sided(_trade(21, 2, "0.0100", "60000.0"), "SELL")],
    )
    report = check(state, node.cache)
    assert report.lost == [("BTC-USDT", "21", "SELL")]
    assert not report.duplicated and not report.phantom


def test_a_fill_on_another_order_than_the_venues_is_misattributed() -> None:
    node = Node()
    first, second = node.order(), node.order()
    node.fill(second, 31, "0.0100", "60000.0")  # the venue says trade 31 filled the first order
    state = _state(
        [
            _order_row(1, first.client_order_id.value, "NEW", "0.0100", "0", "0"),
            _order_row(2, second.client_order_id.value, "NEW", "0.0100", "0", "0"),
        ],
        [_trade(31, 1, "0.0100", "60000.0")],
    )
    report = check(state, node.cache)
    assert report.misattributed == [
        f"('BTC-USDT', '31', 'BUY'): venue order {first.client_order_id.value}, "
        f"node order {second.client_order_id.value}"
    ]


def test_venue_orders_the_node_never_adopted_are_unknown_orders_when_asked() -> None:
    node = Node()
    state = _state(
        [
            _order_row(7, "ext-web-1", "PARTIALLY_FILLED", "0.0200", "0.0100", "60000.0"),
            _order_row(8, "ext-web-2", "CANCELED", "0.0200", "0", "0"),  # nothing to adopt
        ],
        [_trade(41, 7, "0.0100", "60000.0")],
    )
    assert not check(state, node.cache).unknown_orders
    report = check(state, node.cache, orders_known=True)
    assert report.unknown_orders == ["ext-web-1: venue PARTIALLY_FILLED filled 0.0100, node -"]
    assert report.lost == [("BTC-USDT", "41", "BUY")]


def test_an_external_order_adopted_under_another_client_id_matches_by_venue_order_id() -> None:
    node = Node()
    order = node.factory.limit(
        IID, OrderSide.BUY, Quantity.from_str("0.0200"), Price.from_str("60000.0"), tags=["EXTERNAL"]
    )
    node.cache.add_order(order)
    order.apply(TestEventStubs.order_submitted(order, account_id=ACCOUNT))
    order.apply(TestEventStubs.order_accepted(order, account_id=ACCOUNT, venue_order_id=VenueOrderId("7")))
    node.cache.update_order(order)
    node.fill(order, 41, "0.0100", "60000.0")
    state = _state(
        [_order_row(7, "ext-web-1", "PARTIALLY_FILLED", "0.0200", "0.0100", "60000.0")],
        [_trade(41, 7, "0.0100", "60000.0")],
    )
    report = check(state, node.cache, avg_price=True, orders_known=True)
    assert report.ok, report.details()
    # The node's own orders are matched strictly by client id, never by venue id.
    own = Node()
    mine = own.order()
    own.fill(mine, 41, "0.0100", "60000.0")
    strict = check(
        _state(
            [_order_row(1, "someone-else", "FILLED", "0.0100", "0.0100", "60000.0")],
            [_trade(41, 1, "0.0100", "60000.0")],
        ),
        own.cache,
    )
    assert strict.misattributed and strict.status_mismatches


def _open_position(node: Node, side: OrderSide, qty: str, position_id: str) -> None:
    from nautilus_trader.model.enums import OmsType
    from nautilus_trader.model.identifiers import PositionId
    from nautilus_trader.model.position import Position

    order = node.factory.market(IID, side, Quantity.from_str(qty))
    order.apply(TestEventStubs.order_submitted(order, account_id=ACCOUNT))
    order.apply(TestEventStubs.order_accepted(order, account_id=ACCOUNT, venue_order_id=VenueOrderId("9")))
    fill = TestEventStubs.order_filled(
        order,
        node.instrument,
        account_id=ACCOUNT,
        position_id=PositionId(position_id),
        last_px=Price.from_str("60000.0"),
    )
    node.cache.add_position(Position(node.instrument, fill), OmsType.HEDGING)


def _hedge_account(long_amt: str, short_amt: str) -> dict[str, Any]:
    return {
        "asset": "USDT",
        "wallet_balance": "1000",
        "hedge_mode": True,
        "positions": [
            {"symbol": "BTC-USDT", "position_side": "LONG", "amount": long_amt},
            {"symbol": "BTC-USDT", "position_side": "SHORT", "amount": short_amt},
        ],
    }


def test_hedge_positions_are_compared_per_side_not_netted() -> None:
    node = Node()
    _open_position(node, OrderSide.BUY, "0.0300", f"{IID}-LONG")
    _open_position(node, OrderSide.SELL, "0.0100", f"{IID}-SHORT")
    state = {**_state([], []), "accounts": {"default": _hedge_account("0.0300", "-0.0100")}}
    assert check(state, node.cache, positions=True).ok
    # The same net (0.0200) split differently between the sides is a mismatch per side.
    other = {**_state([], []), "accounts": {"default": _hedge_account("0.0400", "-0.0200")}}
    report = check(other, node.cache, positions=True)
    assert report.position_mismatches == [
        "BTC-USDT LONG: venue net 0.0400, node net 0.03",
        "BTC-USDT SHORT: venue net -0.0200, node net -0.01",
    ]


def test_a_chain_whose_replaced_link_filled_in_part_is_part_filled_while_the_new_link_rests() -> None:
    """Chaos BingX seed 195: an order part-filled in a gap, then modified (cancel-replace); the new link
    rests with nothing filled. The order is PARTIALLY_FILLED, not NEW."""
    node = Node()
    order = node.order()
    node.fill(order, 11, "0.0040", "60000.0")
    cid = order.client_order_id.value
    state = _state(
        [
            _order_row(1, cid.lower(), "CANCELED", "0.0100", "0.0040", "60000.0"),
            _order_row(2, f"{cid.lower()}-r1", "NEW", "0.0060", "0", "0"),
        ],
        [_trade(11, 1, "0.0040", "60000.0")],
    )
    (row,) = normalize_bingx_state(state, [cid])["orders"]
    assert (row["status"], row["executed_qty"]) == ("PARTIALLY_FILLED", "0.0040")
    report = check(state, node.cache, avg_price=True, venue="bingx")
    assert report.ok, report.details()
