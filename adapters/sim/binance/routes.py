"""Which Binance USD-M websocket route serves what, as the venue does since its 2026 base-URL split.

Routes are path prefixes on the stream host: ``/public``, ``/market`` and ``/private``, each with a
``/ws`` (names in the path) and a ``/stream`` (names in the query, frames wrapped) mode. The legacy
unrouted paths (``/ws``, ``/stream`` on the host root) are :data:`ROOT`.

What this module relies on (read 2026-12):

* Binance, "Important WebSocket Change Notice — Base URL Split & Migration"
  (developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams/
  Important-WebSocket-Change-Notice): the stream-to-route mapping below (public: ``<s>@bookTicker``,
  ``!bookTicker``, ``<s>@depth<levels>``, ``<s>@depth`` with ``@100ms``/``@500ms``; market: aggTrade,
  markPrice, ``!markPrice@arr``, kline, continuousKline, miniTicker, ticker, forceOrder,
  compositeIndex, ``!contractInfo``, assetIndex); private: ``/private/ws?listenKey=<k>&events=A/B`` and
  ``/private/stream?listenKey=<k1>&events=A&listenKey=<k2>&events=B``; "Ensure each stream is
  subscribed via the correct endpoint category"; legacy URLs retired 2026-04-23, after which "any
  connections not migrated will ONLY be able to receive data from wss://fstream.binance.com/public.
  Channels under /market and /private will stop pushing data" (``/ws/btcusdt@depth`` keeps working,
  ``/ws/btcusdt@markPrice`` does not).
* Binance CaaS "Market Data Streams" page: "A connection with no routed path only receives /public
  data ... btcusdt@markPrice belongs to /market and will not deliver. This fails silently rather than
  erroring."
* Not in the notice's excerpt, so taken from users' measurements: ``<s>@trade`` (and ``rpiDepth``)
  are public — ccxt routes them there (ccxt/ccxt#28083, maintainer's comment of 2026-08-01), and
  binance/binance-public-data#472 and BYTEX-TRADE/bytex#7 saw ``@trade`` deliver on the unrouted
  path (i.e. the public route) while aggTrade/kline/markPrice did not. Users also report that a
  SUBSCRIBE of another route's stream is acknowledged (``{"result": null}``) and then never delivers,
  which is what "fails silently" means here; and that ``events=`` is an allow list (an event not
  named, ``listenKeyExpired`` included, is not pushed; without ``events`` everything is).

So a stream asked on the wrong route, and everything but public streams on a legacy root path, is
accepted (handshake 101, SUBSCRIBE acknowledged, listed) and then silent — never an error. With
``legacy_urls`` every route serves everything again (the simulator before the split).
"""

from __future__ import annotations

from typing import Final, Literal

Route = Literal["", "/public", "/market", "/private"]
Category = Literal["public", "market"]

ROOT: Final[Route] = ""
PUBLIC: Final[Route] = "/public"
MARKET: Final[Route] = "/market"
PRIVATE: Final[Route] = "/private"
ROUTES: Final[tuple[Route, ...]] = (ROOT, PUBLIC, MARKET, PRIVATE)

# Channel heads of the public (high-frequency) category; everything else with an "@" is market.
_PUBLIC_CHANNELS: Final = ("bookTicker", "depth", "rpiDepth")
_PUBLIC_EXACT: Final = frozenset({"trade"})
_PUBLIC_ALL_MARKET: Final = frozenset({"!bookTicker"})


def route_of(path: str) -> Route:
    """``/public/stream`` -> ``/public``; ``/ws/x`` and ``/stream`` -> :data:`ROOT`."""
    for route in (PUBLIC, MARKET, PRIVATE):
        if path == route or path.startswith(route + "/"):
            return route
    return ROOT


def stream_category(name: str) -> Category:
    """The route category of a market stream name (``btcusdt@depth@100ms`` -> ``"public"``)."""
    if name.startswith("!"):
        return "public" if name in _PUBLIC_ALL_MARKET else "market"
    channel = name.partition("@")[2]
    if channel in _PUBLIC_EXACT or channel.startswith(_PUBLIC_CHANNELS):
        return "public"
    return "market"


def serves_stream(route: Route, name: str, *, legacy_urls: bool) -> bool:
    """Whether a socket on ``route`` receives the frames of market stream ``name``."""
    if legacy_urls:
        return True
    category = stream_category(name)
    if route in (ROOT, PUBLIC):
        return category == "public"
    return route == MARKET and category == "market"


def serves_user_data(route: Route, *, legacy_urls: bool) -> bool:
    """Whether listen keys named on ``route`` bind the socket to their user data."""
    return route == PRIVATE or legacy_urls


def parse_events(value: str | None) -> frozenset[str] | None:
    """``ORDER_TRADE_UPDATE/ACCOUNT_UPDATE`` -> that set; absent or empty -> None (every event)."""
    if not value:
        return None
    names = frozenset(n for n in value.split("/") if n)
    return names or None


def private_subscriptions(query: list[tuple[str, str]]) -> list[tuple[str, frozenset[str] | None]]:
    """The ``(listenKey, events)`` pairs of a private URL's query, in order.

    Each ``events`` applies to the ``listenKey`` just before it (``?listenKey=a&events=X&listenKey=b``:
    ``a`` gets X, ``b`` everything); an ``events`` before any key applies to the next key.
    """
    out: list[tuple[str, frozenset[str] | None]] = []
    has_events: list[bool] = []
    pending: frozenset[str] | None = None
    for name, value in query:
        if name == "listenKey":
            if value:
                out.append((value, pending))
                has_events.append(pending is not None)
                pending = None
        elif name == "events":
            events = parse_events(value)
            if out and not has_events[-1]:
                out[-1] = (out[-1][0], events)
                has_events[-1] = True
            else:
                pending = events
    return out
