"""Every fuzz target for a few seconds with a fixed seed, in worker processes: any finding fails.

One campaign (both cores, about 30 s of fuzzing plus process start-up) feeds one test per target, so a
failure names its target and its findings (with the reproducer directory). The full runs are
``make fuzz``; the reproducers of everything found so far are in ``test_regressions.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fuzz.runner import run_campaign
from tests.fuzz.targets import TARGET_NAMES

SMOKE_SECONDS = 24.0
SMOKE_SEED = 20261202

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("fuzz")
    summary = run_campaign(
        list(TARGET_NAMES), SMOKE_SECONDS, seed=SMOKE_SEED, out=out, jobs=2, minimize=False, quiet=True
    )
    return summary, out


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_fuzz_target_finds_nothing(campaign: tuple[dict[str, Any], Path], target: str) -> None:
    summary, out = campaign
    stats = summary["targets"][target]
    assert stats.get("inputs", 0) > 0, stats  # the target ran
    findings = [f for f in summary["findings"] if f["target"] == target]
    assert findings == [], "\n".join(
        f"{f['kind']} {f.get('where', '')}: {str(f.get('detail', ''))[:160]} [{f.get('dir', out)}]"
        for f in findings
    )
