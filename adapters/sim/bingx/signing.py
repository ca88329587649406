"""BingX request authentication: ``X-BX-APIKEY`` header, ``timestamp`` + ``signature`` parameters,
optional ``recvWindow``.

``signature = hex(HMAC_SHA256(secret, paramString))`` over the parameters exactly as sent, in the
order sent (no sorting). With a query string and a form body the string signed is ``query + body``
with no ``&`` between (the 2023 official docs, BingX-swap-api-v2-doc). Clients disagree on
percent-encoding (CCXT signs the raw values and sends them encoded; the venue verifies the encoded
bytes for form bodies), so the verifier accepts the received string minus ``&signature=...`` or its
percent-decoded form.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from urllib.parse import unquote, unquote_plus

from adapters.sim.bingx import errors

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
MAX_AHEAD_MS = 1000


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    api_key: str
    secret: str
    account_id: str

    def verify(self, payloads: list[str], signature: str) -> bool:
        sig = signature.lower()
        return any(hmac.compare_digest(sign(self.secret, p), sig) for p in payloads)


class KeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}

    def add(self, api_key: str, secret: str, account_id: str) -> ApiKey:
        key = ApiKey(api_key, secret, account_id)
        self._keys[api_key] = key
        return key

    def get(self, api_key: str | None) -> ApiKey | None:
        return self._keys.get(api_key) if api_key else None


def _strip_signature(part: str) -> tuple[str, str | None]:
    signature: str | None = None
    kept = []
    for item in part.split("&") if part else []:
        if item.startswith("signature="):
            signature = unquote(item[len("signature=") :])
        else:
            kept.append(item)
    return "&".join(kept), signature


def payload_candidates(query: str, body: str) -> tuple[list[str], str | None]:
    """The strings a valid signature may cover, and the signature sent (query or body)."""
    q, sig_q = _strip_signature(query)
    b, sig_b = _strip_signature(body)
    joined = q + b
    out = [joined]
    for candidate in (unquote(joined), unquote(q) + unquote_plus(b)):
        if candidate not in out:
            out.append(candidate)
    return out, sig_q or sig_b


def check_timestamp(params: dict[str, str], server_ms: int) -> None:
    raw_ts = params.get("timestamp")
    try:
        ts = int(raw_ts) if raw_ts else None
    except ValueError:
        ts = None
    if ts is None:
        raise errors.timestamp_mismatch(server_ms)
    recv_window = DEFAULT_RECV_WINDOW_MS
    raw_rw = params.get("recvWindow")
    if raw_rw:
        try:
            value = float(raw_rw)
        except ValueError:
            raise errors.invalid("recvWindow") from None
        if math.isnan(value):
            raise errors.invalid("recvWindow")
        # Clamped as a float first: int(float("1e400")) would raise OverflowError (a 500).
        recv_window = DEFAULT_RECV_WINDOW_MS if value <= 0 else int(min(value, MAX_RECV_WINDOW_MS))
    if ts > server_ms + MAX_AHEAD_MS or server_ms - ts > recv_window:
        raise errors.timestamp_mismatch(server_ms)


def lookup_key(keys: KeyStore, api_key_header: str | None, server_ms: int) -> ApiKey:
    key = keys.get(api_key_header)
    if key is None:
        raise errors.incorrect_api_key(server_ms)
    return key


def authenticate(
    keys: KeyStore, api_key_header: str | None, query: str, body: str, params: dict[str, str], server_ms: int
) -> ApiKey:
    """Key, signature present, timestamp (100421), signature (100001)."""
    key = lookup_key(keys, api_key_header, server_ms)
    payloads, signature = payload_candidates(query, body)
    if not signature:
        raise errors.null_signature(server_ms)
    check_timestamp(params, server_ms)
    if not key.verify(payloads, signature):
        raise errors.bad_signature(server_ms)
    return key
