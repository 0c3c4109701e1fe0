"""The README and docs/ARCHITECTURE.md stand on their own: no path outside the repository, and
every repository path they name exists (a moved file makes them lie)."""

from __future__ import annotations

import re

import pytest

from fixture_paths import TESTS

REPO = TESTS.parent
DOCS = ["README.md", "docs/ARCHITECTURE.md"]
# `folder/` or `folder/file.ext` in backticks, the way the docs name repository paths
REPO_PATH = re.compile(r"`((?:[a-z_]+/)+(?:[a-zA-Z_]+\.(?:py|md|json|txt|cfg))?)`")


@pytest.mark.parametrize("doc", DOCS)
def test_no_path_outside_the_repository(doc: str) -> None:
    text = (REPO / doc).read_text()
    outside = re.findall(r"(?<![\w.])(?:\.\./|/work/|/root/|/home/|/tmp/)\S*", text)
    assert outside == []


@pytest.mark.parametrize("doc", DOCS)
def test_named_repository_paths_exist(doc: str) -> None:
    text = (REPO / doc).read_text()
    named = sorted(set(REPO_PATH.findall(text)))
    # paths inside an output tree (`level_0_kernel/...`, `steps/...`) are not repository paths
    named = [p for p in named if not p.startswith(("level_", "steps/", "verification/", "output/"))]
    assert named, f"{doc} names no repository path: the pattern is broken"
    missing = [p for p in named if not (REPO / p).exists()]
    assert missing == []
