"""Every distinct finding of the fuzzer, pinned: the minimized input and the outcome it must have.

Each test names its finding (target, kind, where) as ``make fuzz`` reported it. Cases that made the
Rust core abort run in a child process, so a regression kills the child and fails the test instead
of killing pytest. The general oracle (:func:`check`) replays a fuzz case through its target with
every oracle on (nothing escapes, nothing aborts, no fill lost, no wrong value believed, the book
never SYNCED and stale, only typed HTTP errors); the explicit tests state the defined outcome
directly ("rejected and counted, no fill", "the dispatcher keeps running", "BinanceRejection raised").
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
from typing import Any

import msgspec
import pytest

from tests.fuzz.base import REPO, Case
from tests.fuzz.targets import make_target

pytestmark = pytest.mark.timeout(120)

_TARGETS: dict[str, Any] = {}


def target(name: str) -> Any:
    t = _TARGETS.get(name)
    if t is None:
        t = _TARGETS[name] = make_target(name)
        t.setup()
    return t


def check_in_child(name: str, case: Case) -> None:
    """Run ``case`` through target ``name`` in a child process: it must live and report nothing."""
    code = textwrap.dedent(
        f"""
        import json, logging, sys
        logging.disable(logging.CRITICAL)
        from tests.fuzz.targets import make_target
        t = make_target({name!r}); t.setup()
        findings = t.execute(json.loads({json.dumps(case)!r}))
        print(json.dumps([f.to_json() for f in findings]))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=110)
    panic = [ln for ln in proc.stderr.splitlines() if "panicked at" in ln or "Condition failed" in ln][:2]
    assert proc.returncode == 0, f"the process died (rc={proc.returncode}): {panic or proc.stderr[-600:]}"
    findings = json.loads(proc.stdout.strip().splitlines()[-1])
    assert findings == [], findings


def check(name: str, case: Case) -> None:
    """In process (for findings that do not abort): every oracle must stay quiet."""
    logging.disable(logging.CRITICAL)
    try:
        findings = target(name).execute(case)
    finally:
        logging.disable(logging.NOTSET)
    assert findings == [], [f.to_json() for f in findings]


def set_o(key: str, value: Any) -> dict[str, Any]:
    return {"op": "set", "path": ["o", key], "value": value}


def del_o(key: str) -> dict[str, Any]:
    return {"op": "del", "path": ["o", key]}


DEEP = {"op": "nest", "path": ["o"], "depth": 1100, "kind": "list"}
HUGE = "1" + "0" * 40  # 1e40: beyond Price/Quantity/Money
BN_TRADE = "order_trade_update_trade"
BX_FILL = "order_trade_update_partial"


# ==================================================================================================
# Binance user stream (UserStreamHandler.handle_frame)
# ==================================================================================================


@pytest.mark.parametrize(
    ("why", "ops"),
    [
        # abort | adapters/binance_futures/parsing.py (parse_client_order_id) | client_order_id.rs non-ASCII
        ("external order with a Chinese client id", [set_o("c", "\u4e2d\u6587\u8ba2\u5355")]),
        ("external order with a NUL client id", [set_o("c", "\x00")]),
        # abort | adapters/core/parse/decimal_parse.py (parse_price) | price.rs raw value outside valid range
        ("fill price just beyond Price max", [set_o("L", "17014118346047")]),
        # abort | decimal_parse.py (parse_quantity) | quantity.rs exceeding QUANTITY_RAW_MAX
        # abort | decimal_parse.py (parse_money) | money.rs exceeded bounds
        # abort | decimal_parse.py (parse_currency) | currency.rs invalid string
        ("commission asset NUL", [set_o("N", "\x00")]),
    ],
)
def test_binance_user_aborts_become_rejected_frames(why: str, ops: list[dict[str, Any]]) -> None:
    """Defined outcome: the process lives, the frame is counted as failed/malformed, no fill is
    believed, and the well-formed replay of the same trade still reaches the engine once."""
    check_in_child("binance-user", {"seed": BN_TRADE, "wrap": False, "ops": ops})


