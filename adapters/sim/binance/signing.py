"""Binance request authentication: API keys, HMAC-SHA256 / Ed25519 signatures, timestamps.

REST (SIGNED endpoints): ``totalParams`` is the raw query string concatenated with the raw
``x-www-form-urlencoded`` body, exactly as sent; the ``signature`` parameter (last) is removed
from whichever part carries it. HMAC keys sign with a lowercase hex digest, Ed25519 keys with a
base64 signature (percent-encoded on the wire).

WebSocket API: the payload is every param except ``signature``, sorted by name, URL-query
formatted. Clients differ in how they percent-encode values, so the verifier accepts the plain
``k=v`` join as well as the form-encoded one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlencode

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from adapters.sim.binance import errors
from adapters.sim.binance.errors import BinanceError
from adapters.sim.listen_keys import abbreviate as abbreviate  # shared; re-exported

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
MAX_AHEAD_MS = 1000


@dataclass(slots=True)
class ApiKey:
    api_key: str
    account_id: str
    hmac_secret: str | None = None
    ed25519_public: Ed25519PublicKey | None = None

    @property
    def is_ed25519(self) -> bool:
        return self.ed25519_public is not None

    def verify(self, payload: str, signature: str) -> bool:
        if self.hmac_secret is not None:
            expected = hmac_sha256_hex(self.hmac_secret, payload)
            return hmac.compare_digest(expected, signature.lower())
        if self.ed25519_public is not None:
            # Unencoded '+' in a form value decodes to a space; restore it before base64.
            raw_sig = signature.replace(" ", "+")
            try:
                sig = base64.b64decode(raw_sig, validate=True)
                self.ed25519_public.verify(sig, payload.encode())
            except (binascii.Error, ValueError, InvalidSignature):
                return False
            return True
        return False


class KeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}

    def add_hmac(self, api_key: str, secret: str, account_id: str) -> ApiKey:
        key = ApiKey(api_key=api_key, account_id=account_id, hmac_secret=secret)
        self._keys[api_key] = key
        return key

    def add_ed25519(self, api_key: str, public_key: Ed25519PublicKey, account_id: str) -> ApiKey:
        key = ApiKey(api_key=api_key, account_id=account_id, ed25519_public=public_key)
        self._keys[api_key] = key
        return key

    def get(self, api_key: str) -> ApiKey | None:
        return self._keys.get(api_key)


# --- primitives --------------------------------------------------------------------------------


def hmac_sha256_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ed25519_sign_b64(private_key: Ed25519PrivateKey, payload: str) -> str:
    return base64.b64encode(private_key.sign(payload.encode())).decode()


def ed25519_from_seed(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed).digest())


def private_key_pem(private_key: Ed25519PrivateKey) -> str:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_private_key_pem(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


# --- REST --------------------------------------------------------------------------------------


def split_signature(query: str, body: str) -> tuple[str, str | None]:
    """Return (signed payload, signature value) from the raw query string and body."""
    signature: str | None = None

    def strip(part: str) -> str:
        nonlocal signature
        if not part:
            return part
        kept = []
        for item in part.split("&"):
            if item.startswith("signature="):
                signature = unquote(item[len("signature=") :])
            else:
                kept.append(item)
        return "&".join(kept)

    return strip(query) + strip(body), signature


def check_timestamp(params: dict[str, str], server_ms: int) -> None:
    raw_ts = params.get("timestamp")
    if not raw_ts:
        raise errors.mandatory("timestamp")
    try:
        ts = int(raw_ts)
    except ValueError:
        raise errors.mandatory("timestamp") from None
    recv_window = DEFAULT_RECV_WINDOW_MS
    raw_rw = params.get("recvWindow")
    if raw_rw:
        try:
            value = float(raw_rw)
        except ValueError:
            raise errors.invalid_param("recvWindow") from None
        if math.isnan(value):
            raise errors.invalid_param("recvWindow")
        # Compared as a float first: int(float("1e400")) would raise OverflowError (a 500).
        if value > MAX_RECV_WINDOW_MS or value <= 0:
            raise BinanceError(errors.BAD_RECV_WINDOW, "recvWindow must be less than 60000")
        recv_window = int(value)
    if ts > server_ms + MAX_AHEAD_MS:
        raise errors.timestamp_ahead()
    if server_ms - ts > recv_window:
        raise errors.timestamp_outside_window()


def lookup_key(keys: KeyStore, api_key_header: str | None) -> ApiKey:
    if not api_key_header:
        raise errors.api_key_format()
    key = keys.get(api_key_header)
    if key is None:
        raise errors.bad_api_key()
    return key


def authenticate_rest(
    keys: KeyStore,
    api_key_header: str | None,
    query: str,
    body: str,
    params: dict[str, str],
    server_ms: int,
) -> ApiKey:
    """SIGNED request check, in Binance's order: key, signature present, timestamp, signature."""
    key = lookup_key(keys, api_key_header)
    payload, signature = split_signature(query, body)
    if not signature:
        raise errors.mandatory("signature")
    check_timestamp(params, server_ms)
    if not key.verify(payload, signature):
        raise errors.bad_signature()
    return key


# --- WebSocket API -----------------------------------------------------------------------------


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def ws_payloads(params: dict[str, object]) -> list[str]:
    """Candidate signed payloads for a WS-API request (plain join first, then form-encoded)."""
    items = sorted((k, _ws_value(v)) for k, v in params.items() if k != "signature")
    plain = "&".join(f"{k}={v}" for k, v in items)
    encoded = urlencode(items)
    quoted = "&".join(f"{k}={quote(v, safe='')}" for k, v in items)
    out = [plain]
    for candidate in (encoded, quoted):
        if candidate not in out:
            out.append(candidate)
    return out


def ws_sign_payload(params: dict[str, object]) -> str:
    """The payload a client signs for the WS API (what tests and the demo use)."""
    return ws_payloads(params)[0]


def verify_ws(key: ApiKey, params: dict[str, object], signature: str) -> bool:
    return any(key.verify(payload, signature) for payload in ws_payloads(params))
