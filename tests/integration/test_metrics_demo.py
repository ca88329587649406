"""``python -m examples.demo --metrics-port 0``: the demo serves every client's Prometheus metrics, prints the
URL once the node is up and ends with a digest of one scrape (both venues connected again after their
faults, recoveries counted). A subprocess, like tests/examples/test_demo.py: the node's logger is
process-global."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_shows_the_metrics_endpoint(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "examples.demo", "--quiet", "--out", str(tmp_path), "--metrics-port", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "RESULT: OK" in out
    url = re.search(r"^metrics: (http://127\.0\.0\.1:\d+/metrics)", out, re.M)
    assert url is not None, out
    assert out.index(url.group(0)) < out.index("RESULT: OK")  # printed while the node runs
    digest = re.search(rf"^metrics endpoint {re.escape(url.group(1))}: (\d+) series", out, re.M)
    assert digest is not None and int(digest.group(1)) > 50, out
    assert re.search(r"^user stream state\s+connected\s+connected\s*$", out, re.M), out
    recoveries = re.search(r"^  recoveries\s+(\d+)\s+(\d+)\s*$", out, re.M)
    assert recoveries is not None and all(int(n) > 0 for n in recoveries.groups()), out
    # Binance's weight of the current minute (0 if the minute rolled after the last request).
    assert re.search(r"^REST weight used \(1m\)\s+\d+\s+", out, re.M), out
