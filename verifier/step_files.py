"""The files a step's verdict depends on, and their hashes: one rule for recording and checking.

The engine records these hashes in verification_result.json (`files`); `hdecomp verify` computes
them again to tell a fresh result from a stale one, and op coverage keys its cache by content.
All of them call this module, so a file the engine judges is exactly a file whose change makes
the result stale.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from hdecomp_ir.spec import BUFFERS_SUFFIX, CHILDREN_DIR, ORIGINAL_FILE, REFACTORED_FILE, WEIGHT_MAP_JSON


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def relative_name(path: Path, base: Path) -> str:
    """`path` relative to `base` in POSIX form; the absolute path when it lies outside."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def judged_files(step_dir: Path, *, original: Path, refactored: Path, children_dir: Path,
                 weight_map: Path | None, sidecars: bool = True) -> dict[str, str]:
    """sha256 of every file the engine judges for a step, keyed by its path relative to the
    step directory: the original, refactored.py, every children/*.py, the weight map, and with
    `sidecars` the buffer sidecars of the original and the children (tensors the judged code
    loads, so editing one makes the result stale). Missing files are left out.
    """
    files: dict[str, str] = {}

    def add(path: Path) -> None:
        if path.is_file():
            files[relative_name(path, step_dir)] = sha256_file(path)

    add(original)
    add(refactored)
    if children_dir.is_dir():
        for child in sorted(children_dir.glob("*.py")):
            add(child)
        if sidecars:
            for sidecar in sorted(children_dir.glob(f"*{BUFFERS_SUFFIX}")):
                add(sidecar)
    if sidecars:
        add(original.with_suffix(BUFFERS_SUFFIX))
    if weight_map is not None:
        add(weight_map)
    return files


def step_files(step_dir: Path, *, sidecars: bool = True) -> dict[str, str]:
    """`judged_files` of a step laid out as the specification says (original.py,
    refactored.py, children/, weight_map.json when present), as `hdecomp verify` finds it."""
    step_dir = Path(step_dir)
    return judged_files(step_dir, original=step_dir / ORIGINAL_FILE,
                        refactored=step_dir / REFACTORED_FILE, children_dir=step_dir / CHILDREN_DIR,
                        weight_map=step_dir / WEIGHT_MAP_JSON, sidecars=sidecars)
