"""User-data stream targets: Binance ``UserStreamHandler.handle_frame`` and BingX
``BingxUserStreamHandler.handle_frame`` (gzip frames) plus ``ping_reply``.

Each case runs on a fresh handler wired as the exec client wires it (tracker, ``OrderFacts``, the
instrument lookup), whose sink builds the real NautilusTrader events (:mod:`tests.fuzz.sinks`):

1. the order's ``NEW`` (well-formed) is fed, so the order is live and accepted;
2. the mutated frame is fed: nothing may escape; every fill it produces is compared with the strict
   reading of the frame's fields; a frame whose fill fields are all valid must produce its fill or
   be counted (malformed / failed / overfill / fetched);
3. for a fill seed the original frame is replayed: its fill must reach the engine exactly once
   (a fill rejected in step 2 must not be dropped now as a duplicate).
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import tracemalloc
import zlib
from decimal import Context, Decimal
from typing import Any

from tests.fuzz import mutate, strict
from tests.fuzz.base import FIXTURES, RESOURCE, WRONG_VALUE, Case, Finding, Target, escape_finding
from tests.fuzz.sinks import TS_INIT, RealSink
from tests.fuzz.targets.values import MISSING, absolute_checks, classify, compare_fill, field, lost

_LOG = logging.getLogger("tests.fuzz.user")
_MIB = 1 << 20


def _load_seeds(folder: str, skip_prefix: str = "http_") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in sorted((FIXTURES / folder).glob("*.json")):
        if not p.name.startswith(skip_prefix):
            out[p.stem] = json.loads(p.read_text())
    return out


def _counts(*objs: Any, names: tuple[str, ...]) -> int:
    """The sum of the named integer counters the objects have (a method of the same name, such as
    ``OrderFacts.rejected``, is not a counter)."""
    return sum(v for o in objs for n in names if isinstance(v := getattr(o, n, 0), int))


# ==================================================================================================
# Binance
# ==================================================================================================

BINANCE_CID = "O-20250101-000000-001-001-1"
BINANCE_ALGO_CID = "O-20250101-000000-001-001-2"
BINANCE_FILL_SEEDS = ("order_trade_update_trade", "order_trade_update_filled_bnb_fee")


class BinanceUserTarget(Target):
    name = "binance-user"
    description = "Binance USD-M user stream: UserStreamHandler.handle_frame with a real-object sink"
    weight = 1.4

    def setup(self) -> None:
        from nautilus_trader.model.currencies import USDT
        from nautilus_trader.model.identifiers import InstrumentId

        from adapters.core.client.exec_client import InstrumentInfo

        self.seeds = _load_seeds("binance_futures")
        eth = InstrumentId.from_str("ETHUSDT-PERP.BINANCE")
        btc = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
        self.instruments = {
            "ETHUSDT": InstrumentInfo(eth, 2, 3, USDT),
            "BTCUSDT": InstrumentInfo(btc, 2, 3, USDT),
        }
        self.new_frame = (FIXTURES / "binance_futures" / "order_trade_update_new.json").read_bytes()

    # -- cases --------------------------------------------------------------------------------------
    def random_case(self, rng: random.Random) -> Case:
        seed = rng.choice(list(self.seeds))
        if rng.random() < 0.5:
            seed = rng.choice(BINANCE_FILL_SEEDS)  # fills are where money is lost
        doc = self.seeds[seed]
        return {"seed": seed, "wrap": rng.random() < 0.1, "ops": mutate.random_ops(rng, doc)}

    def hypothesis_case(self) -> Any:
        from hypothesis import strategies as st

        def for_seed(seed: str) -> Any:
            return mutate.hypothesis_ops(self.seeds[seed]).map(
                lambda ops: {"seed": seed, "wrap": False, "ops": ops}
            )

        fill = st.sampled_from(BINANCE_FILL_SEEDS).flatmap(for_seed)
        other = st.sampled_from(sorted(self.seeds)).flatmap(for_seed)
        return st.one_of(fill, other)

    def frame_bytes(self, case: Case) -> bytes:
        doc = mutate.apply_doc_ops(self.seeds[case["seed"]], case["ops"])
        if case.get("wrap"):
            doc = {"stream": "listenkey", "data": doc}
        return mutate.apply_byte_ops(mutate.dumps(doc), case["ops"])

    # -- wiring -------------------------------------------------------------------------------------
    def make_handler(self) -> tuple[Any, RealSink, Any]:
        from nautilus_trader.model.enums import OrderSide, OrderType
        from nautilus_trader.model.identifiers import (
            AccountId,
            ClientId,
            ClientOrderId,
            PositionId,
            StrategyId,
        )

        from adapters.binance_futures.user_events import UserStreamHandler
        from adapters.core.orders.order_facts import OrderFacts
        from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder

        account = AccountId("BINANCE-USDT_FUTURES-master")
        sink = RealSink(account)
        tracker = OrderTracker()
        facts = OrderFacts(tracker, sink, treat_expired_as_canceled=False, request_fills=lambda order: None)
        eth = self.instruments["ETHUSDT"].instrument_id
        for cid, side, otype, qty, px in (
            (BINANCE_CID, OrderSide.SELL, OrderType.LIMIT, "0.250", "3150.10"),
            (BINANCE_ALGO_CID, OrderSide.BUY, OrderType.STOP_MARKET, "0.300", None),
        ):
            tracker.track(
                TrackedOrder(
                    client_order_id=ClientOrderId(cid),
                    strategy_id=StrategyId("S-001"),
                    instrument_id=eth,
                    symbol="ETHUSDT",
                    side=side,
                    order_type=otype,
                    is_algo=otype is not OrderType.LIMIT,
                    quantity=Decimal(qty),
                    price=Decimal(px) if px else None,
                )
            )

        def position_id(iid: Any, side: str | None) -> Any:
            return PositionId(f"{iid}-{side}") if side in ("LONG", "SHORT") else None

        handler = UserStreamHandler(
            facts=facts,
            sink=sink,
            client_id=ClientId("BINANCE"),
            account_id=account,
            instruments=self.instruments.__getitem__,
            adopt=lambda cid, venue_id: None,
            position_id=position_id,
            clock_ns=lambda: TS_INIT,
            on_listen_key_expired=lambda reason: None,
            treat_expired_as_canceled=False,
            logger=_LOG,
        )
        return handler, sink, facts

    # -- oracle -------------------------------------------------------------------------------------
    def execute(self, case: Case) -> list[Finding]:
        findings: list[Finding] = []
        handler, sink, facts = self.make_handler()
        seed = case["seed"]
        frame = self.frame_bytes(case)
        original = mutate.dumps(self.seeds[seed])
        handler.handle_frame(self.new_frame)

        def counted() -> int:
            names = ("malformed", "errors", "rejected", "unknown", "overfills", "duplicates_dropped")
            return _counts(handler, facts, names=names)

        before, n_fills = counted(), len(sink.fills)
        try:
            handler.handle_frame(frame)
        except Exception as exc:
            return [escape_finding(exc, "UserStreamHandler.handle_frame")]
        new_fills = sink.fills[n_fills:]

        doc = strict.loads(frame)
        if isinstance(doc, dict) and case.get("wrap"):
            doc = doc.get("data")
        reading = _binance_fill_reading(doc) if doc is not strict.INVALID else None
        if reading is not None:
            wire, problems = reading
            for f in new_fills:
                findings += compare_fill(f, wire, "binance")
            if not problems and not new_fills and counted() == before:
                findings.append(lost("binance", "valid fill neither emitted nor counted"))
        else:
            findings += absolute_checks(new_fills, "binance")
        findings += self._check_accounts(doc, sink)

        if seed in BINANCE_FILL_SEEDS:
            try:
                handler.handle_frame(original)
            except Exception as exc:
                return [*findings, escape_finding(exc, "UserStreamHandler.handle_frame (replay)")]
            tid = str(self.seeds[seed]["o"]["t"])
            same_tid = [f for f in sink.fills if f.trade_id == tid]
            mutated_tid = reading is not None and strict.integer(reading[0].get("trade_id")) == int(tid)
            if not same_tid and facts.overfills == 0:
                why = (
                    "well-formed replay dropped as a duplicate after the mutated frame was rejected"
                    if facts.duplicates_dropped
                    else "well-formed replay not emitted"
                )
                findings.append(lost("binance", why))
            elif len(same_tid) > 1 and not mutated_tid:
                findings.append(Finding(WRONG_VALUE, "binance: one trade id emitted twice", str(same_tid)))
        return findings

    def _check_accounts(self, doc: Any, sink: RealSink) -> list[Finding]:
        out: list[Finding] = []
        if not sink.accounts or not isinstance(doc, dict):
            return out
        wire = (
            {b.get("a"): b for b in (field(field(doc, "a"), "B") or []) if isinstance(b, dict)}
            if isinstance(field(field(doc, "a"), "B"), list)
            else {}
        )
        for state in sink.accounts:
            for bal in state.balances:
                code = bal.currency.code
                entry = wire.get(code)
                if entry is None:
                    continue
                wb = field(entry, "wb")
                cls = classify(wb, positive=False)
                if cls != "valid":
                    out.append(
                        Finding(
                            WRONG_VALUE,
                            f"binance: balance believed from a {cls} wallet balance",
                            f"wb={wb!r:.60} -> total {bal.total}",
                        )
                    )
                elif bal.total.as_decimal() != _at_currency_precision(
                    Decimal(wb), bal.total.currency.precision
                ):
                    out.append(
                        Finding(
                            WRONG_VALUE,
                            "binance: balance differs from the wire",
                            f"wb={wb!r:.60} -> {bal.total}",
                        )
                    )
        return out


def _at_currency_precision(d: Decimal, precision: int) -> Decimal:
    """What Money can hold: the currency's precision, rounded half-even (digits below it are rounded,
    as adapters.core.parse.decimal_parse.parse_money documents; anything coarser must be exact)."""
    return d.quantize(Decimal(1).scaleb(-precision), context=Context(prec=80))


def _binance_fill_reading(doc: Any) -> tuple[dict[str, Any], list[str]] | None:
    """(wire fill fields, problems) when the frame is an ORDER_TRADE_UPDATE execution, else None."""
    if field(doc, "e") != "ORDER_TRADE_UPDATE":
        return None
    o = field(doc, "o")
    if field(o, "x") not in ("TRADE", "CALCULATED"):
        return None
    wire = {
        "qty": field(o, "l"),
        "px": field(o, "L"),
        "trade_id": field(o, "t"),
        "ts": field(o, "T"),
        "commission": field(o, "n"),
    }
    problems = []
    if classify(wire["qty"], limit=strict.QUANTITY_MAX) != "valid":
        problems.append("l")
    if classify(wire["px"], limit=strict.PRICE_MAX) != "valid":
        problems.append("L")
    for key in ("trade_id", "ts"):
        v = strict.integer(wire[key]) if wire[key] is not MISSING else None
        if v is None or not 0 < v < 2**63:
            problems.append(key)
    if field(o, "c") != BINANCE_CID or field(o, "s") != "ETHUSDT":
        problems.append("c/s")
    i = strict.integer(field(o, "i"))
    if i is None or not 0 < i < 2**63:
        problems.append("i")
    for key in ("z", "q"):
        if classify(field(o, key), positive=False) != "valid":
            problems.append(key)
    if wire["commission"] not in (MISSING, None) and strict.decimal(wire["commission"]) is None:
        problems.append("n")
    n_asset = field(o, "N")
    if n_asset not in (MISSING, None) and not (
        isinstance(n_asset, str) and n_asset.isascii() and n_asset.isalnum()
    ):
        problems.append("N")
    for key in ("S", "o", "X", "s", "c"):
        if not isinstance(field(o, key), str):
            problems.append(key)
    if strict.integer(field(doc, "E")) is None:
        problems.append("E")
    for key, typ in (("m", bool), ("R", bool)):
        v = field(o, key)
        if v is not MISSING and not isinstance(v, typ):
            problems.append(key)
    return wire, problems


# ==================================================================================================
# BingX
# ==================================================================================================

BINGX_CID = "my-order-7"
BINGX_FILL_SEEDS = ("order_trade_update_partial",)
BOMB_LIMIT = 16 * _MIB


class BingxUserTarget(Target):
    name = "bingx-user"
    description = "BingX user stream: BingxUserStreamHandler.handle_frame (gzip) and ping_reply"
    weight = 1.2

    def setup(self) -> None:
        from nautilus_trader.model.currencies import USDT
        from nautilus_trader.model.identifiers import InstrumentId

        from adapters.core.client.exec_client import InstrumentInfo

        self.seeds = _load_seeds("bingx")
        self.seeds = {k: v for k, v in self.seeds.items() if isinstance(v, dict) and "e" in v}
        self.seeds["ping"] = "Ping"
        self.iid = InstrumentId.from_str("BTC-USDT-PERP.BINGX")
        self.info = InstrumentInfo(self.iid, 1, 4, USDT)
        new = json.loads(json.dumps(self.seeds["order_trade_update_partial"]))
        new["o"].update({"x": "NEW", "X": "NEW", "z": "0", "n": "0"})
        for k in ("l", "L", "td", "tv"):
            new["o"].pop(k, None)
        self.new_frame = gzip.compress(mutate.dumps(new), mtime=0)

    def random_case(self, rng: random.Random) -> Case:
        seed = rng.choice(list(self.seeds))
        if rng.random() < 0.45:
            seed = "order_trade_update_partial"
        doc = self.seeds[seed]
        if seed == "ping":
            ops = [mutate.random_byte_op(rng)] if rng.random() < 0.5 else []
            return {"seed": seed, "ops": ops + [mutate.random_framing_op(rng)] * (rng.random() < 0.5)}
        return {"seed": seed, "ops": mutate.random_ops(rng, doc, framing=True)}

    def hypothesis_case(self) -> Any:
        from hypothesis import strategies as st

        seeds = sorted(k for k in self.seeds if k != "ping")
        return st.sampled_from(seeds).flatmap(
            lambda s: mutate.hypothesis_ops(self.seeds[s], framing=True).map(
                lambda ops: {"seed": s, "ops": ops}
            )
        )

    def frame_bytes(self, case: Case) -> bytes:
        seed = case["seed"]
        if seed == "ping":
            data = mutate.apply_byte_ops(b"Ping", case["ops"])
            return mutate.apply_framing(data, case["ops"])
        return mutate.build(self.seeds[seed], case["ops"], framing=True)

    def make_handler(self) -> tuple[Any, RealSink, Any]:
        from nautilus_trader.model.enums import OrderSide, OrderType
        from nautilus_trader.model.identifiers import AccountId, ClientId, ClientOrderId, StrategyId

        from adapters.bingx.user_events import BingxUserStreamHandler, OrderIndex
        from adapters.core.orders.order_facts import OrderFacts
        from adapters.core.orders.order_tracking import OrderTracker, TrackedOrder

        account = AccountId("BINGX-SWAP")
        sink = RealSink(account)
        tracker = OrderTracker()
        index = OrderIndex(tracker)
        facts = OrderFacts(tracker, sink, treat_expired_as_canceled=False, request_fills=lambda o: None)
        self.fetches: list[Any] = []
        handler = BingxUserStreamHandler(
            facts=facts,
            index=index,
            sink=sink,
            client_id=ClientId("BINGX"),
            account_id=account,
            instruments=lambda s: self.info,
            adopt=lambda cid, venue_id: None,
            position_id=lambda iid, ps: None,
            clock_ns=lambda: TS_INIT,
            on_listen_key_expired=lambda reason: None,
            fetch_fills=lambda order, symbol, oid: self.fetches.append((symbol, oid)),
            treat_expired_as_canceled=False,
            fee_rates=lambda s: (Decimal("0.0002"), Decimal("0.0005")),
            logger=_LOG,
        )
        index.register(
            TrackedOrder(
                client_order_id=ClientOrderId(BINGX_CID),
                strategy_id=StrategyId("S-001"),
                instrument_id=self.iid,
                symbol="BTC-USDT",
                side=OrderSide.SELL,
                order_type=OrderType.LIMIT,
                is_algo=False,
                quantity=Decimal("0.003"),
                price=Decimal("112848.1"),
            )
        )
        return handler, sink, facts

    def execute(self, case: Case) -> list[Finding]:
        from adapters.bingx.user_stream import ping_reply

        findings: list[Finding] = []
        frame = self.frame_bytes(case)
        bomb = any(op["op"] == "gzip_bomb" for op in case["ops"])
        payload = _strict_gunzip(frame)

        try:
            reply = ping_reply(frame)
        except Exception as exc:
            findings.append(escape_finding(exc, "ping_reply"))
            reply = None
        concat = any(op["op"] == "gzip_concat" for op in case["ops"])
        if reply is not None and not concat and (payload is None or payload.strip() != b"Ping"):
            findings.append(
                Finding(WRONG_VALUE, "bingx: ping_reply answered a frame that is not Ping", repr(frame[:60]))
            )
        if case["seed"] == "ping" and payload is not None and payload.strip() == b"Ping" and reply is None:
            findings.append(Finding(WRONG_VALUE, "bingx: ping_reply ignored a valid Ping", repr(frame[:60])))

        handler, sink, facts = self.make_handler()
        handler.handle_frame(self.new_frame)

        def counted() -> int:
            return _counts(
                handler,
                facts,
                names=(
                    "malformed",
                    "errors",
                    "rejected",
                    "unknown",
                    "overfills",
                    "duplicates_dropped",
                    "missing_last_fill",
                ),
            )

        before, n_fills = counted(), len(sink.fills)
        if bomb:
            tracemalloc.start()
        try:
            handler.handle_frame(frame)
        except Exception as exc:
            return [*findings, escape_finding(exc, "BingxUserStreamHandler.handle_frame")]
        finally:
            if bomb:
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                if peak > BOMB_LIMIT:
                    findings.append(
                        Finding(
                            RESOURCE,
                            "bingx: gzip frame inflated without a size limit",
                            f"{len(frame)} byte frame -> {peak // _MIB} MiB allocated",
                        )
                    )
        new_fills = sink.fills[n_fills:]
        doc = strict.loads(payload) if payload is not None else strict.INVALID
        reading = _bingx_fill_reading(doc) if doc is not strict.INVALID else None
        if reading is not None:
            wire, problems = reading
            for f in new_fills:
                findings += compare_fill(f, wire, "bingx", json_numbers=True, commission_abs=True)
            if not problems and not new_fills and counted() == before:
                findings.append(lost("bingx", "valid fill neither emitted nor counted"))
        else:
            findings += absolute_checks(new_fills, "bingx")

        if case["seed"] in BINGX_FILL_SEEDS:
            try:
                handler.handle_frame(gzip.compress(mutate.dumps(self.seeds[case["seed"]]), mtime=0))
            except Exception as exc:
                return [*findings, escape_finding(exc, "BingxUserStreamHandler.handle_frame (replay)")]
            tid = str(self.seeds[case["seed"]]["o"]["td"])
            same_tid = [f for f in sink.fills if f.trade_id == tid]
            if not same_tid and facts.overfills == 0:
                why = (
                    "well-formed replay dropped as a duplicate after the mutated frame was rejected"
                    if facts.duplicates_dropped
                    else "well-formed replay not emitted"
                )
                findings.append(lost("bingx", why))
        return findings


def _strict_gunzip(frame: bytes) -> bytes | None:
    """The payload a strict reader sees: gzip (bounded) or plain text; None when unreadable."""
    if frame[:2] != b"\x1f\x8b":
        return frame
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(frame, BOMB_LIMIT)
        if d.unconsumed_tail or not d.eof or d.unused_data:
            return None
        return out
    except zlib.error:
        return None


def _bingx_fill_reading(doc: Any) -> tuple[dict[str, Any], list[str]] | None:
    if field(doc, "e") not in ("ORDER_TRADE_UPDATE", "TRADE_UPDATE"):
        return None
    o = field(doc, "o")
    if field(o, "x") not in ("TRADE", "CALCULATED"):
        return None
    tid = field(o, "t")
    if tid in (MISSING, None, "", 0):
        tid = field(o, "td")
    wire = {
        "qty": field(o, "l"),
        "px": field(o, "L"),
        "trade_id": tid,
        "ts": field(o, "T"),
        "commission": field(o, "n"),
    }
    problems = []
    if classify(wire["qty"], json_numbers=True, limit=strict.QUANTITY_MAX) != "valid":
        problems.append("l")
    if classify(wire["px"], json_numbers=True, limit=strict.PRICE_MAX) != "valid":
        problems.append("L")
    for key in ("trade_id", "ts"):
        v = strict.integer(wire[key]) if wire[key] is not MISSING else None
        if v is None or not 0 < v < 2**63:
            problems.append(key)
    if field(o, "c") != BINGX_CID or field(o, "s") != "BTC-USDT":
        problems.append("c/s")
    i = strict.integer(field(o, "i"))
    if i is None or not 0 < i < 2**63:
        problems.append("i")
    if classify(field(o, "z"), json_numbers=True, positive=False) not in ("valid", "missing"):
        problems.append("z")
    if (
        wire["commission"] not in (MISSING, None)
        and strict.decimal(wire["commission"], json_numbers=True) is None
    ):
        problems.append("n")
    n_asset = field(o, "N")
    if n_asset not in (MISSING, None) and not (
        isinstance(n_asset, str) and n_asset.isascii() and n_asset.isalnum()
    ):
        problems.append("N")
    for key in ("S", "o", "X"):
        if not isinstance(field(o, key), str | type(MISSING)):
            problems.append(key)
    if field(doc, "E") is not MISSING and strict.integer(field(doc, "E")) is None:
        problems.append("E")
    return wire, problems
