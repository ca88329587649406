"""A TradingNode wired to our clients and an in-process simulator, for tests, the demo and chaos runs.

``SimNode()`` runs the Binance USD-M execution client against the Binance dialect (instrument ids
``BTCUSDT-PERP.BINANCE``); ``SimNode(venue="bingx")`` runs the BingX execution client against the
BingX dialect (``BTC-USDT-PERP.BINGX``). Everything else (strategy, waits, oracle) is shared.

``MultiVenueNode()`` runs both venues at once: one simulator per venue on the caller's loop and ONE
TradingNode with a data client *and* an execution client per venue (keys ``BINANCE`` and ``BINGX``);
its strategy subscribes to quotes (and L2 books) on every venue, so market data flows through our
data clients while orders flow through our execution clients. ``env.oracle("BINGX")`` checks one
venue's ground truth against that venue's orders in the shared cache.

Usage::

    async with SimNode(seed=7) as env:
        order = env.strategy.limit_buy("BTCUSDT-PERP.BINANCE", "0.010", "50000")
        await env.wait_until(lambda: env.order(order).is_open)
        env.sim.faults.expire_listen_keys()
        ...
        report = env.oracle()          # every venue trade exactly once as a fill, statuses match
        assert report.ok, report.details()

Everything runs on the caller's event loop: the simulator, the node and the test code, so a test can
inject a fault between two awaits. The node is disposed after the loop-bound parts are stopped, as
NautilusTrader requires (dispose must not run inside a stop).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pandas as pd
from nautilus_trader.cache.cache import Cache
from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import BookType, OrderSide, TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientId, ClientOrderId, InstrumentId, Venue
from nautilus_trader.model.orders import Order
from nautilus_trader.trading.strategy import Strategy

from adapters.binance_futures.config import BinanceFuturesExecClientConfig
from adapters.binance_futures.data import BinanceFuturesDataClient
from adapters.binance_futures.execution import BinanceFuturesExecutionClient
from adapters.binance_futures.factories import (
    BINANCE,
    BinanceFuturesLiveDataClientFactory,
    BinanceFuturesLiveExecClientFactory,
)
from adapters.bingx.config import BingxExecClientConfig
from adapters.bingx.data import BingxDataClient
from adapters.bingx.execution import BingxExecutionClient
from adapters.bingx.factories import BINGX, BingxLiveDataClientFactory, BingxLiveExecClientFactory
from adapters.sim.oracle import OracleReport, check
from adapters.sim.server import SimVenue
from adapters.testkit.data_node import sim_bingx_data_config, sim_data_config


class ScriptedStrategy(Strategy):
    """A strategy driven from outside (tests, the demo): it records every event it receives."""

    def __init__(self, config: StrategyConfig | None = None) -> None:
        super().__init__(config or StrategyConfig(strategy_id="SCRIPTED-001"))
        self.received: list[Any] = []

    def on_event(self, event: Any) -> None:
        self.received.append(event)

    def on_stop(self) -> None:
        pass  # orders are left as they are: tests compare them with the venue afterwards

    def _instrument(self, instrument_id: str) -> Any:
        instrument = self.cache.instrument(InstrumentId.from_str(instrument_id))
        if instrument is None:
            raise KeyError(f"instrument {instrument_id} not in cache")
        return instrument

    def limit(
        self,
        instrument_id: str,
        side: OrderSide,
        quantity: str,
        price: str,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        expire_time: pd.Timestamp | None = None,
    ) -> ClientOrderId:
        inst = self._instrument(instrument_id)
        order = self.order_factory.limit(
            inst.id,
            side,
            inst.make_qty(Decimal(quantity)),
            inst.make_price(Decimal(price)),
            post_only=post_only,
            time_in_force=time_in_force,
            expire_time=expire_time,
            reduce_only=reduce_only,
        )
        self.submit_order(order)
        return order.client_order_id

    def market(
        self, instrument_id: str, side: OrderSide, quantity: str, *, reduce_only: bool = False
    ) -> ClientOrderId:
        inst = self._instrument(instrument_id)
        order = self.order_factory.market(
            inst.id, side, inst.make_qty(Decimal(quantity)), reduce_only=reduce_only
        )
        self.submit_order(order)
        return order.client_order_id

    def stop_market(
        self, instrument_id: str, side: OrderSide, quantity: str, trigger: str, *, reduce_only: bool = False
    ) -> ClientOrderId:
        inst = self._instrument(instrument_id)
        order = self.order_factory.stop_market(
            inst.id,
            side,
            inst.make_qty(Decimal(quantity)),
            inst.make_price(Decimal(trigger)),
            reduce_only=reduce_only,
        )
        self.submit_order(order)
        return order.client_order_id

    def stop_limit(
        self, instrument_id: str, side: OrderSide, quantity: str, price: str, trigger: str
    ) -> ClientOrderId:
        inst = self._instrument(instrument_id)
        order = self.order_factory.stop_limit(
            inst.id,
            side,
            inst.make_qty(Decimal(quantity)),
            inst.make_price(Decimal(price)),
            inst.make_price(Decimal(trigger)),
        )
        self.submit_order(order)
        return order.client_order_id

    def cancel(self, client_order_id: ClientOrderId) -> None:
        order = self.cache.order(client_order_id)
        if order is None:
            raise KeyError(client_order_id)
        self.cancel_order(order)

    def cancel_many(self, client_order_ids: list[ClientOrderId]) -> None:
        """One BatchCancelOrders command for orders of one instrument."""
        orders = [self.cache.order(c) for c in client_order_ids]
        self.cancel_orders([o for o in orders if o is not None])

    def modify(
        self, client_order_id: ClientOrderId, *, quantity: str | None = None, price: str | None = None
    ) -> None:
        order = self.cache.order(client_order_id)
        if order is None:
            raise KeyError(client_order_id)
        inst = self._instrument(order.instrument_id.value)
        self.modify_order(
            order,
            quantity=inst.make_qty(Decimal(quantity)) if quantity is not None else None,
            price=inst.make_price(Decimal(price)) if price is not None else None,
        )


BINANCE_VENUE_NAME = "binance-futures"
BINGX_VENUE_NAME = "bingx"


class SimNode:
    """An in-process simulator plus a running TradingNode using our execution client for ``venue``
    (``"binance-futures"``, the default, or ``"bingx"``)."""

    def __init__(
        self,
        *,
        venue: str = BINANCE_VENUE_NAME,
        seed: int = 1,
        listen_key_ttl: float = 3600.0,
        max_connection_age: float = 86400.0,
        step_interval: float = 3600.0,
        exec_config: dict[str, Any] | None = None,
        log_level: str = "WARNING",
        strategy: ScriptedStrategy | None = None,
        hedge_mode: bool = False,
        sim: SimVenue | None = None,
        legacy_urls: bool = False,
    ) -> None:
        """``hedge_mode`` switches the venue account to hedge (dual-side) mode before the node
        starts and sets ``dual_side_position`` in the exec config. ``sim`` starts the node
        against an existing, running simulator (a restart of a node on the same account): the
        simulator is then neither started nor stopped here, and the simulator options are unused.
        ``legacy_urls`` starts the Binance simulator with its pre-2026 websocket routes.
        """
        if venue not in (BINANCE_VENUE_NAME, BINGX_VENUE_NAME):
            raise ValueError(f"unknown venue {venue!r}")
        self.venue = venue
        self._owns_sim = sim is None
        self.sim = sim or SimVenue(
            venue,
            seed=seed,
            listen_key_ttl=listen_key_ttl,
            max_connection_age=max_connection_age,
            step_interval=step_interval,
            legacy_urls=legacy_urls,
        )
        self.hedge_mode = hedge_mode
        self._exec_overrides = exec_config or {}
        self._log_level = log_level
        self.strategy = strategy or ScriptedStrategy()
        self.node: TradingNode | None = None
        self._run_task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> SimNode:
        if self._owns_sim:
            await self.sim.__aenter__()
        try:
            if self.hedge_mode:
                self.sim.engine.set_position_mode(self.sim.account_id, True)
            await self._start_node()
        except BaseException:
            if self._owns_sim:
                await self.sim.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._stop_node()
        finally:
            if self._owns_sim:
                await self.sim.__aexit__(None, None, None)
            if self.node is not None:
                # The kernel's own disposal, not TradingNode.dispose(): that one also stops the
                # running loop, which belongs to the caller (a test, the demo).
                self.node.kernel.dispose()

    @property
    def is_bingx(self) -> bool:
        return self.venue == BINGX_VENUE_NAME

    @property
    def client_key(self) -> str:
        """The factory / client id key: ``BINANCE`` or ``BINGX``."""
        return BINGX if self.is_bingx else BINANCE

    def exec_config(self) -> BinanceFuturesExecClientConfig | BingxExecClientConfig:
        if self.is_bingx:
            return self._bingx_exec_config()
        return _binance_exec_config(self.sim, self._exec_overrides, self.hedge_mode)

    def _bingx_exec_config(self) -> BingxExecClientConfig:
        return _bingx_exec_config(self.sim, self._exec_overrides, self.hedge_mode)

    async def _start_node(self) -> None:
        config = TradingNodeConfig(
            trader_id="TESTER-001",
            logging=LoggingConfig(log_level=self._log_level, log_colors=False, print_config=False),
            exec_engine=LiveExecEngineConfig(reconciliation=True, inflight_check_threshold_ms=10_000),
            exec_clients={self.client_key: self.exec_config()},
            timeout_connection=15,
            timeout_reconciliation=10,
            timeout_portfolio=5,
            timeout_disconnection=5,
            timeout_post_stop=0.2,
        )
        node = TradingNode(config=config, loop=asyncio.get_running_loop())
        node.trader.add_strategy(self.strategy)
        if self.is_bingx:
            node.add_exec_client_factory(BINGX, BingxLiveExecClientFactory)
        else:
            node.add_exec_client_factory(BINANCE, BinanceFuturesLiveExecClientFactory)
        node.build()
        self.node = node
        self._run_task = asyncio.get_running_loop().create_task(node.run_async(), name="trading-node")
        await self.wait_until(lambda: self.strategy.is_running, within=20.0, what="strategy running")
        # A test starts once the client's sync after startup reconciliation is through: faults it
        # arms are then met by what the test does, not by that sync (it lists orders and trades too).
        await self.wait_until(
            lambda: self._client().startup.done.is_set(), within=20.0, what="the startup sync"
        )

    async def stop_node(self) -> None:
        """Stop the node now (the simulator keeps running); ``__aexit__`` then only disposes."""
        await self._stop_node()

    async def _stop_node(self) -> None:
        if self.node is None or self._run_task is None:
            return
        if not self._run_task.done():
            await self.node.stop_async()
        try:
            await asyncio.wait_for(self._run_task, timeout=15)
        except TimeoutError:
            self._run_task.cancel()
            raise

    # --- accessors ---------------------------------------------------------------------------
    @property
    def exec_client(self) -> BinanceFuturesExecutionClient:
        """The Binance execution client (``bingx_client`` for ``venue="bingx"``)."""
        client = self._client()
        assert isinstance(client, BinanceFuturesExecutionClient)
        return client

    @property
    def bingx_client(self) -> BingxExecutionClient:
        client = self._client()
        assert isinstance(client, BingxExecutionClient)
        return client

    def _client(self) -> Any:
        assert self.node is not None
        engine = self.node.kernel.exec_engine
        return engine._clients[engine.registered_clients[0]]  # type: ignore[attr-defined]

    def order(self, client_order_id: ClientOrderId) -> Order:
        assert self.node is not None
        order = self.node.cache.order(client_order_id)
        assert order is not None, client_order_id
        return order

    def oracle(
        self, *, avg_price: bool = False, positions: bool = False, balances: bool = False
    ) -> OracleReport:
        assert self.node is not None
        return check(
            self.sim.state(),
            self.node.cache,
            avg_price=avg_price,
            positions=positions,
            balances=balances,
            venue="bingx" if self.is_bingx else None,
        )

    async def wait_until(
        self, condition: Callable[[], bool], within: float = 10.0, what: str = "condition"
    ) -> None:
        """Poll a cheap condition on the loop (no fixed sleeps as synchronisation)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {within}s waiting for {what}")
            await asyncio.sleep(0.005)

    async def wait_converged(self, within: float = 15.0) -> OracleReport:
        """Wait until the oracle holds (the node has caught up with the venue), then return it."""
        with contextlib.suppress(TimeoutError):
            await self.wait_until(lambda: self.oracle().ok, within=within, what="node to match the venue")
        return self.oracle()

    async def wait_recoveries(self, n: int, within: float = 15.0) -> None:
        metrics = self._client().user_stream.ctx.metrics
        await self.wait_until(
            lambda: metrics.runs >= n and not metrics.in_progress, within, f"{n} recoveries"
        )


