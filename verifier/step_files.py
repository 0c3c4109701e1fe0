"""The files a step's verdict depends on, and their hashes: one rule for recording and checking.

The engine records these hashes in verification_result.json (`files`); `hdecomp verify` computes
them again to tell a fresh result from a stale one, and op coverage keys its cache by content.
All of them call this module, so a file the engine judges is exactly a file whose change makes
the result stale.
"""

from __future__ import annotations

import hashlib
import os
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


# Files Python can run or load code from without a .py source the static rules could read:
# extension modules (which win over a .py of the same name), path-configuration files, bytecode
# beside the sources (a sourceless `x.pyc` imports as `x`). Bytecode inside __pycache__ is
# harmless: the worker sets sys.pycache_prefix to a private folder, so it is never read.
FORBIDDEN_SUFFIXES = (".so", ".pyd", ".dll", ".dylib", ".pth", ".pyc", ".pyo", ".egg", ".whl",
                      ".zip")


def child_python_files(children_dir: Path) -> list[Path]:
    """Every .py under children/, recursively (package __init__.py included), sorted; symlinks
    and __pycache__ are not followed (forbidden_step_files reports them)."""
    out: list[Path] = []
    if not children_dir.is_dir():
        return out
    for root, dirs, files in os.walk(children_dir, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not (Path(root) / d).is_symlink())
        out.extend(Path(root) / f for f in files
                   if f.endswith(".py") and not (Path(root) / f).is_symlink())
    return sorted(out)


def _ignored_cache(path: Path) -> bool:
    """A .pyc/.pyo inside __pycache__: the worker never reads it (see FORBIDDEN_SUFFIXES)."""
    return path.parent.name == "__pycache__" and path.suffix in (".pyc", ".pyo")


def forbidden_step_files(step_dir: Path, *, children_dir: Path,
                         refactored: Path) -> list[tuple[str, str]]:
    """(path relative to the step, why) for every file under children/ that could run code the
    static rules never read: a native extension, a .pth, compiled bytecode, or a symlink (one
    that leaves children/ imports a file outside the step; one inside hides which file runs).
    A refactored.py that is a symlink leaving the step is refused too."""
    found: list[tuple[str, str]] = []
    step_real = step_dir.resolve()
    if refactored.is_symlink() and step_real not in refactored.resolve().parents:
        found.append((relative_name(refactored, step_dir), f"refactored.py is a symlink to "
                      f"{refactored.resolve()}, outside the step; copy the file in"))
    if not children_dir.is_dir():
        return found
    for root, dirs, files in os.walk(children_dir, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(root) / name
            rel = relative_name(path, step_dir) if not path.is_symlink() else \
                (Path(relative_name(path.parent, step_dir)) / name).as_posix()
            if path.is_symlink():
                found.append((rel, f"a symlink (to {os.readlink(path)}) under children/: the "
                              "file that runs is not the one the step shows; copy the file in"))
            elif name.endswith(FORBIDDEN_SUFFIXES) and path.is_file() and not _ignored_cache(path):
                found.append((rel, f"`{name}` under children/ is code Python can load without a "
                              ".py source the verifier reads (extension, .pth or bytecode); "
                              "delete it"))
        dirs[:] = [d for d in dirs if not (Path(root) / d).is_symlink()]
    return found


def judged_files(step_dir: Path, *, original: Path, refactored: Path, children_dir: Path,
                 weight_map: Path | None, sidecars: bool = True) -> dict[str, str]:
    """sha256 of every file the engine judges for a step, keyed by its path relative to the
    step directory: the original, refactored.py, every .py under children/ (recursively, package
    __init__.py files included), the weight map, and with
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
        for child in child_python_files(children_dir):
            add(child)
        if sidecars:
            for child in child_python_files(children_dir):
                add(child.with_suffix(BUFFERS_SUFFIX))
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
