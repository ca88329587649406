"""Binance error envelope and the mapping from engine ``RejectReason`` to Binance codes.

Binance answers every refusal with ``{"code": <negative int>, "msg": <text>}``; the HTTP status is
400 for business errors, 401 for key problems, 429/418 for rate limits, 5xx when the execution
status is unknown. The messages below are the venue's own wording where it is documented.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from adapters.sim.model import RejectReason, SymbolSpec, VenueReject


class BinanceError(Exception):
    """A refusal rendered in Binance's vocabulary (raised by the dialect, caught by the route)."""

    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.code, "msg": self.msg}

    def json(self) -> bytes:
        return msgspec.json.encode(self.body())


# Frequently used errors -------------------------------------------------------------------------

UNKNOWN = -1000
DISCONNECTED = -1001
TOO_MANY_REQUESTS = -1003
TIMEOUT = -1007
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
MANDATORY_PARAM = -1102
BAD_SYMBOL = -1121
INVALID_LISTEN_KEY = -1125
INVALID_PARAMETER = -1130
BAD_RECV_WINDOW = -1131
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        MANDATORY_PARAM, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def invalid_param(name: str) -> BinanceError:
    return BinanceError(INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid.")


# The account-wide cap on open conditional (algo) orders. Relied on: the derivatives change log of
# 2025-12-29 ("The parameter filterType MAX_NUM_ALGO_ORDERS has been removed from GET
# /fapi/v1/exchangeInfo. The conditional order limits is 200 across all symbols.") and the USDS-M
# error-code list: -4045 MAX_STOP_ORDER_EXCEEDED "Reach max stop order limit.".
MAX_STOP_ORDER_EXCEEDED = -4045


def max_stop_orders() -> BinanceError:
    return BinanceError(MAX_STOP_ORDER_EXCEEDED, "Reach max stop order limit.")


def listen_key_missing() -> BinanceError:
    return BinanceError(INVALID_LISTEN_KEY, "This listenKey does not exist.")


def bad_api_key() -> BinanceError:
    return BinanceError(REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", 401)


def api_key_format() -> BinanceError:
    return BinanceError(BAD_API_KEY_FMT, "API-key format invalid.", 401)


def bad_signature() -> BinanceError:
    return BinanceError(INVALID_SIGNATURE, "Signature for this request is not valid.")


def timestamp_outside_window() -> BinanceError:
    return BinanceError(INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow.")


def timestamp_ahead() -> BinanceError:
    return BinanceError(
        INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time."
    )


def too_much_weight(limit: int, per: str = "1 MINUTE") -> BinanceError:
    return BinanceError(
        TOO_MANY_REQUESTS,
        f"Too much request weight used; current limit is {limit} request weight per {per}. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        429,
    )


def ip_banned(until_ms: int) -> BinanceError:
    return BinanceError(
        TOO_MANY_REQUESTS,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        418,
    )


# Context in which a reject happened: Binance words "order not found" differently for cancels.
CTX_PLACE = "place"
CTX_CANCEL = "cancel"
CTX_QUERY = "query"
CTX_MODIFY = "modify"
CTX_CONFIG = "config"

_TABLE: dict[RejectReason, tuple[int, str]] = {
    RejectReason.UNKNOWN_SYMBOL: (BAD_SYMBOL, "Invalid symbol."),
    RejectReason.PRICE_FILTER: (-4014, "Price not increased by tick size."),
    RejectReason.LOT_SIZE: (-4023, "Quantity not increased by step size."),
    RejectReason.MARKET_LOT_SIZE: (-4005, "Quantity greater than max quantity."),
    RejectReason.MIN_NOTIONAL: (
        -4164,
        "Order's notional must be no smaller than 5 (unless you choose reduce only).",
    ),
    RejectReason.POST_ONLY_WOULD_TAKE: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
    RejectReason.REDUCE_ONLY_REJECTED: (-2022, "ReduceOnly Order is rejected."),
    RejectReason.INSUFFICIENT_MARGIN: (-2019, "Margin is insufficient."),
    RejectReason.POSITION_SIDE_MISMATCH: (-4061, "Order's position side does not match user's setting."),
    RejectReason.WOULD_IMMEDIATELY_TRIGGER: (-2021, "Order would immediately trigger."),
    RejectReason.ALGO_TYPE_ON_ORDER_ENDPOINT: (
        -4120,
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
    ),
    RejectReason.ORDER_NOT_FOUND: (-2013, "Order does not exist."),
    RejectReason.CANCEL_REJECTED: (-2011, "Unknown order sent."),
    RejectReason.MODIFY_NOT_ALLOWED: (-2013, "Order does not exist."),
    RejectReason.MODIFY_NO_CHANGE: (-5027, "No need to modify the order."),
    RejectReason.DUPLICATE_CLIENT_ID: (-4116, "ClientOrderId is duplicated."),
    RejectReason.INVALID_PARAMETER: (INVALID_PARAMETER, "Data sent for parameter is not valid."),
    RejectReason.GTD_IN_PAST: (
        -5040,
        "The goodTillDate timestamp must be greater than the current time plus 600 seconds and "
        "smaller than 253402300799000",
    ),
    RejectReason.POSITION_MODE_CHANGE_WITH_OPEN: (
        -4068,
        "Position side cannot be changed if there exists position.",
    ),
    RejectReason.INVALID_LEVERAGE: (-4028, "Leverage is not valid"),
}


def from_reject(
    reject: VenueReject,
    context: str = CTX_PLACE,
    *,
    spec: SymbolSpec | None = None,
    price: Decimal | None = None,
    quantity: Decimal | None = None,
) -> BinanceError:
    """Translate an engine refusal; the request's price/quantity and the symbol's filters pick the
    precise code where Binance distinguishes cases (below min, above max, off step)."""
    reason = reject.reason
    detail = reject.detail.lower()
    code, msg = _TABLE.get(reason, (UNKNOWN, "An unknown error occurred while processing the request."))
    if reason is RejectReason.ORDER_NOT_FOUND and context == CTX_CANCEL:
        code, msg = -2011, "Unknown order sent."
    elif reason is RejectReason.PRICE_FILTER and spec is not None and price is not None:
        if price < spec.min_price:
            code, msg = -4013, f"Price less than min price {spec.min_price}."
        elif price > spec.max_price:
            code, msg = -4016, f"Limit price can't be higher than {spec.max_price}."
    elif (
        reason in (RejectReason.LOT_SIZE, RejectReason.MARKET_LOT_SIZE)
        and spec is not None
        and quantity is not None
    ):
        market = reason is RejectReason.MARKET_LOT_SIZE
        lo = spec.market_min_qty if market else spec.min_qty
        hi = spec.market_max_qty if market else spec.max_qty
        if quantity <= 0:
            code, msg = -4003, "Quantity less than or equal to zero."
        elif quantity < lo:
            code, msg = -4003, f"Quantity less than min quantity {lo}."
        elif quantity > hi:
            code, msg = -4005, f"Quantity greater than max quantity {hi}."
        else:
            code, msg = -4023, "Quantity not increased by step size."
    elif reason is RejectReason.MIN_NOTIONAL and spec is not None:
        msg = f"Order's notional must be no smaller than {spec.min_notional} (unless you choose reduce only)."
    elif reason is RejectReason.POSITION_MODE_CHANGE_WITH_OPEN and "order" in detail:
        code, msg = -4067, "Position side cannot be changed if there exists open orders."
    elif reason is RejectReason.INVALID_PARAMETER and reject.detail:
        msg = f"Data sent for parameter is not valid: {reject.detail}"
    return BinanceError(code, msg, 400)


def default_fail_error(status: int, code: int | None, msg: str | None) -> BinanceError:
    """The body an injected REST failure carries (``/sim/fail``)."""
    if code is None:
        if status == 429 or status == 418:
            code = TOO_MANY_REQUESTS
        elif status >= 500:
            code = TIMEOUT
        elif status == 401:
            code = REJECTED_MBX_KEY
        else:
            code = UNKNOWN
    if msg is None:
        msg = {
            TOO_MANY_REQUESTS: "Too many requests; current limit of IP is 2400 requests per minute.",
            TIMEOUT: "Timeout waiting for response from backend server. Send status unknown; "
            "execution status unknown.",
            -1006: "An unexpected response was received from the message bus. Execution status unknown.",
            DISCONNECTED: "Internal error; unable to process your request. Please try again.",
            REJECTED_MBX_KEY: "Invalid API-key, IP, or permissions for action.",
        }.get(code, "Injected failure.")
    return BinanceError(code, msg, status)
