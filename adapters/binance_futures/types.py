"""NautilusTrader's own Binance data types that the Binance data client publishes, made recordable.

* ``BinanceBar`` (``nautilus_trader.adapters.binance.common.types``): a ``Bar`` plus the kline's quote
  volume, trade count and taker-buy base/quote volumes. Importing ``nautilus_trader.adapters.binance``
  registers its serializers (msgbus and Arrow), exactly as for NautilusTrader's adapter.
* ``BinanceFuturesMarkPriceUpdate`` (``nautilus_trader.adapters.binance.futures.types``): one mark-price
  frame (mark, index, estimated settle price, funding rate, next funding time), published as
  ``CustomData`` under ``DataType(BinanceFuturesMarkPriceUpdate, metadata={"instrument_id": id})``.
  NautilusTrader 1.221 registers no Arrow schema for it, so a node with ``StreamingConfig`` that
  received one would hit a ``KeyError`` in its stream writer and terminate. The schema registered here
  (when none is registered yet) lets it be written and read back (``catalog.query``) exactly: prices
  as their strings (precision kept), the funding rate as its exact decimal string.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
from nautilus_trader.adapters.binance import BinanceBar, BinanceFuturesMarkPriceUpdate
from nautilus_trader.serialization.arrow.serializer import (
    list_schemas,
    make_dict_deserializer,
    make_dict_serializer,
    register_arrow,
)

__all__ = ["MARK_PRICE_UPDATE_ARROW_SCHEMA", "BinanceBar", "BinanceFuturesMarkPriceUpdate"]

MARK_PRICE_UPDATE_ARROW_SCHEMA: Final = pa.schema(
    {
        "instrument_id": pa.dictionary(pa.int64(), pa.string()),
        "mark": pa.string(),
        "index": pa.string(),
        "estimated_settle": pa.string(),
        "funding_rate": pa.string(),
        "next_funding_ns": pa.uint64(),
        "ts_event": pa.uint64(),
        "ts_init": pa.uint64(),
    }
)

if BinanceFuturesMarkPriceUpdate not in list_schemas():  # a later NautilusTrader may register its own
    register_arrow(
        BinanceFuturesMarkPriceUpdate,
        MARK_PRICE_UPDATE_ARROW_SCHEMA,
        encoder=make_dict_serializer(MARK_PRICE_UPDATE_ARROW_SCHEMA),
        decoder=make_dict_deserializer(BinanceFuturesMarkPriceUpdate),
    )