# --------------------------------------------------------------------------- two venues, one node

# Per venue: (client key, simulator dialect, instrument id, venue symbol, order size format).
VENUE_KEYS = {BINANCE_VENUE_NAME: BINANCE, BINGX_VENUE_NAME: BINGX}
INSTRUMENTS = {BINANCE: "BTCUSDT-PERP.BINANCE", BINGX: "BTC-USDT-PERP.BINGX"}
SYMBOLS = {BINANCE: "BTCUSDT", BINGX: "BTC-USDT"}


class MarketWatchStrategy(ScriptedStrategy):
    """:class:`ScriptedStrategy` that also subscribes to quotes (and optionally L2 book deltas) of
    ``instruments`` on start, counts quotes per venue and tells ``fill_listeners`` about each fill.
    """

    def __init__(
        self, instruments: Iterable[str], *, books: bool = True, config: StrategyConfig | None = None
    ) -> None:
        super().__init__(config or StrategyConfig(strategy_id="MULTIVENUE-001"))
        self.instrument_ids = [InstrumentId.from_str(i) for i in instruments]
        self.books = books
        self.quotes: dict[str, int] = {i.venue.value: 0 for i in self.instrument_ids}
        self.last_quote: dict[str, QuoteTick] = {}
        self.fill_listeners: list[Callable[[OrderFilled], None]] = []

    def on_start(self) -> None:
        for iid in self.instrument_ids:
            self.subscribe_quote_ticks(iid)
            if self.books:
                self.subscribe_order_book_deltas(iid, BookType.L2_MBP)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        venue = tick.instrument_id.venue.value
        self.quotes[venue] = self.quotes.get(venue, 0) + 1
        self.last_quote[venue] = tick

    def on_event(self, event: Any) -> None:
        super().on_event(event)
        if isinstance(event, OrderFilled):
            for listener in self.fill_listeners:
                listener(event)


