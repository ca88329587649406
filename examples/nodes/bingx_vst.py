"""VST: BingX's demo-money environment (open-api-vst.bingx.com; the same API keys as live), our data
and execution clients, the example strategy on BTC-USDT.

    export BINGX_API_KEY=...
    export BINGX_API_SECRET=...
    .venv/bin/python -m examples.nodes.bingx_vst     # Ctrl-C stops

The keys stay out of the config: the clients read the variables when they are created.
"""

from __future__ import annotations

from nautilus_trader.config import ImportableStrategyConfig, InstrumentProviderConfig, TradingNodeConfig

from adapters.bingx import BINGX, BingxDataClientConfig, BingxEnvironment, BingxExecClientConfig
from adapters.bingx.config import ENV_API_KEY, ENV_API_SECRET
from examples.nodes.common import flipflop, require_env, run_forever

INSTRUMENT_ID = "BTC-USDT-PERP.BINGX"


def node_config(strategies: list[ImportableStrategyConfig] | None = None) -> TradingNodeConfig:
    provider = InstrumentProviderConfig(load_ids=frozenset({INSTRUMENT_ID}))
    return TradingNodeConfig(
        trader_id="VST-001",
        data_clients={
            BINGX: BingxDataClientConfig(environment=BingxEnvironment.VST, instrument_provider=provider),
        },
        exec_clients={
            BINGX: BingxExecClientConfig(environment=BingxEnvironment.VST, instrument_provider=provider),
        },
        strategies=[flipflop(INSTRUMENT_ID, "0.0010")] if strategies is None else strategies,
        timeout_post_stop=5.0,
    )


def main() -> None:
    require_env(ENV_API_KEY, ENV_API_SECRET)
    run_forever(node_config())


if __name__ == "__main__":
    main()
