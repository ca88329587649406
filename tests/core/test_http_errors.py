from __future__ import annotations

from adapters.binance_futures.errors import (
    BinanceAmbiguous,
    BinanceError,
    BinanceRateLimited,
    BinanceRejection,
)
from adapters.bingx.errors import BingxAmbiguous, BingxError, BingxRateLimited, BingxRejection
from adapters.core.net.http_errors import (
    VenueAmbiguous,
    VenueError,
    VenueRateLimited,
    VenueRejection,
    is_ambiguous_http_status,
)


def test_venue_subclasses_share_the_taxonomy() -> None:
    for base, rej, rl, amb in (
        (BinanceError, BinanceRejection, BinanceRateLimited, BinanceAmbiguous),
        (BingxError, BingxRejection, BingxRateLimited, BingxAmbiguous),
    ):
        r = rl(1, "m", http_status=418, retry_after_secs=2.0, method="GET", path="/p")
        assert isinstance(r, rej) and isinstance(r, base) and isinstance(r, VenueRateLimited)
        assert isinstance(r, VenueRejection) and isinstance(r, VenueError)
        assert r.is_ip_ban and r.retry_after_secs == 2.0
        a = amb("timeout", method="POST", path="/x")
        assert isinstance(a, VenueAmbiguous) and isinstance(a, base) and not isinstance(a, VenueRejection)


def test_messages_name_the_venue() -> None:
    assert (
        str(BingxRejection(80014, "bad", method="GET", path="/a"))
        == "BingX rejected GET /a: code=80014 msg='bad'"
    )
    assert str(BinanceRejection(-1, "x")).startswith("Binance rejected")


def test_ambiguous_status() -> None:
    assert is_ambiguous_http_status(504)
    assert is_ambiguous_http_status(500)
    assert is_ambiguous_http_status(408)
    assert not is_ambiguous_http_status(400)
    assert not is_ambiguous_http_status(429)
