"""Paths of the test fixtures.

A module of its own with a unique name: `from conftest import ...` would pick up whichever
conftest (tests/ or tests/verification/) pytest imported first.
"""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
MODELS = TESTS / "models"
GOLDEN = TESTS / "golden"
