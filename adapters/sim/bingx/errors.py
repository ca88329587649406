"""BingX errors: the ``{code, msg, data}`` envelope and the mapping of engine refusals to codes.

BingX answers business errors with HTTP 200 and a non-zero ``code``; only transport-level problems
(rate limit 429, unknown path 404, listen-key 404) use the HTTP status. Codes and wording follow
the official docs' error tables ("Error codes" and each endpoint's) and responses published in
clients' issue trackers.
"""

from __future__ import annotations

from typing import Any

import msgspec

from adapters.sim.model import RejectReason, VenueReject

SIGNATURE_MISMATCH = 100001
PERMISSION_DENIED = 100004
INVALID_PARAM = 100400
RATE_LIMITED = 100410
NULL_SIGNATURE = 100412
INCORRECT_API_KEY = 100413
TIMESTAMP_MISMATCH = 100421
INTERNAL = 100500
SERVICE_UNAVAILABLE = 80012
INVALID_PARAMETERS = 80014
ORDER_NOT_EXIST = 80016
POSITION_NOT_EXIST = 80017
ORDER_FILLED = 80018
INSUFFICIENT_MARGIN = 101204
NO_POSITION_TO_CLOSE = 101205
PENDING_ORDERS_EXIST = 101212
POST_ONLY_WOULD_TAKE = 101215
PRICE_OUT_OF_BOUNDS = 101211
MIN_NOTIONAL = 101400
LEVERAGE_TOO_HIGH = 101414
ORDER_SIZE_LIMIT = 101419
DUPLICATE_CLIENT_ID = 101481
VALIDATION = 109400
SYMBOL_NOT_EXIST = 109500


class BingxError(Exception):
    """A refusal in BingX's vocabulary (raised by the dialect, rendered by the route)."""

    def __init__(self, code: int, msg: str, status: int = 200, *, timestamp: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.timestamp = timestamp

    def body(self) -> dict[str, Any]:
        if self.timestamp is not None:  # the auth errors carry a timestamp instead of data
            return {"code": self.code, "msg": self.msg, "timestamp": self.timestamp}
        return {"code": self.code, "msg": self.msg, "data": {}}

    def json(self) -> bytes:
        return msgspec.json.encode(self.body())


def invalid(detail: str) -> BingxError:
    return BingxError(INVALID_PARAMETERS, f"Invalid parameters, {detail}")


def required(name: str) -> BingxError:
    return invalid(f"{name}: This field is required.")


def bad_signature(now_ms: int) -> BingxError:
    return BingxError(
        SIGNATURE_MISMATCH,
        "Signature verification failed due to signature mismatch, please verify our authentication "
        "signature generation algorithm and parameter order",
        timestamp=now_ms,
    )


def null_signature(now_ms: int) -> BingxError:
    return BingxError(NULL_SIGNATURE, "Null signature", timestamp=now_ms)


def incorrect_api_key(now_ms: int) -> BingxError:
    return BingxError(INCORRECT_API_KEY, "Incorrect apiKey", timestamp=now_ms)


def timestamp_mismatch(now_ms: int) -> BingxError:
    return BingxError(
        TIMESTAMP_MISMATCH,
        "Null timestamp or timestamp mismatch, please check the timestamp parameter",
        timestamp=now_ms,
    )


def rate_limited() -> BingxError:
    return BingxError(RATE_LIMITED, "rate limit exceeded, please retry later", 429)


def order_not_exist() -> BingxError:
    return BingxError(ORDER_NOT_EXIST, "order not exist")


_TABLE: dict[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (SYMBOL_NOT_EXIST, "symbol not exist"),
    RejectReason.PRICE_FILTER: (PRICE_OUT_OF_BOUNDS, "The order price is out of the allowed range"),
    RejectReason.LOT_SIZE: (ORDER_SIZE_LIMIT, "The order size must be within the allowed range"),
    RejectReason.MARKET_LOT_SIZE: (ORDER_SIZE_LIMIT, "The order size must be within the allowed range"),
    RejectReason.MIN_NOTIONAL: (
        MIN_NOTIONAL,
        "The minimum nominal value of the order placed must be greater than 2u",
    ),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        POST_ONLY_WOULD_TAKE,
        "Maker (Post Only) order ensures user always acts as a maker; the order would take, cancelled",
    ),
    RejectReason.REDUCE_ONLY_REJECTED: (NO_POSITION_TO_CLOSE, "No position to close"),
    RejectReason.INSUFFICIENT_MARGIN: (INSUFFICIENT_MARGIN, "Insufficient margin"),
    RejectReason.WOULD_IMMEDIATELY_TRIGGER: (
        110400,
        "The stop price would trigger immediately; parameters don't meet the requirement",
    ),
    RejectReason.ORDER_NOT_FOUND: (ORDER_NOT_EXIST, "order not exist"),
    RejectReason.CANCEL_REJECTED: (ORDER_FILLED, "order already filled or cancelled"),
    RejectReason.DUPLICATE_CLIENT_ID: (DUPLICATE_CLIENT_ID, "clientOrderID cannot be repeated"),
    RejectReason.POSITION_MODE_CHANGE_WITH_OPEN: (
        PENDING_ORDERS_EXIST,
        "Please check if you have pending orders or positions",
    ),
    RejectReason.INVALID_LEVERAGE: (LEVERAGE_TOO_HIGH, "The leverage is out of the allowed range"),
    RejectReason.GTD_IN_PAST: (INVALID_PARAMETERS, "Invalid parameters, goodTillDate"),
}


def from_reject(reject: VenueReject, *, hedge_mode: bool = False) -> BingxError:
    reason = reject.reason
    if reason is RejectReason.POSITION_SIDE_MISMATCH:
        if hedge_mode:
            return BingxError(
                VALIDATION, "In the Hedge mode, the 'PositionSide' field can only be set to LONG or SHORT"
            )
        return BingxError(VALIDATION, "In the One-way mode, the 'PositionSide' field can only be set to BOTH")
    if reason is RejectReason.INVALID_PARAMETER and "reduceOnly" in str(reject):
        return BingxError(VALIDATION, "In the Hedge mode, the 'ReduceOnly' field can not be filled")
    code, msg = _TABLE.get(reason, (INVALID_PARAMETERS, f"Invalid parameters, {reject}"))
    return BingxError(code, msg)
