"""Benchmark storms: frames pushed at a fixed rate to the sockets subscribed right now, with the
time each frame was handed to its socket (``POST /sim/bench/storm``, used by ``make bench``).

The frames are the venue's own wire format, exactly what a client parses for real traffic; only
one field varies so that the receiver can name each frame without a side channel the adapter
would not parse anyway:

* ``quotes`` (Binance ``<sym>@bookTicker``, BingX ``<SYM>@bookTicker``): the best bid's size is
  ``seq`` lots (``seq * step_size``); prices are the book's current top.
* ``trades`` (``@aggTrade`` / BingX ``@trade``): the trade size is ``seq`` lots (Binance also gets
  a fresh aggregate trade id).
* ``depth`` (Binance diff streams ``<sym>@depth[@Xms]``, BingX ``@incrDepth``): one bid level ten
  ticks under the best bid gets ``seq`` lots; the ``U``/``u``/``pu`` (BingX ``lastUpdateId``)
  chain continues the venue's, and the engine's book and the stream mirror are moved along, so a
  REST snapshot taken later agrees with the diffs sent (the book stays provably in sync).
* ``fills`` (user stream ``ORDER_TRADE_UPDATE``): a partial fill of one lot of a resting order of
  the account, with trade id ``first_key + seq - 1``.

Frames are rendered before the clock starts (the simulator's rendering is not on the measured
path), then written straight to each socket with ``send_str``/``send_bytes`` (which only waits
when the socket's buffer is full: a receiver that falls behind slows the storm down, as TCP
would) and stamped with ``time.time_ns()`` just before the write. The answer lists the stamps in
``seq`` order; CLOCK_REALTIME is shared by the processes of one machine, so the receiver's own
``time.time_ns()`` in its handler gives the latency.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec

from adapters.sim.faults import LiveConnection

if TYPE_CHECKING:
    from adapters.sim.server import SimVenue

KINDS = ("quotes", "trades", "depth", "fills")


class StormBody(msgspec.Struct, forbid_unknown_fields=True):
    kind: str
    symbol: str
    rate: int
    seconds: float
    client_order_id: str = ""
    order_id: int = 0
    price: str = "0"
    quantity: str = "0"


def _fixed(d: Decimal, places: int) -> str:
    return f"{d:.{max(places, 0)}f}"


class StormDriver:
    """Renders and sends the storms of one ``SimVenue``."""

    def __init__(self, sim: SimVenue) -> None:
        self.sim = sim
        self.next_trade_id = 900_000_000
        self.next_agg_id = 700_000_000

    # --- targets -------------------------------------------------------------------------------
    def _market_targets(self, body: StormBody) -> list[tuple[LiveConnection, bool, str]]:
        sim = self.sim
        if sim.binance is not None:
            market = sim.binance.market
            sym = body.symbol.lower()
            if body.kind == "quotes":
                names = [sym + "@bookTicker"]
            elif body.kind == "trades":
                names = [sym + "@aggTrade"]
            else:
                names = [n for n in market._subs if n.startswith(sym + "@depth") and n[len(sym) :] in _DIFFS]
            out: list[tuple[LiveConnection, bool, str]] = []
            for name in names:
                for conn in market._subs.get(name, ()):
                    info = market._sockets.get(conn)
                    if info is not None and name not in info.silent:
                        out.append((conn, info.combined, name))
            return out
        assert sim.bingx is not None
        kind = {"quotes": "bookTicker", "trades": "trade", "depth": "incrDepth"}[body.kind]
        name = f"{body.symbol}@{kind}"
        return [(conn, False, name) for conn in sim.bingx.market._subs.get(name, ())]

    def _user_targets(self) -> list[tuple[LiveConnection, bool, str]]:
        sim = self.sim
        user = sim.dialect.user
        out: list[tuple[LiveConnection, bool, str]] = []
        for lk in user.keys.active_keys_for(sim.account_id):
            if not lk.active:
                continue
            for conn in lk.sockets:
                info = user._sockets.get(conn)
                if info is None:
                    continue
                allowed = info.events.get(lk.key)
                if allowed is not None and "ORDER_TRADE_UPDATE" not in allowed:
                    continue
                out.append((conn, info.combined, lk.key))
        return out

    # --- rendering -----------------------------------------------------------------------------
    def _render(self, body: StormBody, n: int) -> tuple[list[list[str | bytes]], list[LiveConnection], int]:
        """Frames per target connection (``frames[i][c]``), the connections, the first key."""
        sim = self.sim
        engine = sim.engine
        market = engine._markets[body.symbol]
        spec = market.spec
        qp, pp = spec.quantity_precision, spec.price_precision
        step = spec.step_size
        now_ms = int(time.time() * 1000)
        period_ms = 1000.0 / body.rate
        frames: list[list[str | bytes]] = []
        first_key = 1
        if body.kind == "fills":
            targets = self._user_targets()
            conns = [c for c, _, _ in targets]
            if not conns:
                return frames, conns, first_key
            first_key = self.next_trade_id
            self.next_trade_id += n
            for i in range(n):
                t_ms = now_ms + int(i * period_ms)
                fill = (
                    self._binance_fill(body, first_key + i, i + 1, t_ms)
                    if sim.binance is not None
                    else self._bingx_fill(body, first_key + i, i + 1, t_ms)
                )
                frames.append([sim.dialect.user._render(fill, key, comb) for _, comb, key in targets])
            return frames, conns, first_key
        mtargets = self._market_targets(body)
        conns = [c for c, _, _ in mtargets]
        if not conns:
            return frames, conns, first_key
        best_bid = market.px(max(market.bids)) if market.bids else spec.initial_price
        best_ask = market.px(min(market.asks)) if market.asks else spec.initial_price + spec.tick_size
        bid_s, ask_s = _fixed(best_bid, pp), _fixed(best_ask, pp)
        if body.kind == "depth":
            level_ticks = market.to_ticks(best_bid) - 10
            level_px = _fixed(market.px(level_ticks), pp)
        for i in range(n):
            seq = i + 1
            t_ms = now_ms + int(i * period_ms)
            qty = _fixed(step * seq, qp)
            if sim.binance is not None:
                sym = body.symbol
                if body.kind == "quotes":
                    payload: dict[str, Any] = {
                        "e": "bookTicker", "u": market.update_id, "s": sym, "b": bid_s, "B": qty,
                        "a": ask_s, "A": _fixed(step * 1000, qp), "T": t_ms, "E": t_ms,
                    }  # fmt: skip
                elif body.kind == "trades":
                    self.next_agg_id += 1
                    self.next_trade_id += 1
                    payload = {
                        "e": "aggTrade", "E": t_ms, "a": self.next_agg_id, "s": sym, "p": bid_s, "q": qty,
                        "f": self.next_trade_id, "l": self.next_trade_id, "T": t_ms, "m": seq % 2 == 0,
                    }  # fmt: skip
                else:
                    prev = market.update_id
                    market.update_id = prev + 1
                    payload = {
                        "e": "depthUpdate", "E": t_ms, "T": t_ms, "s": sym, "U": prev + 1,
                        "u": prev + 1, "pu": prev, "b": [[level_px, qty]], "a": [],
                    }  # fmt: skip
                bare: str | None = None
                wrapped: dict[str, str] = {}
                row: list[str | bytes] = []
                for _, combined, stream in mtargets:
                    if combined:
                        if stream not in wrapped:
                            wrapped[stream] = msgspec.json.encode(
                                {"stream": stream, "data": payload}
                            ).decode()
                        row.append(wrapped[stream])
                    else:
                        if bare is None:
                            bare = msgspec.json.encode(payload).decode()
                        row.append(bare)
                frames.append(row)
            else:
                from adapters.sim.bingx import wire as bwire

                bx = sim.bingx
                assert bx is not None
                sym = body.symbol
                if body.kind == "quotes":
                    data: Any = {
                        "e": "bookTicker", "u": market.update_id, "E": t_ms, "T": t_ms, "s": sym,
                        "b": bid_s, "B": qty, "a": ask_s, "A": _fixed(step * 1000, qp),
                    }  # fmt: skip
                    frame: dict[str, Any] = {"code": 0, "dataType": mtargets[0][2], "data": data}
                elif body.kind == "trades":
                    data = [{"q": qty, "p": bid_s, "T": t_ms, "m": seq % 2 == 0, "s": sym}]
                    frame = {"code": 0, "dataType": mtargets[0][2], "data": data}
                else:
                    bx.market.incr_ids[sym] = bx.market.incr_ids.get(sym, 0) + 1
                    data = {
                        "action": "update", "lastUpdateId": bx.market.incr_ids[sym], "time": t_ms,
                        "bids": [[level_px, qty]], "asks": [],
                    }  # fmt: skip
                    frame = {"code": 0, "dataType": mtargets[0][2], "data": data}
                gz = bwire.gz(frame)
                frames.append([gz] * len(mtargets))
        if body.kind == "depth" and n:
            # The venue's book moves with the diffs: a later snapshot agrees with what was sent.
            last_qty = step * n
            market.bids[level_ticks] = last_qty
            mirror_books = sim.binance.market.books if sim.binance is not None else sim.bingx.market.books  # type: ignore[union-attr]
            mirror = mirror_books.get(body.symbol)
            if mirror is not None:
                mirror.bids[market.px(level_ticks)] = last_qty
                if sim.binance is not None:
                    mirror.last_update_id = market.update_id
        return frames, conns, first_key

    def _binance_fill(self, body: StormBody, trade_id: int, seq: int, t_ms: int) -> dict[str, Any]:
        o = {
            "s": body.symbol, "c": body.client_order_id, "S": "BUY", "o": "LIMIT", "f": "GTC",
            "q": body.quantity, "p": body.price, "ap": body.price, "sp": "0", "x": "TRADE",
            "X": "PARTIALLY_FILLED", "i": body.order_id, "l": "1", "z": str(seq), "L": body.price,
            "N": "USDT", "n": "0.00000100", "T": t_ms, "t": trade_id, "b": "0", "a": "0", "m": True,
            "R": False, "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH", "cp": False, "rp": "0",
            "pP": False, "si": 0, "ss": 0, "V": "EXPIRE_TAKER", "pm": "NONE", "gtd": 0,
        }  # fmt: skip
        return {"e": "ORDER_TRADE_UPDATE", "E": t_ms, "T": t_ms, "o": o}

    def _bingx_fill(self, body: StormBody, trade_id: int, seq: int, t_ms: int) -> dict[str, Any]:
        o = {
            "s": body.symbol, "c": body.client_order_id, "i": body.order_id, "S": "BUY", "o": "LIMIT",
            "q": f"{Decimal(body.quantity):.8f}", "p": f"{Decimal(body.price):.8f}", "sp": "0.00000000",
            "ap": f"{Decimal(body.price):.8f}", "x": "TRADE", "X": "PARTIALLY_FILLED", "N": "USDT",
            "n": "-0.00000100", "T": t_ms, "wt": "MARK_PRICE", "ps": "BOTH", "rp": "0.00000000",
            "z": f"{seq:.8f}", "sg": "false", "ti": 0, "ro": False, "l": "1.00000000",
            "L": f"{Decimal(body.price):.8f}", "td": trade_id, "tv": f"{Decimal(body.price):.8f}",
        }  # fmt: skip
        return {"e": "ORDER_TRADE_UPDATE", "E": t_ms, "T": t_ms, "o": o}

    # --- sending -------------------------------------------------------------------------------
    async def storm(self, body: StormBody) -> dict[str, Any]:
        if body.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if body.rate <= 0 or not 0 < body.seconds <= 120:
            raise ValueError("rate > 0 and 0 < seconds <= 120")
        n = int(body.rate * body.seconds)
        frames, conns, first_key = self._render(body, n)
        if not conns:
            return {"ok": False, "error": f"no socket is subscribed to {body.kind} of {body.symbol}"}
        sends = [
            (c.ws.send_str if isinstance(frames[0][k], str) else c.ws.send_bytes) for k, c in enumerate(conns)
        ]
        stamps: list[int] = []
        clock = time.perf_counter
        start = clock()
        rate = body.rate
        i = 0
        try:
            while i < n:
                due = min(n, int(rate * (clock() - start)) + 1)
                while i < due:
                    row = frames[i]
                    stamps.append(time.time_ns())
                    for k, send in enumerate(sends):
                        await send(row[k])  # type: ignore[operator,arg-type]
                    i += 1
                await asyncio.sleep(0.0002)
        except (ConnectionError, RuntimeError) as exc:
            return {"ok": False, "error": f"socket failed after {i} frames: {exc!r}", "first_key": first_key}
        elapsed = clock() - start
        return {"ok": True, "first_key": first_key, "sent": n, "seconds": elapsed, "stamps": stamps}


_DIFFS = frozenset({"@depth", "@depth@0ms", "@depth@100ms", "@depth@250ms", "@depth@500ms"})


def add_storm_route(app: Any, driver: StormDriver) -> None:
    """``POST /sim/bench/storm`` (a :class:`StormBody`): answers when the storm has been sent."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        try:
            body = msgspec.json.decode(await request.read(), type=StormBody)
            result = await driver.storm(body)
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError, KeyError) as exc:
            result = {"ok": False, "error": str(exc)}
        return web.Response(body=msgspec.json.encode(result), content_type="application/json")

    app.router.add_route("POST", "/sim/bench/storm", handle)
