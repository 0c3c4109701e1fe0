"""Shared fixtures: one StepVerifier (one fork server) for the whole verification test session."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from verifier import StepOptions, StepVerifier

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="session")
def verifier() -> Iterator[StepVerifier]:
    with StepVerifier() as v:
        yield v


def step_options(step_dir: Path, **overrides: object) -> StepOptions:
    """Options for a corpus-style step directory (original.py, refactored.py, children/)."""
    opts = StepOptions(original=step_dir / "original.py", refactored=step_dir / "refactored.py",
                       timeout=60.0)
    for key, value in overrides.items():
        setattr(opts, key, value)
    return opts


@pytest.fixture(name="step_options")
def step_options_fixture() -> Callable[..., StepOptions]:
    """`step_options(step_dir, **overrides)` for tests (conftest is not importable)."""
    return step_options
