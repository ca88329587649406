"""Memory stays flat however many orders a node places: every per-order structure forgets closed
orders after the retention, and the fill de-duplication stays within its bound (the full 100,000
order run with RSS samples is ``make soak-orders``)."""

from __future__ import annotations

from adapters.testkit.order_soak import run


def test_per_order_state_is_bounded_by_the_retention() -> None:
    result = run(20_000, retention_secs=20.0, secs_per_order=0.01, sample_every=5_000)
    bound = result.bound()  # 2,000 orders closed within the retention, plus headroom
    assert bound == 2100
    for s in result.samples:
        assert s.tracked <= bound and s.by_venue_id <= bound and s.aliases <= bound, s
        assert s.open == 0
    assert result.samples[-1].seen_trades == 30_000  # 1.5 fills per order, within the FIFO's bound
    assert result.events == 3 * 20_000  # accepted + fill + (fill | canceled) for every order