class _VenueCacheView:
    """The part of a shared cache that belongs to one venue, in the shape the oracle reads."""

    def __init__(self, cache: Any, venue: Venue) -> None:
        self._cache = cache
        self._venue = venue

    def orders(self) -> list[Order]:
        return [o for o in self._cache.orders() if o.instrument_id.venue == self._venue]

    def positions_open(self) -> list[Any]:
        return [p for p in self._cache.positions_open() if p.instrument_id.venue == self._venue]

    def accounts(self) -> list[Any]:
        return [a for a in self._cache.accounts() if a.id.get_issuer() == self._venue.value]


def _binance_exec_config(
    sim: SimVenue, overrides: dict[str, Any], hedge_mode: bool = False
) -> BinanceFuturesExecClientConfig:
    settings: dict[str, Any] = {
        "api_key": sim.api_key,
        "api_secret": sim.api_secret,
        "base_url_http": sim.rest_url,
        "base_url_ws": sim.ws_url,
        "base_url_ws_api": sim.ws_api_url,
        "instrument_provider": InstrumentProviderConfig(load_all=True),
        "http_timeout_secs": 5.0,
    }
    if hedge_mode:
        settings["dual_side_position"] = True
    settings.update(overrides)
    return BinanceFuturesExecClientConfig(**settings)


