"""The core moved from a flat folder into named layers; code written against the old paths still runs.

Users' strategies, scripts and tests import ``adapters.core.<module>`` and patch names through it, and
configure logging by logger name. The old path must be the *same* module object as the new one (so a
patch through either is seen by both), and logger names must not change.
"""

from __future__ import annotations

import importlib
import logging
import subprocess
import sys

import pytest

from adapters.core import _LAYER_OF


@pytest.mark.parametrize("module", sorted(_LAYER_OF))
def test_the_pre_layer_path_is_the_same_module(module: str) -> None:
    old = importlib.import_module(f"adapters.core.{module}")
    new = importlib.import_module(f"adapters.core.{_LAYER_OF[module]}.{module}")
    assert old is new


def test_from_imports_and_patches_through_the_old_path_reach_the_new_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from adapters.core.recovery import recover_once

    from adapters.core import recovery as old_recovery
    from adapters.core.userstream import recovery

    assert recover_once is recovery.recover_once
    monkeypatch.setattr("adapters.core.recovery.recover_once", "patched")
    assert recovery.recover_once == "patched"
    assert old_recovery is recovery


def test_the_old_path_works_in_a_fresh_interpreter_before_anything_else_is_imported() -> None:
    code = (
        "from adapters.core.gap_sync import report_external_order\n"
        "import adapters.core.order_facts as facts, adapters.core.orders.order_facts as new\n"
        "assert facts is new and report_external_order.__module__ == 'adapters.core.userstream.gap_sync'\n"
        "print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_logger_names_did_not_move() -> None:
    from adapters.core.userstream import recovery

    assert recovery._log is logging.getLogger("adapters.core.recovery")
