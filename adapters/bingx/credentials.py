"""Request signing for BingX (HMAC-SHA256, lowercase hex).

``signature = hex(HMAC_SHA256(secret, param_string))`` where ``param_string`` is exactly the parameter string
the server will reconstruct (BingX verifies in the order received; nothing is sorted). Key material never
appears in ``repr``, ``str``, pickles or exception messages.
"""

from __future__ import annotations

from typing import Any, Final

from adapters.core.base.secrets import HmacSha256, mask

_ALLOWED: Final = frozenset(chr(c) for c in range(0x21, 0x7F))

__all__ = ["BingxCredentialError", "BingxSigner", "mask"]


class BingxCredentialError(ValueError):
    """Unusable key material. The message never contains the key itself."""


class BingxSigner:
    """``sign(payload) -> str`` (64 lowercase hex characters)."""

    __slots__ = ("_hmac",)

    def __init__(self, secret: str) -> None:
        if not isinstance(secret, str) or not secret.strip():
            raise BingxCredentialError("api_secret is empty")
        text = secret.strip()
        if not all(ch in _ALLOWED for ch in text):
            raise BingxCredentialError("api_secret must be printable ASCII without whitespace")
        self._hmac = HmacSha256(text.encode("ascii"))

    def sign(self, payload: str) -> str:
        return self._hmac.hexdigest(payload)

    def __repr__(self) -> str:
        return "BingxSigner(HMAC-SHA256, secret=***)"

    __str__ = __repr__

    def __reduce__(self) -> str | tuple[Any, ...]:  # never pickle key material by accident
        raise TypeError("BingxSigner cannot be pickled")
