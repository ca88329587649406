from __future__ import annotations

import pytest

from adapters.binance_futures.config import (
    BinanceEnvironment,
    BinanceFuturesDataClientConfig,
    BinanceFuturesExecClientConfig,
    default_urls,
    resolve_credentials,
)

SECRET = "S3cr3tValueThatMustNeverAppear0123456789abcdef"
KEY = "KEYabcdefghijklmnopqrstuvwxyz0123456789"


def test_sim_is_default_and_needs_urls() -> None:
    cfg = BinanceFuturesExecClientConfig()
    assert cfg.environment is BinanceEnvironment.SIM
    assert default_urls(BinanceEnvironment.SIM) is None
    with pytest.raises(ValueError, match="base_url_http"):
        cfg.urls()
    sim = BinanceFuturesExecClientConfig(
        base_url_http="http://127.0.0.1:9001/", base_url_ws="ws://127.0.0.1:9002"
    )
    urls = sim.urls()
    assert urls.http == "http://127.0.0.1:9001"
    assert urls.ws == "ws://127.0.0.1:9002"
    assert urls.ws_api is None


def test_environment_default_urls_are_in_test_routes() -> None:
    """Every environment's URLs, as composed by the clients, are checked in test_routes.py."""
    for env in (BinanceEnvironment.TESTNET, BinanceEnvironment.DEMO, BinanceEnvironment.LIVE):
        urls = BinanceFuturesExecClientConfig(environment=env).urls()
        assert urls.ws_api is not None and urls.ws_api.startswith("wss://")
        assert BinanceFuturesDataClientConfig(environment=env).urls() == urls


def test_live_ws_api_url() -> None:
    assert BinanceFuturesExecClientConfig(environment=BinanceEnvironment.LIVE).urls().ws_api == (
        "wss://ws-fapi.binance.com/ws-fapi/v1"
    )


def test_explicit_url_overrides_default() -> None:
    cfg = BinanceFuturesExecClientConfig(environment=BinanceEnvironment.LIVE, base_url_http="http://x:1")
    assert cfg.urls().http == "http://x:1"
    assert cfg.urls().ws == "wss://fstream.binance.com"


def test_defaults() -> None:
    cfg = BinanceFuturesExecClientConfig()
    assert cfg.keepalive_interval_secs == 1800
    assert (cfg.recovery_backoff_initial_secs, cfg.recovery_backoff_cap_secs) == (1.0, 30.0)
    assert cfg.treat_expired_as_canceled is False
    assert cfg.use_reduce_only is True
    assert cfg.use_ws_trading is False
    assert cfg.dual_side_position is None
    assert cfg.recv_window_ms == 5000


@pytest.mark.parametrize("cls", [BinanceFuturesExecClientConfig, BinanceFuturesDataClientConfig])
def test_secret_never_in_repr_or_str(cls: type) -> None:
    cfg = cls(api_key=KEY, api_secret=SECRET, environment=BinanceEnvironment.TESTNET)
    for text in (repr(cfg), str(cfg), f"{cfg}", format(cfg)):
        assert SECRET not in text
        assert SECRET[:10] not in text
        assert KEY not in text  # key is shown shortened
        assert "api_secret='***'" in text
    rich = dict(cfg.__rich_repr__())
    assert rich["api_secret"] == "***"
    assert SECRET not in str(rich)


def test_config_roundtrip_and_hashable() -> None:
    cfg = BinanceFuturesExecClientConfig(api_key=KEY, api_secret=SECRET, environment=BinanceEnvironment.DEMO)
    assert BinanceFuturesExecClientConfig.parse(cfg.json()) == cfg
    assert hash(cfg) == hash(BinanceFuturesExecClientConfig.parse(cfg.json()))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keepalive_interval_secs": 0},
        {"recovery_backoff_initial_secs": 5.0, "recovery_backoff_cap_secs": 1.0},
        {"recv_window_ms": 70_000},
        {"http_timeout_secs": 0},
    ],
)
def test_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        BinanceFuturesExecClientConfig(**kwargs)


def test_resolve_credentials_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_FUTURES_API_KEY", "k")
    monkeypatch.setenv("BINANCE_FUTURES_API_SECRET", "s")
    assert resolve_credentials(None, None) == ("k", "s")
    assert resolve_credentials("k2", None) == ("k2", "s")
    monkeypatch.delenv("BINANCE_FUTURES_API_SECRET")
    with pytest.raises(ValueError, match="api_secret"):
        resolve_credentials("k", None)
