"""Signatures on verification results: `hdecomp verify` trusts only results this user's hdecomp wrote.

A result file is data anyone (an agent, a step's own code) can write. The engine signs what it
writes with a per-user secret key, HMAC-SHA256 over a canonical JSON of the result without its
`signature` field; `hdecomp verify` reuses a stored result only when that signature checks with
the same key. The key lives outside every decomposition, in `$HDECOMP_HOME` when set, else in
`~/.config/hdecomp/`, as a 0600 file of 32 random bytes created on first use.

A signature says "this machine's verifier wrote exactly these bytes"; whether the result still
describes the step's files is the separate freshness check on its recorded hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import secrets
from pathlib import Path
from typing import Any

SIGNATURE_FIELD = "signature"
ALGORITHM = "hmac-sha256"
KEY_FILE = "result_key"
KEY_BYTES = 32


def key_dir() -> Path:
    """Where the key lives: $HDECOMP_HOME when set, else ~/.config/hdecomp."""
    home = os.environ.get("HDECOMP_HOME")
    return Path(home).expanduser() if home else Path.home() / ".config" / "hdecomp"


def load_key(create: bool = True) -> bytes | None:
    """This user's signing key; created (0600, 32 random bytes) on first use when `create`.

    Returns None only when the key does not exist and `create` is False. A key file of the
    wrong size is replaced, since no result signed by it can be told from a forgery.
    """
    path = key_dir() / KEY_FILE
    try:
        data = path.read_bytes()
        if len(data) == KEY_BYTES:
            return data
    except FileNotFoundError:
        pass
    if not create:
        return None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.tmp")
    # O_EXCL + 0600 from the start: the key is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
    finally:
        os.close(fd)
    try:
        # link() fails when another process created the key meanwhile: then theirs wins.
        os.link(tmp, path)
    except FileExistsError:
        data = path.read_bytes()
        if len(data) == KEY_BYTES:
            return data
        os.replace(tmp, path)
        return key
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


def key_id(key: bytes) -> str:
    """A short public name of the key (the first 16 hex digits of its sha256)."""
    return hashlib.sha256(key).hexdigest()[:16]


def _plain(value: Any) -> Any:
    """The value as strict JSON data (non-finite floats as strings, tuples as lists)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical_bytes(result: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no whitespace, the signature field left out."""
    body = {k: v for k, v in result.items() if k != SIGNATURE_FIELD}
    return json.dumps(_plain(body), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False, default=str).encode()


def sign(result: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """A copy of `result` with its `signature` field: {"alg", "key_id", "value"}."""
    key = load_key() if key is None else key
    mac = hmac.new(key, canonical_bytes(result), hashlib.sha256).hexdigest()
    return {**{k: v for k, v in result.items() if k != SIGNATURE_FIELD},
            SIGNATURE_FIELD: {"alg": ALGORITHM, "key_id": key_id(key), "value": mac}}


def check(result: Any, key: bytes | None = None) -> str:
    """'' when `result` carries a valid signature by this user's key, else why not (one line)."""
    if not isinstance(result, dict):
        return "not a JSON object"
    sig = result.get(SIGNATURE_FIELD)
    if sig is None:
        return "not signed"
    if not isinstance(sig, dict) or sig.get("alg") != ALGORITHM or not isinstance(sig.get("value"), str):
        return "malformed signature"
    key = load_key(create=False) if key is None else key
    if key is None:
        return "this machine has no result key yet"
    if sig.get("key_id") != key_id(key):
        return "signed by another key"
    try:
        expected = hmac.new(key, canonical_bytes(result), hashlib.sha256).hexdigest()
    except (TypeError, ValueError):
        return "unsignable content"
    if not hmac.compare_digest(expected, sig["value"]):
        return "signature does not match the content (edited after it was written)"
    return ""
