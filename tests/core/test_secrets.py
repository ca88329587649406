from __future__ import annotations

import hashlib
import hmac
import pickle

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.core.base.secrets import HmacSha256, MaskedReprMixin, mask

SECRET = "S3cr3tValueThatMustNeverAppear"


class _Cfg(MaskedReprMixin, msgspec.Struct, frozen=True):  # type: ignore[misc]
    api_key: str | None = None
    api_secret: str | None = None
    other: int = 1


def test_mask() -> None:
    assert mask("abcdefghijkl") == "abcd...ijkl"
    assert mask("short") == "***"
    assert mask(None) == "None"


def test_masked_repr() -> None:
    cfg = _Cfg(api_key="KEYabcdefghijkl", api_secret=SECRET, other=7)
    for text in (repr(cfg), str(cfg), str(list(cfg.__rich_repr__()))):
        assert SECRET not in text
        assert "KEYabcdefghijkl" not in text
    assert repr(cfg) == "_Cfg(api_key='KEYa...ijkl', api_secret='***', other=7)"
    assert repr(_Cfg()) == "_Cfg(api_key=None, api_secret=None, other=1)"


def test_redact_url_hides_every_query_value() -> None:
    from adapters.core.base.secrets import redact_url

    url = "wss://fstream.binance.com/private/ws?listenKey=SECRETKEY&x=1&flag"
    assert redact_url(url) == "wss://fstream.binance.com/private/ws?listenKey=***&x=***&flag"
    assert redact_url("ws://127.0.0.1:1/ws") == "ws://127.0.0.1:1/ws"


@given(st.binary(min_size=1, max_size=80), st.text(max_size=300))
def test_the_keyed_hmac_state_signs_exactly_as_a_fresh_hmac_every_time(key: bytes, payload: str) -> None:
    signer = HmacSha256(key)
    expected = hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()
    # Twice: the keyed state is copied per payload, never consumed by one.
    assert signer.hexdigest(payload) == expected
    assert signer.hexdigest(payload) == expected
    assert (
        signer.hexdigest(payload + "x") == hmac.new(key, (payload + "x").encode(), hashlib.sha256).hexdigest()
    )


def test_the_keyed_hmac_state_never_shows_or_pickles_its_key() -> None:
    signer = HmacSha256(b"very-secret-key")
    assert "very-secret" not in repr(signer) and "very-secret" not in str(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)
