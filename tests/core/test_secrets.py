from __future__ import annotations

import msgspec

from adapters.core.base.secrets import MaskedReprMixin, mask

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
