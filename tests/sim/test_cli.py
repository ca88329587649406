"""The simulator CLI: prints one JSON line once it accepts connections, serves, and exits 0 on
SIGTERM/SIGINT."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "adapters.sim", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_urls_and_exits_cleanly(sig: signal.Signals) -> None:
    proc = start(
        "binance-futures",
        "--port",
        "0",
        "--seed",
        "9",
        "--listen-key-ttl",
        "60",
        "--max-connection-age",
        "600",
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the venue is listening (or the process dies)
        info = json.loads(line)
        assert set(info) == {
            "venue",
            "rest",
            "ws_market",
            "ws_user",
            "ws_api",
            "api_key",
            "api_secret",
            "ed25519_api_key",
            "ed25519_private_key_pem",
        }
        assert info["venue"] == "binance-futures" and info["ws_api"].endswith("/ws-fapi/v1")
        assert info["ed25519_private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
        with urllib.request.urlopen(info["rest"] + "/fapi/v1/ping", timeout=5) as r:
            assert r.status == 200 and json.loads(r.read()) == {}
        with urllib.request.urlopen(info["rest"] + "/sim/state", timeout=5) as r:
            assert json.loads(r.read())["venue"] == "binance-futures"
        proc.send_signal(sig)
        rc = proc.wait(timeout=10)
        assert rc == 0, proc.stderr.read() if proc.stderr else ""
        assert proc.stdout.read() == ""  # exactly one line
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_same_seed_same_credentials() -> None:
    lines = []
    for _ in range(2):
        proc = start("binance-futures", "--port", "0", "--seed", "4")
        try:
            assert proc.stdout is not None
            lines.append(json.loads(proc.stdout.readline()))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert lines[0]["api_key"] == lines[1]["api_key"] and lines[0]["rest"] != ""
