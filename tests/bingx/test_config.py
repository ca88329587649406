from __future__ import annotations

import pytest

from adapters.bingx.config import (
    BingxDataClientConfig,
    BingxEnvironment,
    BingxExecClientConfig,
    default_urls,
    resolve_credentials,
)

SECRET = "S3cr3tValueThatMustNeverAppear0123456789abcdef"
KEY = "KEYabcdefghijklmnopqrstuvwxyz0123456789"


def test_sim_is_default_and_needs_urls() -> None:
    cfg = BingxExecClientConfig()
    assert cfg.environment is BingxEnvironment.SIM
    assert default_urls(BingxEnvironment.SIM) is None
    with pytest.raises(ValueError, match="base_url_http"):
        cfg.urls()
    urls = BingxExecClientConfig(
        base_url_http="http://127.0.0.1:9001/", base_url_ws="ws://127.0.0.1:9002"
    ).urls()
    assert (urls.http, urls.ws) == ("http://127.0.0.1:9001", "ws://127.0.0.1:9002")


@pytest.mark.parametrize(
    ("env", "http", "ws"),
    [
        (
            BingxEnvironment.VST,
            "https://open-api-vst.bingx.com",
            "wss://vst-open-api-ws.bingx.com/swap-market",
        ),
        (BingxEnvironment.LIVE, "https://open-api.bingx.com", "wss://open-api-swap.bingx.com/swap-market"),
    ],
)
def test_environment_urls(env: BingxEnvironment, http: str, ws: str) -> None:
    urls = BingxExecClientConfig(environment=env).urls()
    assert (urls.http, urls.ws) == (http, ws)
    assert BingxDataClientConfig(environment=env).urls() == urls


def test_explicit_url_overrides_default() -> None:
    urls = BingxExecClientConfig(environment=BingxEnvironment.LIVE, base_url_http="http://x:1").urls()
    assert urls.http == "http://x:1"
    assert urls.ws == "wss://open-api-swap.bingx.com/swap-market"


def test_defaults() -> None:
    cfg = BingxExecClientConfig()
    assert cfg.keepalive_interval_secs == 1800.0
    assert cfg.rotate_after_secs == 23.5 * 3600
    assert cfg.recv_window_ms == 5000
    assert cfg.dual_side_position is None
    assert cfg.use_reduce_only is True
    assert cfg.treat_expired_as_canceled is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keepalive_interval_secs": 0},
        {"keepalive_interval_secs": 3600},
        {"recovery_backoff_initial_secs": 5, "recovery_backoff_cap_secs": 1},
        {"rotate_after_secs": 100},
        {"recv_window_ms": 60_001},
        {"http_timeout_secs": 0},
    ],
)
def test_validation(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BingxExecClientConfig(**kwargs)  # type: ignore[arg-type]


def test_rotation_can_be_disabled() -> None:
    assert BingxExecClientConfig(rotate_after_secs=None).rotate_after_secs is None


@pytest.mark.parametrize("cls", [BingxExecClientConfig, BingxDataClientConfig])
def test_secret_masked(cls: type) -> None:
    cfg = cls(api_key=KEY, api_secret=SECRET)
    for text in (repr(cfg), str(cfg), str(list(cfg.__rich_repr__()))):
        assert SECRET not in text
        assert KEY not in text
    assert "api_secret='***'" in repr(cfg)
    assert "api_key='KEYa...6789'" in repr(cfg)


def test_resolve_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINGX_API_KEY", raising=False)
    monkeypatch.delenv("BINGX_API_SECRET", raising=False)
    with pytest.raises(ValueError, match="api_key") as err:
        resolve_credentials(None, SECRET)
    assert SECRET not in str(err.value)
    monkeypatch.setenv("BINGX_API_KEY", "k")
    monkeypatch.setenv("BINGX_API_SECRET", "s")
    assert resolve_credentials(None, None) == ("k", "s")
    assert resolve_credentials("a", "b") == ("a", "b")
