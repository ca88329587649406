"""The main job (`make demo`) end to end, as a user runs it: a subprocess (the node's logger is
process-global, so the demo gets a process of its own), quiet, a fixed seed, artifacts in a temporary
directory. It must exit 0, report nothing lost or duplicated on either venue, and leave the node's
log and a timeline picture with the faults and recoveries of both venues."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_trades_both_venues_through_faults_and_draws_the_timeline(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "examples.demo", "--quiet", "--seed", "7", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "\r" not in out  # --quiet: no progress line
    assert "RESULT: OK" in out

    header = re.search(r"^\s+BINANCE\s+BINGX\s*$", out, re.M)
    assert header is not None, out
    for label in ("lost", "duplicated", "phantom", "status/filled mismatches"):
        row = re.search(rf"^{re.escape(label)}\s+(\d+)\s+(\d+)\s*$", out, re.M)
        assert row is not None and row.groups() == ("0", "0"), (label, out)
    trades = re.search(r"^trades on the venue\s+(\d+)\s+(\d+)", out, re.M)
    fills = re.search(r"^fills in the node\s+(\d+)\s+(\d+)", out, re.M)
    assert trades and fills and trades.groups() == fills.groups()
    assert all(int(n) > 0 for n in trades.groups())
    quotes = re.search(r"^quotes received\s+(\d+)\s+(\d+)", out, re.M)
    assert quotes and all(int(n) > 0 for n in quotes.groups())  # market data through our clients

    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    log = run_dir / "node.log"
    assert log.is_file() and "BINGX" in log.read_text() and "BINANCE" in log.read_text()
    svg = (run_dir / "timeline.svg").read_text()
    html = (run_dir / "timeline.html").read_text()
    assert svg.startswith("<svg") and "<svg" in html and "Legend" in html
    for venue in ("BINANCE", "BINGX"):
        lane = f'data-lane="{venue} user stream"'
        assert re.search(rf'class="mark fault" {lane}', svg), venue
        assert re.search(rf'class="span recovery" {lane}', svg), venue
        assert re.search(rf'class="mark fill" {lane}', svg), venue
        assert re.search(rf'class="mark fault" data-lane="{venue} market data"', svg), venue
    assert "state-open" in svg and "state-down" in svg
