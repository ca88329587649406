"""Venue-neutral HTTP error taxonomy.

The split that matters to an execution client:

* :class:`VenueRejection` - the venue answered and said no. The request had no effect; emit a rejection.
* :class:`VenueRateLimited` - a rejection because of rate limiting (HTTP 429/418 or a venue code).
* :class:`VenueAmbiguous` - the outcome is unknown: timeout, HTTP 5xx, connection cut after the request may
  have been sent, an undecodable 2xx body, or a venue code documented as "unknown outcome". The order may or
  may not exist; callers must resolve by querying the venue and must NOT emit a rejection.
* :class:`VenueTransportError` - the request provably never reached the venue (connection could not be
  established). Safe to treat as "not executed".
* :class:`FillsNotPublished` - two answers of the venue disagree (executed quantity vs trades): ask again.

Each venue subclasses these with its own name (``venue`` class attribute) and code predicates, so
``except BinanceRejection`` and ``except VenueRejection`` both work. No message may ever contain an API key,
secret, signature or full query string: only method, path, code and the venue's message.
"""

from __future__ import annotations

from typing import ClassVar


class VenueError(Exception):
    """Base class for all errors raised by a venue HTTP client."""

    venue: ClassVar[str] = "Venue"

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.path = path


class VenueRejection(VenueError):
    """The venue rejected the request (definite: nothing happened)."""

    def __init__(
        self, code: int, msg: str, *, http_status: int | None = None, method: str = "", path: str = ""
    ) -> None:
        super().__init__(
            f"{self.venue} rejected {method} {path}: code={code} msg={msg!r}", method=method, path=path
        )
        self.code = code
        self.msg = msg
        self.http_status = http_status

    # What every venue's execution client asks of a rejection; each venue says which codes mean it.
    @property
    def is_post_only(self) -> bool:
        """A post-only order refused because it would have taken liquidity."""
        return False

    @property
    def is_unknown_order(self) -> bool:
        """The venue does not know the order (or no longer has it open)."""
        return False


class VenueRateLimited(VenueRejection):
    """Rate limited (HTTP 429/418 or a venue rate-limit code). The request was not executed."""

    def __init__(
        self,
        code: int,
        msg: str,
        *,
        http_status: int | None,
        retry_after_secs: float | None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(code, msg, http_status=http_status, method=method, path=path)
        self.retry_after_secs = retry_after_secs

    @property
    def is_ip_ban(self) -> bool:
        return self.http_status == 418


class VenueAmbiguous(VenueError):
    """Outcome unknown: the request may or may not have taken effect. Resolve by querying."""

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(f"Ambiguous outcome for {method} {path}: {reason}", method=method, path=path)
        self.reason = reason
        self.code = code
        self.http_status = http_status


class VenueTransportError(VenueError):
    """The request never reached the venue (e.g. connection refused / DNS failure)."""


class FillsNotPublished(VenueError):
    """The venue's answers do not agree yet: an order's executed quantity is not what its trades
    add up to (trades published late, or the order traded between the two reads). Transient: asked
    again, they agree; acting on them now would make the engine infer a fill."""


def is_ambiguous_http_status(status: int) -> bool:
    """HTTP statuses whose outcome is unknown: 5xx (incl. 504 "unknown outcome") and 408."""
    return status >= 500 or status == 408
