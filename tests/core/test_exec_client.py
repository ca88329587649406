"""The execution-client pieces both venues compose (adapters.core.client.exec_client)."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, NamedTuple

import pandas as pd
import pytest
from nautilus_trader.model.currencies import USDC, USDT
from nautilus_trader.model.identifiers import AccountId, InstrumentId, PositionId, Venue
from nautilus_trader.model.objects import Currency

from adapters.core.client.exec_client import (
    InstrumentInfoCache,
    append_or_skip,
    history_symbols,
    is_managed,
    ms_or_none,
    nonzero_position_reports,
    open_and_history_orders,
    position_status_reports,
    reject_not_found,
    report_timeout,
    user_stream_service,
    ws_config,
)
from adapters.core.parse.precision import PrecisionResolver

VENUE = Venue("BINANCE")


class Info(NamedTuple):
    instrument_id: InstrumentId
    price_precision: int
    size_precision: int
    quote_currency: Currency


class Inst(NamedTuple):
    id: InstrumentId
    price_precision: int
    size_precision: int
    quote_currency: Currency


def _iid(symbol: str) -> InstrumentId:
    return InstrumentId.from_str(f"{symbol}-PERP.BINANCE")


def test_instrument_info_cached_only_when_the_instrument_is_known() -> None:
    known = {"ETHUSDC": Inst(_iid("ETHUSDC"), 2, 3, USDC)}
    cache = InstrumentInfoCache(PrecisionResolver(known.get, _iid), known.get, Info)
    assert cache.get("ETHUSDC") == Info(_iid("ETHUSDC"), 2, 3, USDC)
    assert "ETHUSDC" in cache.infos
    fallback = cache.get("XYZUSDT")
    assert fallback.instrument_id == _iid("XYZUSDT") and fallback.quote_currency == USDT
    assert "XYZUSDT" not in cache.infos  # resolved again once the instrument is loaded
    known["XYZUSDT"] = Inst(_iid("XYZUSDT"), 4, 0, USDT)
    assert cache.get("XYZUSDT").price_precision == 4 and "XYZUSDT" in cache.infos


class _Item(NamedTuple):
    instrument_id: InstrumentId


class _Cache:
    def orders(self, venue: Venue) -> list[_Item]:
        return [_Item(_iid("AUSDT"))]

    def positions(self, venue: Venue) -> list[_Item]:
        return [_Item(_iid("BUSDT"))]


async def test_history_symbols_union_and_bound() -> None:
    asked: list[str] = []

    def active(name: str, symbols: list[str]) -> Any:
        async def call() -> list[str]:
            asked.append(name)
            return symbols

        return call

    kwargs: dict[str, Any] = {
        "cache": _Cache(),
        "venue": VENUE,
        "venue_symbol": lambda iid: iid.symbol.value.removesuffix("-PERP"),
        "venue_active": (active("open", ["CUSDT"]), active("positions", ["DUSDT", "AUSDT"])),
        "loaded": {"EUSDT": 1, "FUSDT": 2},
    }
    assert await history_symbols("ZUSDT", max_symbols=5, **kwargs) == ["ZUSDT"] and not asked
    assert await history_symbols(None, max_symbols=1, **kwargs) == ["AUSDT", "BUSDT", "CUSDT", "DUSDT"]
    assert asked == ["open", "positions"]  # in the order given
    assert await history_symbols(None, max_symbols=2, **kwargs) == [
        "AUSDT",
        "BUSDT",
        "CUSDT",
        "DUSDT",
        "EUSDT",
        "FUSDT",
    ]


async def test_open_and_history_orders_adds_unseen_history() -> None:
    async def symbols() -> list[str]:
        return ["A", "B"]

    async def history(sym: str) -> list[tuple[str, int]]:
        return [(sym, 1), (sym, 2)] if sym == "A" else [(sym, 3)]

    open_orders = [("A", 1)]
    both = await open_and_history_orders(
        list(open_orders), open_only=False, symbols=symbols, history=history, order_id=lambda o: o[1]
    )
    assert both == [("A", 1), ("A", 2), ("B", 3)]
    only = await open_and_history_orders(
        list(open_orders), open_only=True, symbols=symbols, history=history, order_id=lambda o: o[1]
    )
    assert only == open_orders


def test_append_or_skip_and_position_reports() -> None:
    reports: list[int] = []
    skipped: list[str] = []
    append_or_skip(reports, lambda: 1, lambda exc: skipped.append(str(exc)))

    def bad() -> int:
        raise ValueError("no quantity")

    append_or_skip(reports, bad, lambda exc: skipped.append(str(exc)))
    assert reports == [1] and skipped == ["no quantity"]
    amounts = [Decimal(0), Decimal("0.5"), Decimal(-1)]
    assert nonzero_position_reports(amounts, is_flat=lambda a: a == 0, build=str) == ["0.5", "-1"]


def test_time_bounds() -> None:
    assert report_timeout(1.0) == 10.0 and report_timeout(5.0) == 15.0
    assert ms_or_none(None) is None
    assert ms_or_none(pd.Timestamp("1970-01-01 00:00:01.5", tz="UTC")) == 1500


class _Pos(NamedTuple):
    symbol: str
    positionSide: str | None
    amount: Decimal


async def test_position_status_reports_skip_flat_positions() -> None:
    known = {"AUSDT": Inst(_iid("AUSDT"), 2, 3, USDT)}
    infos = InstrumentInfoCache(PrecisionResolver(known.get, _iid), known.get, Info)

    async def fetch() -> list[_Pos]:
        return [_Pos("AUSDT", "LONG", Decimal(1)), _Pos("AUSDT", "SHORT", Decimal(0))]

    reports = await position_status_reports(
        fetch,
        within=1.0,
        ts_init=9,
        is_flat=lambda p: p.amount == 0,
        instruments=infos.get,
        position_id=lambda iid, side: PositionId(f"{iid}-{side}"),
        account_id=AccountId("A-1"),
        to_report=lambda p, acc, iid, size_prec, ts, pid: (p.positionSide, acc, iid, size_prec, ts, pid),
    )
    assert reports == [("LONG", AccountId("A-1"), _iid("AUSDT"), 3, 9, PositionId(f"{_iid('AUSDT')}-LONG"))]


async def test_position_status_reports_retry_a_transient_failure_and_name_unmanaged_positions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Startup reconciliation fails as a whole if one query raises: a 503 is retried. A position in
    an instrument the node did not load is said to be unmanaged (the engine would drop it silently)."""
    from adapters.core.net.http_errors import VenueAmbiguous
    from adapters.core.net.read_retry import read_with_retry

    known = {"AUSDT": Inst(_iid("AUSDT"), 2, 3, USDT)}
    infos = InstrumentInfoCache(PrecisionResolver(known.get, _iid), known.get, Info)
    calls: list[int] = []

    async def fetch() -> list[_Pos]:
        calls.append(1)
        if len(calls) == 1:
            raise VenueAmbiguous("HTTP 503", http_status=503)
        return [_Pos("AUSDT", "LONG", Decimal(1)), _Pos("ZUSDT", "LONG", Decimal(2))]

    loaded = {_iid("AUSDT")}
    with caplog.at_level(logging.WARNING):
        reports = await position_status_reports(
            fetch,
            within=5.0,
            ts_init=9,
            is_flat=lambda p: p.amount == 0,
            instruments=infos.get,
            position_id=lambda iid, side: None,
            account_id=AccountId("A-1"),
            to_report=lambda p, acc, iid, size_prec, ts, pid: p.symbol,
            managed=lambda p, iid: is_managed(
                _LoadedInstruments(loaded),
                iid,
                lambda: f"position {p.symbol} {p.amount}",
                logging.getLogger("t"),
            ),
        )
    assert reports == ["AUSDT"] and len(calls) == 2
    assert "position ZUSDT 2 is on the venue in ZUSDT-PERP.BINANCE, an instrument this node did not load" in (
        caplog.text
    )
    with pytest.raises(ValueError):  # a definite error is not retried

        async def broken() -> None:
            raise ValueError("bad")

        await read_with_retry(broken, what="x")


