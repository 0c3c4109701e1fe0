"""The --update-golden switch for golden-file tests; a private HDECOMP_HOME for the session."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Tests sign results with a key of their own, never the user's (~/.config/hdecomp); CLI
    # subprocesses inherit it.
    if "HDECOMP_HOME" not in os.environ:
        os.environ["HDECOMP_HOME"] = tempfile.mkdtemp(prefix="hdecomp-test-home-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="Rewrite golden files with the current output.")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