@pytest.mark.parametrize(
    ("why", "ops"),
    [
        # wrong-value | fill qty/px believed from whitespace-padded / underscore / non-ASCII-digit text
        ("quantity '0.100 '", [set_o("l", "0.100 ")]),
        ("quantity ' 0.1'", [set_o("l", " 0.1")]),
        ("quantity '0.1_0'", [set_o("l", "0.1_0")]),
        ("price '3150.1_0'", [set_o("L", "3150.1_0")]),
        ("price ' 3150.10'", [set_o("L", " 3150.10")]),
        ("price in full-width digits", [set_o("L", "\uff11\uff12\uff13")]),
        ("price '+1'", [set_o("L", "+1")]),
        ("commission in Arabic-Indic digits", [set_o("n", "\u0661\u0662\u0663")]),
        ("commission ' 0.1'", [set_o("n", " 0.1")]),
        # wrong-value | price 0 / time 0 / trade id 0 from a missing field, negative values
        ("price missing (read as 0)", [del_o("L")]),
        ("trade time missing (ts_event 0)", [del_o("T")]),
        ("trade time 0", [set_o("T", 0)]),
        ("trade id missing (TradeId '0')", [del_o("t")]),
        ("trade id -1", [set_o("t", -1)]),
        ("price -0.001", [set_o("L", "-0.001")]),
        # escape | RecursionError at adapters/binance_futures/schemas_user.py (decode_user_frame/_classify)
        ("1100-deep nesting", [DEEP]),
    ],
)
def test_binance_user_frame_values(why: str, ops: list[dict[str, Any]]) -> None:
    """Defined outcome: a value that is not the strict reading of its field is not believed (the
    frame is rejected and counted); the replay of the well-formed frame delivers the fill once."""
    check("binance-user", {"seed": BN_TRADE, "wrap": False, "ops": ops})


def test_binance_user_deep_frame_is_counted_not_raised() -> None:
    # escape | RecursionError at adapters/binance_futures/schemas_user.py (decode_user_frame)
    handler, _, _ = target("binance-user").make_handler()
    handler.handle_frame(b'{"e":"ORDER_TRADE_UPDATE","E":1,"o":' + b"[" * 1100 + b"]" * 1100 + b"}")
    handler.handle_frame(b"[" * 5000 + b"]" * 5000)
    assert handler.malformed + handler.errors == 2


def test_binance_balance_is_not_believed_from_garbage() -> None:
    # wrong-value | binance: balance believed from a garbage/non-finite wallet balance (to_decimal -> 0)
    for wb in ("abc", "NaN", " 1520.41", "1_520"):
        check(
            "binance-user",
            {
                "seed": "account_update",
                "wrap": False,
                "ops": [{"op": "set", "path": ["a", "B", 0, "wb"], "value": wb}],
            },
        )


# ==================================================================================================
# BingX user stream (BingxUserStreamHandler.handle_frame, ping_reply)
# ==================================================================================================


@pytest.mark.parametrize(
    ("why", "ops"),
    [
        # abort | decimal_parse.py (parse_price / parse_quantity / parse_money / parse_currency)
        ("commission asset NUL", [set_o("N", "\x00")]),
    ],
)
def test_bingx_user_aborts_become_rejected_frames(why: str, ops: list[dict[str, Any]]) -> None:
    check_in_child("bingx-user", {"seed": BX_FILL, "ops": ops})


@pytest.mark.parametrize(
    ("why", "ops"),
    [
        # wrong-value | bingx: fill px/qty believed from exponent / padded / underscore text
        ("price '1e5'", [set_o("L", "1e5")]),
        ("price with a trailing space", [set_o("L", "112848.10000000 ")]),
        ("quantity with a leading space", [set_o("l", " 0.00100000")]),
        ("price '112848.1_0000000'", [set_o("L", "112848.1_0000000")]),
        ("trade id in Arabic-Indic digits", [set_o("td", "\u0661\u0662\u0663")]),
        # wrong-value | bingx: fill time believed from a missing wire value (ts_event 0)
        ("trade time missing", [del_o("T")]),
        ("trade id -1", [set_o("td", -1)]),
        # escape | RecursionError at adapters/bingx/schemas_user.py (decode_user_frame/_control)
        ("1100-deep nesting", [DEEP]),
        # escape | zlib.error at adapters/bingx/stream_frames.py (decode_gzip_frame)
    ],
)
def test_bingx_user_frame_values(why: str, ops: list[dict[str, Any]]) -> None:
    check("bingx-user", {"seed": BX_FILL, "ops": ops})


def test_bingx_gzip_bomb_is_rejected_without_inflating_it() -> None:
    # resource | bingx: gzip frame inflated without a size limit (a ~25 KiB frame -> 24+ MiB)
    check("bingx-user", {"seed": BX_FILL, "ops": [{"op": "gzip_bomb", "mib": 24}]})


# ==================================================================================================
# Market data (codec -> dispatcher -> on_market_event -> book sync)
# ==================================================================================================


def _mset(path: list[Any], value: Any) -> dict[str, Any]:
    return {"op": "set", "path": path, "value": value}