class _LoadedInstruments:
    def __init__(self, loaded: set[InstrumentId]) -> None:
        self._loaded = loaded

    def instrument(self, instrument_id: InstrumentId) -> object | None:
        return object() if instrument_id in self._loaded else None


class _Config(NamedTuple):
    recovery_backoff_initial_secs: float = 0.5
    recovery_backoff_cap_secs: float = 8.0
    recovery_backoff_reset_secs: float = 12.0
    http_timeout_secs: float = 5.0
    keepalive_interval_secs: float = 60.0
    ws_ping_interval_secs: float | None = 20.0
    ws_pong_timeout_secs: float = 3.0
    ws_stall_timeout_secs: float | None = 30.0


def test_stream_wiring_from_config() -> None:
    service = user_stream_service(
        object(),  # type: ignore[arg-type]  # never called here
        _Config(),
        name="x-user-stream",
        logger=logging.getLogger("tests.exec_client"),
        overlap=True,
    )
    options = service.ctx.options
    assert (
        options.retry_initial,
        options.retry_cap,
        options.backoff_reset_after,
        options.op_timeout,
        options.overlap,
    ) == (0.5, 8.0, 12.0, 15.0, True)
    ws = ws_config(_Config(), reconnect=True)
    assert (ws.ping_interval, ws.pong_timeout, ws.stall_timeout, ws.reconnect) == (20.0, 3.0, 30.0, True)


def test_reject_not_found_names_the_command_order() -> None:
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.execution.messages import CancelOrder
    from nautilus_trader.model.identifiers import ClientOrderId, StrategyId, TraderId

    command = CancelOrder(
        trader_id=TraderId("T-001"),
        strategy_id=StrategyId("S-001"),
        instrument_id=_iid("AUSDT"),
        client_order_id=ClientOrderId("O-1"),
        venue_order_id=None,
        command_id=UUID4(),
        ts_init=0,
    )
    seen: list[tuple[Any, ...]] = []
    reject_not_found(lambda *args: seen.append(args), command, 5)
    assert seen == [(StrategyId("S-001"), _iid("AUSDT"), ClientOrderId("O-1"), None, "order not found", 5)]


@pytest.mark.parametrize("symbol", ["BTC\x00USDT", "BTC USDT", "比特币", "X" * 41])
def test_a_symbol_no_instrument_id_can_be_built_from_is_rejected_not_fatal(symbol: str) -> None:
    """An uncached symbol becomes an InstrumentId through the venue's formatter: NautilusTrader
    aborts the process on a NUL in it. It is a rejected value instead (the frame is rejected)."""
    from adapters.core.parse.wire_values import WireValueError

    infos = InstrumentInfoCache(PrecisionResolver(lambda s: None, _iid), lambda s: None, Info)
    with pytest.raises(WireValueError):
        infos.get(symbol)
    assert infos.get("ETHUSDT").instrument_id == _iid("ETHUSDT")  # and valid ones still resolve
