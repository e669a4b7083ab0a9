"""Shared by the evaluator tests: skip durable_rules where it cannot be installed."""

from __future__ import annotations

import sys

import pytest

NO_DURABLE = "durable-rules is not installed (it does not install on Python 3.13)"


def need_durable() -> None:
    """Skip the calling test unless durable_rules imports (never on Python 3.13)."""
    if sys.version_info >= (3, 13):
        pytest.skip("durable-rules does not install on Python 3.13", allow_module_level=True)
    pytest.importorskip("durable.engine", reason=NO_DURABLE)