@pytest.mark.parametrize(
    ("seed", "why", "ops"),
    [
        # abort | decimal_parse.py (parse_price / parse_quantity) on quotes, trades and book levels
        ("book_d2", "diff level price 1e40", [_mset(["data", "b", 0, 0], HUGE)]),
    ],
)
def test_binance_market_aborts(seed: str, why: str, ops: list[dict[str, Any]]) -> None:
    check_in_child("binance-market", {"seed": seed, "ops": ops})


@pytest.mark.parametrize(
    ("seed", "why", "ops"),
    [
        # book-stale | binance: book SYNCED with a level the venue deleted (a diff whose levels fail to
        # convert after the synchroniser advanced: its delete of 64250.00 never reaches the book)
        ("book_d2", "diff with a 30-decimal quantity", [_mset(["data", "b", 1, 1], "0." + "4" * 30)]),
        ("book_d2", "diff with quantity 1e400", [_mset(["data", "b", 1, 1], "1e400")]),
        ("book_d2", "diff with quantity '3.000 '", [_mset(["data", "b", 1, 1], "3.000 ")]),
        # book-stale | binance: book SYNCED after an unreadable or unchained diff (u corrupted: the next
        # diff is taken as stale, the book never resyncs)
        ("book_d2", "diff with u 1e13", [_mset(["data", "u"], 10**13)]),
        # wrong-value | binance: book level with a non-positive price
        ("book_d2", "diff with price 0", [_mset(["data", "a", 0, 0], "0")]),
        # task-ended | market dispatcher ended: RecursionError / UnicodeDecodeError (_stream_of)
        ("book_ticker", "1100-deep nesting", [{"op": "nest", "path": ["data"], "depth": 1100}]),
        ("book_d2", "non-UTF-8 stream name", [_mset(["stream"], {"$bytes": "ff fe 40 64 65 70 74 68"})]),
        # wrong-value | quotes / trades / bars / mark prices believed from non-strict text
        ("trade", "trade price '0.1_0'", [_mset(["data", "p"], "0.1_0")]),
        ("trade", "trade size ' 0.1'", [_mset(["data", "q"], " 0.1")]),
        ("trade", "trade price -1", [_mset(["data", "p"], "-1")]),
        ("mark_price", "mark price 1e-400 (published as 0)", [_mset(["data", "p"], "1e-400")]),
        ("kline_closed", "bar volume '+1'", [_mset(["data", "k", "v"], "+1")]),
    ],
)
def test_binance_market_values(seed: str, why: str, ops: list[dict[str, Any]]) -> None:
    check("binance-market", {"seed": seed, "ops": ops})


@pytest.mark.parametrize(
    ("seed", "why", "ops"),
    [
        ("incr_depth", "update level quantity 1e40", [_mset(["data", "bids", 1, 1], HUGE)]),
        ("depth5", "depth5 price beyond Price max", [_mset(["data", "asks", 0, 0], "34028236692094")]),
    ],
)
def test_bingx_market_aborts(seed: str, why: str, ops: list[dict[str, Any]]) -> None:
    check_in_child("bingx-market", {"seed": seed, "ops": ops})


@pytest.mark.parametrize(
    ("seed", "why", "ops"),
    [
        # book-stale | bingx: book SYNCED with a level the venue deleted / after an unreadable update
        ("incr_depth", "update with a 40-decimal price", [_mset(["data", "bids", 1, 0], "1." + "1" * 40)]),
        ("incr_depth", "update with quantity 'NaN'", [_mset(["data", "asks", 0, 1], "NaN")]),
        # task-ended | market dispatcher ended: RecursionError / zlib.error
        ("trade", "1100-deep nesting", [{"op": "nest", "path": ["data"], "depth": 1100}]),
        # wrong-value | depth10 price 0, mark price 1e-400, quote size '+1', trade price exponent
        ("depth5", "depth5 price 0", [_mset(["data", "asks", 0, 0], "0")]),
        ("mark_price", "mark price 1e-400", [_mset(["data", "p"], "1e-400")]),
        ("book_ticker", "bid size '+1'", [_mset(["data", "B"], "+1")]),
    ],
)
def test_bingx_market_values(seed: str, why: str, ops: list[dict[str, Any]]) -> None:
    check("bingx-market", {"seed": seed, "ops": ops})


# ==================================================================================================
# HTTP clients
# ==================================================================================================


def _http(name: str, call: str, status: int, body: Any, headers: dict[str, str] | None = None) -> Case:
    return {
        "call": call,
        "status": status,
        "headers": headers or {},
        "body": "error",
        "error_doc": body,
        "ops": [],
        "cut": None,
    }


