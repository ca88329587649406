"""Recording: a TradingNode takes market data from our data client (Binance USD-M or BingX) and
NautilusTrader's streaming writes it; afterwards it becomes a ParquetDataCatalog, together with the
instruments our provider built, ready for ``examples/backtest.py``.

    .venv/bin/python -m examples.record --catalog ./catalog                   # in-process simulator
    .venv/bin/python -m examples.record --catalog ./catalog --venue bingx
    .venv/bin/python -m examples.record --catalog ./catalog --info '<JSON>'   # `make sim`'s line

Recorded: quote ticks, trade ticks, order book deltas (L2) and 1-minute bars (closed klines only,
so a bar appears once a minute has passed), for the instruments given (default BTC).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import (
    ActorConfig,
    ImportableActorConfig,
    InstrumentProviderConfig,
    LoggingConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import Bar, BarType, OrderBookDelta, OrderBookDeltas, QuoteTick, TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.config import StreamingConfig

from adapters.binance_futures import (
    BINANCE,
    BinanceFuturesDataClientConfig,
    BinanceFuturesLiveDataClientFactory,
)
from adapters.bingx import BINGX, BingxDataClientConfig, BingxLiveDataClientFactory
from examples.nodes.common import run_until

RECORDED_TYPES = (QuoteTick, TradeTick, OrderBookDelta, Bar)
DEFAULT_INSTRUMENTS = {"binance-futures": "BTCUSDT-PERP.BINANCE", "bingx": "BTC-USDT-PERP.BINGX"}


class RecorderConfig(ActorConfig, frozen=True):
    instrument_ids: list[str]
    book: bool = True
    bars: bool = True


class Recorder(Actor):
    """Subscribes to everything that is recorded; the streaming writer does the writing. It only
    counts, so a run can end after enough data."""

    def __init__(self, config: RecorderConfig) -> None:
        super().__init__(config)
        self.instrument_ids = [InstrumentId.from_str(i) for i in config.instrument_ids]
        self.book = config.book
        self.bars = config.bars
        self.counts: dict[type, int] = dict.fromkeys(RECORDED_TYPES, 0)
        self.bar_classes: set[type] = set()  # Bar subclasses received (Binance: BinanceBar)

    def on_start(self) -> None:
        for instrument_id in self.instrument_ids:
            self.subscribe_quote_ticks(instrument_id)
            self.subscribe_trade_ticks(instrument_id)
            if self.book:
                self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP)
            if self.bars:
                self.subscribe_bars(BarType.from_str(f"{instrument_id}-1-MINUTE-LAST-EXTERNAL"))

    def on_stop(self) -> None:
        pass  # the node's shutdown ends the subscriptions

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.counts[QuoteTick] += 1

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.counts[TradeTick] += 1

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        self.counts[OrderBookDelta] += len(deltas.deltas)

    def on_bar(self, bar: Bar) -> None:
        self.counts[Bar] += 1
        self.bar_classes.add(type(bar))


def node_config(
    info: dict[str, str],
    catalog_path: str | Path,
    instrument_ids: list[str] | None = None,
    *,
    log_level: str = "WARNING",
) -> TradingNodeConfig:
    """``info``: a simulator's JSON line (its ``venue`` picks Binance or BingX). The keys, when
    given, let the provider read the account's fee rates, so the recorded instruments equal those
    a trading node of that account uses."""
    venue = info.get("venue", "binance-futures")
    instrument_ids = instrument_ids or [DEFAULT_INSTRUMENTS[venue]]
    settings: dict[str, Any] = {
        "base_url_http": info["rest"],
        "base_url_ws": info["ws_market"],
        "api_key": info.get("api_key"),
        "api_secret": info.get("api_secret"),
        "instrument_provider": InstrumentProviderConfig(load_all=True),
    }
    data_clients: dict[str, Any] = (
        {BINGX: BingxDataClientConfig(**settings)}
        if venue == "bingx"
        else {BINANCE: BinanceFuturesDataClientConfig(**settings)}
    )
    return TradingNodeConfig(
        trader_id="RECORDER-001",
        logging=LoggingConfig(log_level=log_level, log_colors=False, print_config=False),
        data_clients=data_clients,
        actors=[
            ImportableActorConfig(
                actor_path=f"{Recorder.__module__}:Recorder",  # this module, however it was started
                config_path=f"{Recorder.__module__}:RecorderConfig",
                config={"instrument_ids": instrument_ids},
            )
        ],
        streaming=StreamingConfig(catalog_path=str(catalog_path), fs_protocol="file", flush_interval_ms=100),
        timeout_connection=15,
        timeout_disconnection=5,
        timeout_post_stop=0.5,
    )


def build_node(config: TradingNodeConfig, loop: asyncio.AbstractEventLoop | None = None) -> TradingNode:
    node = TradingNode(config=config, loop=loop)
    node.add_data_client_factory(BINANCE, BinanceFuturesLiveDataClientFactory)
    node.add_data_client_factory(BINGX, BingxLiveDataClientFactory)
    node.build()
    return node


def recorder(node: TradingNode) -> Recorder:
    return next(a for a in node.trader.actors() if isinstance(a, Recorder))


def to_catalog(
    node: TradingNode, catalog_path: str | Path, bar_classes: Iterable[type] = ()
) -> ParquetDataCatalog:
    """After the node is disposed (that flushes and closes the stream files): convert the stream
    into the catalog's parquet files and add the instruments the node's provider built."""
    catalog = ParquetDataCatalog(str(catalog_path))
    instance_id = node.kernel.instance_id.value
    # The Binance data client's bars are BinanceBar (a Bar with quote volume, trade count and taker-buy
    # volumes), kept in a table of their own. Converted only when some were recorded: the stream writer
    # opens an (empty) file per registered type, and NautilusTrader 1.221 fails converting an empty one
    # of a Python-serialized type.
    extra = sorted(set(bar_classes) - {Bar}, key=lambda cls: cls.__name__)
    for cls in (*RECORDED_TYPES, *extra):
        catalog.convert_stream_to_data(instance_id, cls, subdirectory="live")
    catalog.write_data(node.cache.instruments())
    return catalog


async def record(
    info: dict[str, str],
    catalog_path: str | Path,
    *,
    min_quotes: int = 100,
    min_trades: int = 5,
    within: float = 60.0,
    instrument_ids: list[str] | None = None,
) -> tuple[ParquetDataCatalog, dict[type, int]]:
    """Record until ``min_quotes`` quotes and ``min_trades`` trades have arrived; returns the
    catalog and how many records of each type the node received."""
    node = build_node(node_config(info, catalog_path, instrument_ids), asyncio.get_running_loop())
    actor = recorder(node)
    try:
        await run_until(
            node,
            lambda: actor.counts[QuoteTick] >= min_quotes and actor.counts[TradeTick] >= min_trades,
            within,
            f"{min_quotes} quotes and {min_trades} trades",
        )
    finally:
        node.kernel.dispose()  # closes the stream writer
    return to_catalog(node, catalog_path, actor.bar_classes), dict(actor.counts)


async def main(catalog_path: str, venue: str, info_json: str | None, min_quotes: int) -> int:
    if info_json is not None:
        catalog, counts = await record(json.loads(info_json), catalog_path, min_quotes=min_quotes)
    else:
        from adapters.sim.server import SimVenue

        async with SimVenue(venue, seed=7, step_interval=0.02) as sim:
            catalog, counts = await record(sim.info(), catalog_path, min_quotes=min_quotes)
    for cls, n in counts.items():
        print(f"{cls.__name__:<16} {n}")
    print(f"catalog {catalog.path}: {[str(i.id) for i in catalog.instruments()]}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalog", default="catalog", help="the catalog directory (default ./catalog)")
    parser.add_argument("--venue", default="binance-futures", choices=sorted(DEFAULT_INSTRUMENTS))
    parser.add_argument("--info", help="a simulator's JSON line (default: start one in-process)")
    parser.add_argument("--quotes", type=int, default=200, help="record until this many quotes")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.catalog, args.venue, args.info, args.quotes)))
