"""One TradingNode configuration per environment, each runnable (``python -m examples.nodes.<name>``):

* ``sim_binance`` / ``sim_bingx``: our data and execution clients against the bundled simulator;
* ``binance_testnet`` / ``binance_demo`` / ``bingx_vst``: test money on the real venues;
* ``live``: real money, keys from environment variables, only with ``TRADING_ENVIRONMENT=LIVE``.

``tests/examples`` builds every configuration and runs the SIM ones against an in-process simulator.
"""
