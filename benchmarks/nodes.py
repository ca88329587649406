"""Running a TradingNode with the *built-in* NautilusTrader Binance adapter against our simulator,
the same way :class:`adapters.testkit.node.SimNode` runs ours (one event loop, no network)."""

from __future__ import annotations

import asyncio
from typing import Any

from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    TradingNodeConfig,
)
from nautilus_trader.live.node import TradingNode

from adapters.sim.server import SimVenue
from adapters.testkit.node import ScriptedStrategy


class BuiltinSimNode:
    """SimVenue + TradingNode with NautilusTrader 1.221's BinanceLiveExecClientFactory (USDT_FUTURES)."""

    def __init__(self, *, seed: int = 1, log_level: str = "ERROR") -> None:
        # The built-in adapter speaks the pre-2026 root websocket URL (user data included).
        self.sim = SimVenue(seed=seed, step_interval=3600.0, legacy_urls=True)
        self.strategy = ScriptedStrategy()
        self.node: TradingNode | None = None
        self._log_level = log_level
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> BuiltinSimNode:
        from nautilus_trader.adapters.binance import BINANCE, BinanceAccountType, BinanceExecClientConfig
        from nautilus_trader.adapters.binance.factories import BinanceLiveExecClientFactory

        await self.sim.__aenter__()
        exec_config = BinanceExecClientConfig(
            api_key=self.sim.api_key,
            api_secret=self.sim.api_secret,
            account_type=BinanceAccountType.USDT_FUTURES,
            base_url_http=self.sim.rest_url,
            base_url_ws=self.sim.ws_url,
            instrument_provider=InstrumentProviderConfig(load_all=True),
        )
        config = TradingNodeConfig(
            trader_id="BUILTIN-001",
            logging=LoggingConfig(log_level=self._log_level, log_colors=False, print_config=False),
            exec_engine=LiveExecEngineConfig(reconciliation=True),
            exec_clients={BINANCE: exec_config},
            timeout_connection=15,
            timeout_reconciliation=10,
            timeout_portfolio=5,
            timeout_disconnection=5,
            timeout_post_stop=0.2,
        )
        node = TradingNode(config=config, loop=asyncio.get_running_loop())
        node.trader.add_strategy(self.strategy)
        node.add_exec_client_factory(BINANCE, BinanceLiveExecClientFactory)
        node.build()
        self.node = node
        self._task = asyncio.get_running_loop().create_task(node.run_async(), name="builtin-node")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while not self.strategy.is_running:
            if loop.time() > deadline or self._task.done():
                await self.__aexit__(None, None, None)
                raise RuntimeError("the built-in adapter's node did not start against the simulator")
            await asyncio.sleep(0.01)
        # Without a data client nothing puts the exec client's instruments in the cache.
        engine = node.kernel.exec_engine
        client = engine._clients[engine.registered_clients[0]]  # type: ignore[attr-defined]
        for instrument in client._instrument_provider.list_all():
            if node.cache.instrument(instrument.id) is None:
                node.cache.add_instrument(instrument)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        try:
            if self.node is not None and self._task is not None:
                if not self._task.done():
                    await self.node.stop_async()
                try:
                    await asyncio.wait_for(self._task, timeout=15)
                except TimeoutError:
                    self._task.cancel()
        finally:
            await self.sim.__aexit__(None, None, None)
            if self.node is not None:
                self.node.kernel.dispose()
