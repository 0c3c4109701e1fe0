"""decomposition_log.json: the specification's record of decisions and difficulties.

One JSON object, `{"format": DECOMPOSITION_LOG_FORMAT, "entries": [...]}`; every entry has
`time` (UTC, ISO 8601), `command` and `args`. `lower` writes the first entry
(codegen/reports.py: lower_log_entry: the front end, the passes that ran, the decisions to
review, loops and specialised branches, the verdict); each edit command appends one entry with
`changes` (the lines it printed), and `verify` one with its verdict. prompts/OUTPUT_SCHEMA.md
documents the format.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from codegen.reports import log_bytes
from hdecomp_ir.spec import DECOMPOSITION_LOG_JSON


def now() -> str:
    """The current UTC time, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


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


def record_verification(out_dir: Path, status: str) -> None:
    """`lower`'s verdict, in its own entry (it ran after the entry was written)."""
    entries = read_entries(out_dir)
    if entries and entries[0].get("command") == "lower":
        entries[0]["verification"] = status
        (Path(out_dir) / DECOMPOSITION_LOG_JSON).write_bytes(log_bytes(entries))
