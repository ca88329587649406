"""Every fuzz target for a fixed number of cases and a fixed seed, in worker processes: any finding fails.

The cases are random mutations only (no hypothesis, whose run depends on timing): the smoke run is the
same on every machine, a slow CI box just takes longer. ``SMOKE_SECONDS`` is only a cap.

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

SMOKE_SECONDS = 150.0
SMOKE_SEED = 20261202
SMOKE_CASES = 800
SMOKE_CASES_SIM = 40  # a simulator case is a whole HTTP exchange with the venue

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("fuzz")
    cases = {t: SMOKE_CASES_SIM if t == "sim" else SMOKE_CASES for t in TARGET_NAMES}
    summary = run_campaign(
        list(TARGET_NAMES),
        SMOKE_SECONDS,
        seed=SMOKE_SEED,
        out=out,
        jobs=2,
        minimize=False,
        quiet=True,
        hypothesis_share=0.0,
        max_cases=cases,
    )
    return summary, out


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_fuzz_target_finds_nothing(campaign: tuple[dict[str, Any], Path], target: str) -> None:
    summary, out = campaign
    stats = summary["targets"][target]
    want = SMOKE_CASES_SIM if target == "sim" else SMOKE_CASES
    assert stats.get("inputs", 0) == want, stats  # the whole fixed run, not a time-cut part of it
    findings = [f for f in summary["findings"] if f["target"] == target]
    assert findings == [], "\n".join(
        f"{f['kind']} {f.get('where', '')}: {str(f.get('detail', ''))[:160]} [{f.get('dir', out)}]"
        for f in findings
    )
