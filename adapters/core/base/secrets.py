"""Secret masking for configs and signers (venue-neutral).

* :func:`mask` shortens an API *key* for display (``abcd...wxyz``); never pass a secret to it.
* :class:`MaskedReprMixin` gives msgspec-Struct configs a ``repr``/``str``/rich repr in which secret fields
  are ``***`` and key fields are masked. Mix it in *before* the NautilusTrader config base class. The field
  sets are class attributes, so a venue can extend them.

``json()``/``dict()`` of a config still contain the secret (NautilusTrader round-trips configs through
them); never log those.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any, ClassVar, Final

SECRET_FIELDS: Final = frozenset({"api_secret"})
KEY_FIELDS: Final = frozenset({"api_key"})


def mask(value: str | None) -> str:
    """Mask a key for display: ``abcd...wxyz``; ``***`` for 8 characters or fewer; ``"None"`` if unset."""
    if not value:
        return "None"
    if len(value) <= 8:
        return "***"
    return f"{value[:4]}...{value[-4:]}"


class MaskedReprMixin:
    """repr/str/rich-repr that mask secrets. Mixed into msgspec Struct configs."""

    __struct_fields__: tuple[str, ...]
    _masked_secret_fields: ClassVar[frozenset[str]] = SECRET_FIELDS
    _masked_key_fields: ClassVar[frozenset[str]] = KEY_FIELDS

    def _masked_items(self) -> Iterator[tuple[str, Any]]:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if name in self._masked_secret_fields:
                yield name, ("***" if value else None)
            elif name in self._masked_key_fields:
                yield name, mask(value) if value else None
            else:
                yield name, value

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._masked_items())
        return f"{type(self).__name__}({inner})"

    def __str__(self) -> str:
        return self.__repr__()

    def __rich_repr__(self) -> Iterator[tuple[str, Any]]:
        yield from self._masked_items()


def redact_url(url: str) -> str:
    """The URL with every query value replaced by ``***``: a listen key in ``?listenKey=`` grants
    read access to the account's user stream and must not reach a log."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    parts = [f"{k}=***" if eq else k for k, eq, _ in (p.partition("=") for p in query.split("&"))]
    return f"{base}?{'&'.join(parts)}"


class HmacSha256:
    """``hexdigest(payload)``: HMAC-SHA256 in lowercase hex, with the key schedule done once.

    ``hmac.new(key, ...)`` pads and hashes the key on every call; copying a keyed state skips that
    (the same digest, about half the cost of a cold signature on the submit path). The state holds
    the key material: never ``repr``, ``str`` or pickle it.
    """

    __slots__ = ("_keyed",)

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)

    def hexdigest(self, payload: str) -> str:
        h = self._keyed.copy()
        h.update(payload.encode("utf-8"))
        return h.hexdigest()

    def __repr__(self) -> str:
        return "HmacSha256(key=***)"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:  # never pickle key material by accident
        raise TypeError("HmacSha256 cannot be pickled")