def _bingx_exec_config(
    sim: SimVenue, overrides: dict[str, Any], hedge_mode: bool = False
) -> BingxExecClientConfig:
    settings: dict[str, Any] = {
        "api_key": sim.api_key,
        "api_secret": sim.api_secret,
        "base_url_http": sim.rest_url,
        "base_url_ws": sim.ws_user_url,
        "instrument_provider": InstrumentProviderConfig(load_all=True),
        "http_timeout_secs": 5.0,
    }
    if hedge_mode:
        settings["dual_side_position"] = True
    settings.update(overrides)
    return BingxExecClientConfig(**settings)


class MultiVenueNode:
    """One simulator per venue (Binance USD-M and BingX by default) on the caller's loop and ONE
    running TradingNode with our data and execution clients for every venue.

    Usage::

        async with MultiVenueNode(seed=7) as env:
            cid = env.strategy.limit(env.instrument("BINGX"), OrderSide.BUY, "0.0100", "50000")
            env.sims["BINANCE"].faults.expire_listen_keys()
            ...
            reports = await env.wait_converged()     # {"BINANCE": OracleReport, "BINGX": ...}

    ``exec_config`` / ``data_config`` map a client key (``BINANCE``, ``BINGX``) to overrides of that
    venue's client config. ``log_directory`` + ``log_file_name`` send the node's log to a file (at
    ``log_level_file``); ``log_level`` is what still goes to stdout (``"OFF"`` for nothing).
    """

    def __init__(
        self,
        *,
        venues: Iterable[str] = (BINANCE_VENUE_NAME, BINGX_VENUE_NAME),
        seed: int = 1,
        listen_key_ttl: float = 3600.0,
        max_connection_age: float = 86400.0,
        step_interval: float = 3600.0,
        exec_config: dict[str, dict[str, Any]] | None = None,
        data_config: dict[str, dict[str, Any]] | None = None,
        log_level: str = "WARNING",
        log_directory: str | Path | None = None,
        log_file_name: str | None = None,
        log_level_file: str = "INFO",
        strategy: ScriptedStrategy | None = None,
        books: bool = True,
    ) -> None:
        names = list(venues)
        unknown = [v for v in names if v not in VENUE_KEYS]
        if unknown or not names:
            raise ValueError(f"unknown venues {unknown!r}; expected some of {sorted(VENUE_KEYS)}")
        self.keys = [VENUE_KEYS[v] for v in names]
        self.sims: dict[str, SimVenue] = {
            VENUE_KEYS[v]: SimVenue(
                v,
                seed=seed + i,
                listen_key_ttl=listen_key_ttl,
                max_connection_age=max_connection_age,
                step_interval=step_interval,
            )
            for i, v in enumerate(names)
        }
        self._exec_overrides = exec_config or {}
        self._data_overrides = data_config or {}
        self._log_level = log_level
        self._log_directory = str(log_directory) if log_directory is not None else None
        self._log_file_name = log_file_name
        self._log_level_file = log_level_file
        self.strategy = strategy or MarketWatchStrategy([INSTRUMENTS[k] for k in self.keys], books=books)
        self.node: TradingNode | None = None
        self._run_task: asyncio.Task[None] | None = None
        self._stack = contextlib.AsyncExitStack()

    # --- lifecycle ---------------------------------------------------------------------------
    async def __aenter__(self) -> MultiVenueNode:
        async with contextlib.AsyncExitStack() as stack:
            for sim in self.sims.values():
                await stack.enter_async_context(sim)
            await self._start_node()
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self._stop_node()
        finally:
            await self._stack.aclose()
            if self.node is not None:
                self.node.kernel.dispose()  # not TradingNode.dispose(): the loop is the caller's

    def config(self) -> TradingNodeConfig:
        exec_clients: dict[str, Any] = {}
        data_clients: dict[str, Any] = {}
        for key, sim in self.sims.items():
            exec_over = self._exec_overrides.get(key, {})
            data_over = self._data_overrides.get(key, {})
            if key == BINGX:
                exec_clients[key] = _bingx_exec_config(sim, exec_over)
                data_clients[key] = sim_bingx_data_config(sim, **data_over)
            else:
                exec_clients[key] = _binance_exec_config(sim, exec_over)
                data_clients[key] = sim_data_config(sim, **data_over)
        logging = LoggingConfig(
            log_level=self._log_level,
            log_level_file=self._log_level_file if self._log_directory is not None else None,
            log_directory=self._log_directory,
            log_file_name=self._log_file_name,
            log_colors=False,
            print_config=False,
        )
        return TradingNodeConfig(
            trader_id="TESTER-001",
            logging=logging,
            exec_engine=LiveExecEngineConfig(reconciliation=True, inflight_check_threshold_ms=10_000),
            data_clients=data_clients,
            exec_clients=exec_clients,
            timeout_connection=15,
            timeout_reconciliation=10,
            timeout_portfolio=5,
            timeout_disconnection=5,
            timeout_post_stop=0.2,
        )

    async def _start_node(self) -> None:
        node = TradingNode(config=self.config(), loop=asyncio.get_running_loop())
        node.trader.add_strategy(self.strategy)
        for key in self.keys:
            if key == BINGX:
                node.add_data_client_factory(BINGX, BingxLiveDataClientFactory)
                node.add_exec_client_factory(BINGX, BingxLiveExecClientFactory)
            else:
                node.add_data_client_factory(BINANCE, BinanceFuturesLiveDataClientFactory)
                node.add_exec_client_factory(BINANCE, BinanceFuturesLiveExecClientFactory)
        node.build()
        self.node = node
        self._run_task = asyncio.get_running_loop().create_task(node.run_async(), name="trading-node")
        await self.wait_until(lambda: self.strategy.is_running, within=20.0, what="strategy running")

    async def _stop_node(self) -> None:
        if self.node is None or self._run_task is None:
            return
        if not self._run_task.done():
            await self.node.stop_async()
        try:
            await asyncio.wait_for(self._run_task, timeout=15)
        except TimeoutError:
            self._run_task.cancel()
            raise

    # --- accessors ---------------------------------------------------------------------------
    def instrument(self, key: str) -> str:
        return INSTRUMENTS[key]

    def symbol(self, key: str) -> str:
        return SYMBOLS[key]

    def exec_client(self, key: str) -> Any:
        """The execution client of ``key`` (a Binance or BingX execution client)."""
        assert self.node is not None
        return self.node.kernel.exec_engine._clients[ClientId(key)]  # type: ignore[attr-defined]

    def data_client(self, key: str) -> Any:
        """The market-data client of ``key`` (a Binance or BingX data client)."""
        assert self.node is not None
        return self.node.kernel.data_engine._clients[ClientId(key)]  # type: ignore[attr-defined]

    @property
    def binance_exec(self) -> BinanceFuturesExecutionClient:
        client = self.exec_client(BINANCE)
        assert isinstance(client, BinanceFuturesExecutionClient)
        return client

    @property
    def bingx_exec(self) -> BingxExecutionClient:
        client = self.exec_client(BINGX)
        assert isinstance(client, BingxExecutionClient)
        return client

    @property
    def binance_data(self) -> BinanceFuturesDataClient:
        client = self.data_client(BINANCE)
        assert isinstance(client, BinanceFuturesDataClient)
        return client

    @property
    def bingx_data(self) -> BingxDataClient:
        client = self.data_client(BINGX)
        assert isinstance(client, BingxDataClient)
        return client

    def order(self, client_order_id: ClientOrderId) -> Order:
        assert self.node is not None
        order = self.node.cache.order(client_order_id)
        assert order is not None, client_order_id
        return order

    def orders(self, key: str) -> list[Order]:
        assert self.node is not None
        return _VenueCacheView(self.node.cache, Venue(key)).orders()

    def quotes(self, key: str) -> int:
        """Quote ticks of venue ``key`` the strategy received (0 without a MarketWatchStrategy)."""
        quotes = getattr(self.strategy, "quotes", None)
        return int(quotes.get(key, 0)) if isinstance(quotes, dict) else 0

    def book_resyncs(self, key: str) -> int:
        """Fresh book snapshots the venue's data client requested after the initial ones."""
        return sum(book.sync.metrics.resyncs for book in self.data_client(key).books.values())

    # --- oracle and waits ----------------------------------------------------------------------
    def oracle(
        self, key: str, *, avg_price: bool = False, positions: bool = False, balances: bool = False
    ) -> OracleReport:
        """One venue's ground truth against that venue's orders in the shared cache."""
        assert self.node is not None
        view = _VenueCacheView(self.node.cache, Venue(key))
        return check(
            self.sims[key].state(),
            cast(Cache, view),
            avg_price=avg_price,
            positions=positions,
            balances=balances,
            venue="bingx" if key == BINGX else None,
        )

    def all_ok(self) -> bool:
        return all(self.oracle(key).ok for key in self.keys)

    async def wait_until(
        self, condition: Callable[[], bool], within: float = 10.0, what: str = "condition"
    ) -> None:
        """Poll a cheap condition on the loop (no fixed sleeps as synchronisation)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {within}s waiting for {what}")
            await asyncio.sleep(0.005)

    async def wait_converged(self, within: float = 15.0) -> dict[str, OracleReport]:
        """Wait until every venue's oracle holds, then return the reports (by client key)."""
        with contextlib.suppress(TimeoutError):
            await self.wait_until(self.all_ok, within=within, what="node to match every venue")
        return {key: self.oracle(key) for key in self.keys}

    async def wait_recoveries(self, key: str, n: int, within: float = 15.0) -> None:
        metrics = self.exec_client(key).user_stream.ctx.metrics
        await self.wait_until(
            lambda: metrics.runs >= n and not metrics.in_progress, within, f"{key}: {n} recoveries"
        )
