"""Signed verification results: the per-user key, the signature, and what breaks it."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from verifier import signing
from verifier.report import StepResult


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HDECOMP_HOME: the key is created there on first use."""
    path = tmp_path / "hdecomp-home"
    monkeypatch.setenv("HDECOMP_HOME", str(path))
    return path


def test_key_created_once_private_outside_the_tree(home: Path) -> None:
    assert signing.load_key(create=False) is None
    key = signing.load_key()
    path = home / signing.KEY_FILE
    assert len(key) == 32 and path.read_bytes() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.load_key() == key  # reused, not replaced
    assert list(home.iterdir()) == [path]  # no temporary file left behind


def test_key_falls_back_to_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HDECOMP_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert signing.key_dir() == tmp_path / ".config" / "hdecomp"


def test_sign_and_check(home: Path) -> None:
    result = {"status": "FAIL", "numerical_comparison": {"max_diff_across_trials": float("inf")},
              "files": {"refactored.py": "ab"}}
    signed = signing.sign(result)
    assert signed["signature"]["alg"] == "hmac-sha256"
    assert signed["signature"]["key_id"] == signing.key_id(signing.load_key())
    assert signing.check(signed) == ""
    # What is stored is JSON: the signature survives a round trip through the file.
    assert signing.check(json.loads(json.dumps(signing._plain(signed)))) == ""
    assert signing.check(result) == "not signed"
    edited = {**signed, "status": "PASS"}
    assert "does not match" in signing.check(edited)
    other = signing.sign(result, key=b"\x01" * 32)
    assert signing.check(other) == "signed by another key"
    forged_id = {**other, "signature": {**other["signature"], "key_id": signed["signature"]["key_id"]}}
    assert "does not match" in signing.check(forged_id)
    assert signing.check({**signed, "signature": "PASS"}) == "malformed signature"
    assert signing.check([1, 2]) == "not a JSON object"


def test_step_result_write_is_signed_and_keeps_the_spec_fields(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "verification_result.json"
    StepResult(status="PASS", original_file="o.py", refactored_file="r.py", step_name="s",
               numerical_comparison={"status": "PASS", "rtol": 1e-5, "atol": 1e-6}).write(out)
    data = json.loads(out.read_text())
    assert signing.check(data) == ""
    # The spec's verification_result.json fields are all still there.
    for key in ("timestamp", "original_file", "refactored_file", "status", "anticheat",
                "weight_transfer", "numerical_comparison"):
        assert key in data
    data["numerical_comparison"]["status"] = "FAIL"
    assert signing.check(data) != ""
