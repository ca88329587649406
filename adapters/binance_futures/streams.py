"""Binance USD-M market stream names (``btcusdt@depth@100ms``, ...). Pure string helpers.

Stream names use the lower-case venue symbol. The update speeds are the ones Binance documents for USD-M;
anything else is rejected here rather than silently subscribing to a stream that never sends.

Routes. Since Binance's 2026 base-URL split (legacy unrouted URLs retired 2026-04-23) every stream has
a route: ``/public`` carries the high-frequency book streams (``@bookTicker``, ``@depth...``) and, by
what users measured and ccxt routes (the notice's mapping does not list it), ``@trade``; ``/market``
carries everything else (aggTrade, markPrice, kline, ticker, ...). A stream subscribed on the wrong
route is acknowledged and never sends (:func:`stream_route`; sources in ``docs/testnet-and-live.md``).
"""

from __future__ import annotations

from typing import Final

# Binance kline intervals, in the venue's spelling (``1M`` is a month, ``1m`` a minute).
KLINE_INTERVALS: Final = (
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)
_KLINE_INTERVAL_SET: Final = frozenset(KLINE_INTERVALS)

PUBLIC_ROUTE: Final = "public"
MARKET_ROUTE: Final = "market"
_PUBLIC_CHANNEL_HEADS: Final = ("bookTicker", "depth", "rpiDepth")

DEPTH_SPEEDS_MS: Final = frozenset({100, 250, 500})  # 250 ms is the default (no suffix)
PARTIAL_DEPTH_LEVELS: Final = frozenset({5, 10, 20})


def _sym(symbol: str) -> str:
    if not symbol:
        raise ValueError("empty symbol")
    return symbol.lower()


def _speed_suffix(speed_ms: int) -> str:
    if speed_ms not in DEPTH_SPEEDS_MS:
        raise ValueError(f"depth update speed must be one of {sorted(DEPTH_SPEEDS_MS)} ms, was {speed_ms}")
    return "" if speed_ms == 250 else f"@{speed_ms}ms"


def book_ticker_stream(symbol: str) -> str:
    return f"{_sym(symbol)}@bookTicker"


def agg_trade_stream(symbol: str) -> str:
    return f"{_sym(symbol)}@aggTrade"


def trade_stream(symbol: str) -> str:
    return f"{_sym(symbol)}@trade"


def depth_diff_stream(symbol: str, speed_ms: int = 100) -> str:
    """Diff depth stream for a local book: ``btcusdt@depth@100ms`` (``btcusdt@depth`` for 250 ms)."""
    return f"{_sym(symbol)}@depth{_speed_suffix(speed_ms)}"


def partial_depth_stream(symbol: str, levels: int = 10, speed_ms: int = 100) -> str:
    """Top-N book stream: ``btcusdt@depth10@100ms``."""
    if levels not in PARTIAL_DEPTH_LEVELS:
        raise ValueError(f"partial depth levels must be one of {sorted(PARTIAL_DEPTH_LEVELS)}, was {levels}")
    return f"{_sym(symbol)}@depth{levels}{_speed_suffix(speed_ms)}"


def kline_stream(symbol: str, interval: str) -> str:
    """``btcusdt@kline_1m``."""
    if interval not in _KLINE_INTERVAL_SET:
        raise ValueError(f"unsupported kline interval {interval!r}; expected one of {KLINE_INTERVALS}")
    return f"{_sym(symbol)}@kline_{interval}"


def mark_price_stream(symbol: str, one_second: bool = True) -> str:
    """``btcusdt@markPrice@1s`` (or ``btcusdt@markPrice``, every 3 s)."""
    return f"{_sym(symbol)}@markPrice{'@1s' if one_second else ''}"


def stream_route(stream: str) -> str:
    """The route serving ``stream``: :data:`PUBLIC_ROUTE` (book streams, trade) or :data:`MARKET_ROUTE`."""
    if stream.startswith("!"):
        return PUBLIC_ROUTE if stream == "!bookTicker" else MARKET_ROUTE
    channel = stream.partition("@")[2]
    if channel == "trade" or channel.startswith(_PUBLIC_CHANNEL_HEADS):
        return PUBLIC_ROUTE
    return MARKET_ROUTE


def split_stream(stream: str) -> tuple[str, str]:
    """``btcusdt@depth@100ms`` -> ``("BTCUSDT", "depth@100ms")`` (venue symbol upper-cased, channel)."""
    symbol, sep, channel = stream.partition("@")
    if not sep or not symbol or symbol.startswith("!"):  # "!markPrice@arr" etc. are all-market streams
        raise ValueError(f"not a symbol stream: {stream!r}")
    return symbol.upper(), channel


def partial_depth_levels(channel: str) -> int | None:
    """``depth10@100ms`` -> 10; ``depth@100ms`` (a diff stream) or any other channel -> None."""
    if not channel.startswith("depth"):
        return None
    head = channel[5:].partition("@")[0]
    if head.isdigit() and int(head) in PARTIAL_DEPTH_LEVELS:
        return int(head)
    return None
