"""Error classes and code classification for the BingX HTTP layer.

BingX answers business errors with **HTTP 200** and ``{"code": <non-zero>, "msg": ...}``; the client turns
every non-zero ``code`` into one of (see :mod:`adapters.core.net.http_errors` for the taxonomy):

* :class:`BingxAmbiguous` - codes that mean "unknown outcome": ``100500`` internal error / system busy,
  ``101500`` RPC timeout, ``80012`` service unavailable / system busy, ``80019`` "order is being processed,
  use allOrders later"; HTTP 5xx (``504`` is documented as "unknown outcome, verify") and 408; timeouts;
  a connection cut after sending; an undecodable success body. Resolve by querying, never emit a rejection.
  Choice: a busy/internal error on an order call may have executed; treating it as ambiguous costs one
  query, treating an accepted order as rejected loses an order.
* :class:`BingxRateLimited` - HTTP 429/418 and code ``100410``.
* :class:`BingxRejection` - everything else (definite: nothing happened).
* :class:`BingxTransportError` - the connection could not be established (never sent).

The timestamp error is ``100421`` ("Null timestamp or timestamp mismatch"), but that code is overloaded
("This pair is currently restricted from API trading"), and ``109400 "timestamp is invalid"`` was seen in the
wild: :func:`is_timestamp_error` therefore looks at code *and* message.
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

CODE_OK: Final = 0
CODE_SIGNATURE: Final = 100001
CODE_PERMISSION: Final = 100004
CODE_INVALID_PARAM: Final = 100400
CODE_RATE_LIMIT: Final = 100410
CODE_NULL_SIGNATURE: Final = 100412
CODE_BAD_API_KEY: Final = 100413
CODE_IP_WHITELIST: Final = 100419
CODE_TIMESTAMP: Final = 100421
CODE_INTERNAL: Final = 100500
CODE_REQUEST_FAILED: Final = 80001
CODE_SERVICE_UNAVAILABLE: Final = 80012
CODE_TOO_MANY_OPEN_ORDERS: Final = 80013
CODE_PARAM: Final = 80014
CODE_ORDER_NOT_EXIST: Final = 80016
CODE_POSITION_NOT_EXIST: Final = 80017
CODE_ORDER_ALREADY_FILLED: Final = 80018
CODE_ORDER_PROCESSING: Final = 80019
CODE_RISK_FORBIDDEN: Final = 80020
CODE_INSUFFICIENT_MARGIN: Final = 101204
CODE_DUPLICATE_WITHIN_1S: Final = 101209
CODE_POST_ONLY: Final = 101215
CODE_REDUCE_ONLY: Final = 101290
CODE_RPC_TIMEOUT: Final = 101500
CODE_DUPLICATE_CLIENT_ORDER_ID: Final = 101481
CODE_DUPLICATE_WITHIN_1S_ALT: Final = 109201
CODE_VALIDATION: Final = 109400
CODE_ORDER_NOT_EXIST_ALT: Final = 109414

AMBIGUOUS_CODES: Final = frozenset(
    {CODE_INTERNAL, CODE_RPC_TIMEOUT, CODE_SERVICE_UNAVAILABLE, CODE_ORDER_PROCESSING}
)
_UNKNOWN_ORDER_CODES: Final = frozenset({CODE_ORDER_NOT_EXIST, CODE_ORDER_NOT_EXIST_ALT})


def is_unknown_symbol(code: int, msg: str) -> bool:
    """BingX refuses a symbol it does not (or no longer) list: 109400/109500 "symbol not exist",
    80012 "contract not exist" (the swap trade docs' error lists)."""
    lowered = msg.lower()
    return code in (CODE_VALIDATION, 109500, CODE_SERVICE_UNAVAILABLE) and (
        "symbol not exist" in lowered or "contract not exist" in lowered
    )


def is_timestamp_error(code: int, msg: str) -> bool:
    """Clock-skew rejection (fix: resync server time, retry once)."""
    lowered = msg.lower()
    if code == CODE_TIMESTAMP:
        # 100421 is also "This pair is currently restricted from API trading": only the timestamp wording.
        return "timestamp" in lowered or not lowered
    return code == CODE_VALIDATION and "timestamp" in lowered


class BingxError(VenueError):
    """Base class for all errors raised by the BingX HTTP client."""

    venue = "BingX"


class BingxRejection(VenueRejection, BingxError):
    """BingX rejected the request (definite: nothing happened)."""

    @property
    def is_post_only(self) -> bool:
        return self.code == CODE_POST_ONLY

    @property
    def is_unknown_order(self) -> bool:
        return self.code in _UNKNOWN_ORDER_CODES

    @property
    def is_already_filled(self) -> bool:
        return self.code == CODE_ORDER_ALREADY_FILLED

    @property
    def is_duplicate_client_order_id(self) -> bool:
        return self.code == CODE_DUPLICATE_CLIENT_ORDER_ID

    @property
    def is_timestamp_error(self) -> bool:
        return is_timestamp_error(self.code, self.msg)

    @property
    def is_listen_key_not_found(self) -> bool:
        """listenKey PUT/DELETE answered HTTP 404 (expired or unknown key: create a new one)."""
        return self.http_status == 404


class BingxRateLimited(VenueRateLimited, BingxRejection):
    """HTTP 429 / 418 or business code 100410. The request was not executed."""


class BingxAmbiguous(VenueAmbiguous, BingxError):
    """Outcome unknown: the request may or may not have taken effect. Resolve by querying."""


class BingxTransportError(VenueTransportError, BingxError):
    """The request never reached BingX (connection refused / DNS failure)."""
