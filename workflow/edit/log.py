"""decomposition_log.json: the specification's record of decisions and difficulties.

One JSON object, `{"format": LOG_FORMAT, "entries": [...]}`; every entry has `time` (UTC,
ISO 8601), `command` and `args`. `lower` writes the first entry (the front end, the passes that
ran, the fusion rules applied, notes and refusals); each edit command appends one entry with
`changes` (the lines it printed). prompts/OUTPUT_SCHEMA.md documents the format.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from hdecomp_ir.spec import DECOMPOSITION_LOG_JSON

LOG_FORMAT = "hdecomp-decomposition-log/1"


def now() -> str:
    """The current UTC time, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def log_bytes(entries: list[dict[str, Any]]) -> bytes:
    """The file's bytes for these entries."""
    return (json.dumps({"format": LOG_FORMAT, "entries": entries}, indent=2) + "\n").encode()


def read_entries(out_dir: Path) -> list[dict[str, Any]]:
    """The entries so far; a missing or unreadable log (a hand-made tree) starts a new one."""
    try:
        data = json.loads((Path(out_dir) / DECOMPOSITION_LOG_JSON).read_text())
    except (OSError, json.JSONDecodeError):
        return []
    entries = data.get("entries") if isinstance(data, dict) else None
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def append_entry(out_dir: Path, command: str, args: dict[str, Any], changes: list[str],
                 **extra: Any) -> None:
    """Append one edit's entry (command, args, what changed, time)."""
    entries = read_entries(out_dir)
    entries.append({"time": now(), "command": command, "args": args, "changes": changes, **extra})
    (Path(out_dir) / DECOMPOSITION_LOG_JSON).write_bytes(log_bytes(entries))