@pytest.mark.parametrize(
    ("why", "case"),
    [
        # http-success-on-error | binance: <call> returned on a venue error body (HTTP 200 + code)
        (
            "account on 200 -2011",
            _http("binance-http", "account", 200, {"code": -2011, "msg": "Unknown order sent."}),
        ),
        ("account on 200 -1007", _http("binance-http", "account", 200, {"code": -1007, "msg": "Timeout"})),
        (
            "keepalive on 200 -1125",
            _http(
                "binance-http",
                "keepalive_listen_key",
                200,
                {"code": -1125, "msg": "This listenKey does not exist."},
            ),
        ),
        # http-untyped | OverflowError at rate_limit.py (block_for): Retry-After inf / 1e400
        (
            "429 with Retry-After inf",
            _http("binance-http", "balance", 429, {"code": -1003, "msg": "x"}, {"Retry-After": "inf"}),
        ),
        (
            "418 with Retry-After 1e400",
            _http("binance-http", "balance", 418, {"code": -1003, "msg": "x"}, {"Retry-After": "1e400"}),
        ),
        # stall | binance: rate-limit header makes the client wait years
        (
            "429 with Retry-After 2**64",
            _http(
                "binance-http",
                "balance",
                429,
                {"code": -1003, "msg": "x"},
                {"Retry-After": "18446744073709551616"},
            ),
        ),
        # http-untyped | RecursionError at http.py (_request_once) / rest_client.py (parse_error_body)
    ],
)
def test_binance_http(why: str, case: Case) -> None:
    check("binance-http", case)


def test_binance_http_200_with_error_code_raises_rejection() -> None:
    # http-success-on-error: a 200 carrying {"code":-2011} is BinanceRejection, not an AccountInfo
    from adapters.binance_futures.errors import BinanceRejection
    from tests.fuzz.targets.http import FakeSession

    t = target("binance-http")
    body = msgspec.json.encode({"code": -2011, "msg": "Unknown order sent."})
    client = t.make_client(FakeSession([(200, body, {}, None)]), [])

    async def run() -> None:
        with pytest.raises(BinanceRejection) as info:
            await client.account(version=3)
        assert info.value.code == -2011

    asyncio.run(run())


@pytest.mark.parametrize(
    ("why", "case"),
    [
        # http-success-on-error | bingx: keepalive returned on an error envelope whose code is a string
        # http-untyped | OverflowError at bingx/http.py (block_all): Retry-After inf
        (
            "429 with Retry-After inf",
            _http("bingx-http", "open_orders", 429, {"code": 100410, "msg": "x"}, {"Retry-After": "inf"}),
        ),
        # http-untyped | ValueError at bingx/rate_limit.py (parse_expire_ms): Expire NaN with Remain 0
        (
            "Remain 0, Expire NaN",
            _http(
                "bingx-http",
                "cancel_order",
                200,
                {"code": 0, "msg": "", "data": {}},
                {"X-RateLimit-Requests-Remain": "0", "X-RateLimit-Requests-Expire": "nan"},
            ),
        ),
        # http-untyped | RecursionError at schemas.py (decode_envelope) / http.py (create_listen_key)
        # http-untyped | ValidationError at bingx/schemas_rest.py (decode_data): listenKey data, wrong type
        ("listenKey data 7", _http("bingx-http", "create_listen_key", 200, {"code": 0, "data": 7})),
    ],
)
def test_bingx_http(why: str, case: Case) -> None:
    check("bingx-http", case)


# ==================================================================================================
# Every reproducer the fuzzer saved (minimized), replayed as found
# ==================================================================================================

REGRESSIONS: list[dict[str, Any]] = json.loads((REPO / "tests" / "fuzz" / "regressions.json").read_text())
_RESULTS: dict[str, list[list[str]]] = {}


def _replayed(target_name: str) -> list[list[str]]:
    """Every pinned case of a target, replayed in one child process (each case in a forked executor)."""
    if target_name not in _RESULTS:
        cases = [r["case"] for r in REGRESSIONS if r["target"] == target_name]
        proc = subprocess.run(
            [sys.executable, "-m", "tests.fuzz.replay", target_name],
            input=json.dumps(cases),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        _RESULTS[target_name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return _RESULTS[target_name]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("reg", REGRESSIONS, ids=[r["id"] for r in REGRESSIONS])
def test_fuzz_reproducer(reg: dict[str, Any]) -> None:
    """The saved input must now have its defined outcome: the process lives, nothing escapes, the
    frame is rejected and counted (or the value is read exactly), the book is not SYNCED and stale,
    the dispatcher keeps running, the HTTP call raises the typed error."""
    same = [r for r in REGRESSIONS if r["target"] == reg["target"]]
    result = _replayed(reg["target"])[same.index(reg)]
    assert result == [], f"{reg['kind']} {reg['where']}: {reg['detail']} -> still: {result}"
