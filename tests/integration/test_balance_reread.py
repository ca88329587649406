"""A REST account read stamped ahead of the venue's clock must not hide the next balance update.

Found by the restart drill (Binance seed 6): the startup sync's account read is stamped with the venue
time the client estimates it asked at; an estimate ahead of the venue's true time made the account
update of a fill landing just after the read look older than the read, so it was dropped and the node
kept the read's balance, which lacked that fill. A declined stream update now makes the client read
the account again (``adapters.core.orders.balance_clock``)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from nautilus_trader.model.enums import OrderSide

from adapters.sim.model import Side
from adapters.testkit.node import SimNode

CASES = {
    "binance-futures": ("BTCUSDT-PERP.BINANCE", "BTCUSDT"),
    "bingx": ("BTC-USDT-PERP.BINGX", "BTC-USDT"),
}


@pytest.mark.parametrize("venue", list(CASES))
async def test_a_fill_after_an_account_read_stamped_ahead_still_reaches_the_balance(venue: str) -> None:
    instrument, symbol = CASES[venue]
    async with SimNode(venue=venue) as env:
        client = env.bingx_client if env.is_bingx else env.exec_client
        price = env.sim.engine.last_price(symbol) * Decimal("0.999")
        cid = env.strategy.limit(instrument, OrderSide.BUY, "0.010", str(price.quantize(Decimal("0.1"))))
        await env.wait_until(lambda: env.order(cid).is_open, what="the order accepted")
        # The client's estimate of the venue's clock runs 5 s ahead while it reads the account.
        client._http.time_offset_ms += 5_000
        await client._update_account_state()
        client._http.time_offset_ms -= 5_000
        reads = client.account_reread.reads
        # A fill now: its account update is stamped before the read's (wrong) stamp.
        assert env.sim.faults.external_trade(symbol, Side.SELL.value, "0.004") == Decimal("0.004")
        report = await env.wait_converged()
        assert report.ok, report.details()
        await env.wait_until(
            lambda: not env.oracle(balances=True).balance_mismatches, what="the node's balance = the venue's"
        )
        assert client.account_reread.reads == reads + 1
        assert client.stream_handler.balance_clock.stale_dropped >= 1
