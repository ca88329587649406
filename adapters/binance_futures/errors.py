"""Error classes for the Binance USD-M Futures HTTP layer.

The split that matters to an execution client:

* :class:`BinanceRejection` — the venue answered and said no. The request had no effect; emit a rejection
  (``is_post_only`` flags ``-5022``, the GTX would-take reject).
* :class:`BinanceAmbiguous` — the outcome is unknown: ``-1006``/``-1007``, HTTP 5xx/503/408, timeout,
  connection cut after the request may have been sent, or an undecodable 2xx body. The order may or may not
  exist; callers must resolve by querying the venue and must NOT emit a rejection.
* :class:`BinanceTransportError` — the request provably never reached the venue (connection could not be
  established). Safe to treat as "not executed".

The classes derive from :mod:`adapters.core.net.http_errors` (shared with BingX).
No message ever contains the API key, secret, signature or full query string.
"""

from __future__ import annotations

from typing import Final

from adapters.core.net.http_errors import (
    VenueAmbiguous,
    VenueError,
    VenueRateLimited,
    VenueRejection,
    VenueTransportError,
)

# Codes (see binance-usdm notes §15)
CODE_UNKNOWN: Final = -1000
CODE_DISCONNECTED: Final = -1001
CODE_TOO_MANY_REQUESTS: Final = -1003
CODE_UNEXPECTED_RESP: Final = -1006
CODE_TIMEOUT: Final = -1007
CODE_TOO_MANY_ORDERS: Final = -1015
CODE_INVALID_TIMESTAMP: Final = -1021
CODE_INVALID_SIGNATURE: Final = -1022
CODE_INVALID_SYMBOL: Final = -1121
CODE_INVALID_LISTEN_KEY: Final = -1125
CODE_NEW_ORDER_REJECTED: Final = -2010
CODE_CANCEL_REJECTED: Final = -2011
CODE_NO_SUCH_ORDER: Final = -2013
CODE_REJECTED_MBX_KEY: Final = -2015
CODE_MARGIN_NOT_SUFFICIENT: Final = -2019
CODE_REDUCE_ONLY_REJECT: Final = -2022
CODE_MAX_STOP_ORDER_EXCEEDED: Final = -4045  # open conditional orders: 200 across all symbols
CODE_ALGO_SWITCH: Final = -4120
CODE_DUAL_SIDE_SYNC: Final = -4531
CODE_POST_ONLY_REJECT: Final = -5022
CODE_NO_NEED_TO_MODIFY: Final = -5027

AMBIGUOUS_CODES: Final = frozenset({CODE_UNEXPECTED_RESP, CODE_TIMEOUT})


class BinanceError(VenueError):
    """Base class for all errors raised by the Binance HTTP client."""

    venue = "Binance"


class BinanceRejection(VenueRejection, BinanceError):
    """The venue rejected the request (definite: nothing happened)."""

    @property
    def is_post_only(self) -> bool:
        return self.code == CODE_POST_ONLY_REJECT

    @property
    def is_unknown_order(self) -> bool:
        return self.code in (CODE_CANCEL_REJECTED, CODE_NO_SUCH_ORDER)

    @property
    def is_invalid_listen_key(self) -> bool:
        return self.code == CODE_INVALID_LISTEN_KEY


class BinanceRateLimited(VenueRateLimited, BinanceRejection):
    """HTTP 429 (rate limit) or 418 (IP ban). The request was not executed."""


class BinanceAmbiguous(VenueAmbiguous, BinanceError):
    """Outcome unknown: the request may or may not have taken effect. Resolve by querying."""


class BinanceTransportError(VenueTransportError, BinanceError):
    """The request never reached the venue (e.g. connection refused / DNS failure)."""
