"""A staged copy of a decomposition that is swapped in only when an edit succeeds.

An edit works on a full copy beside the target (`.NAME.edit-XXXX`); `commit()` moves its files
into the target only once the whole edit has succeeded, keeping the target's folders (a shell
inside them keeps working). A refused edit (any exception) removes the copy, so the user's
directory is never changed by it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from hdecomp_ir.errors import UserInputError
from hdecomp_ir.spec import TREE_JSON
from workflow.layout import is_decomposition, load_tree


def _apply(staged: Path, target: Path) -> None:
    """Make `target` hold what `staged` holds: files replaced one by one (os.replace, so a
    reader sees the old file or the new one), entries gone from `staged` removed, folders kept."""
    for entry in sorted(target.iterdir()):
        if not (staged / entry.name).exists() and not (staged / entry.name).is_symlink():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    for entry in sorted(staged.iterdir()):
        dest = target / entry.name
        if entry.is_dir() and not entry.is_symlink():
            if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
                dest.unlink()
            dest.mkdir(exist_ok=True)
            _apply(entry, dest)
        else:
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(entry, dest)


class EditSession:
    """`with EditSession(dir) as s:` edit files under `s.path`, then `s.commit()`."""

    def __init__(self, target: Path) -> None:
        self.target = Path(target).absolute()
        self.path = Path()
        self.changes: list[str] = []
        self._committed = False

    def __enter__(self) -> "EditSession":
        is_decomposition(self.target)
        if load_tree(self.target) is None:
            raise UserInputError(f"{TREE_JSON} is missing or malformed", where=str(self.target),
                                 fix="run `hdecomp lower` again, or restore the file")
        parent = self.target.resolve().parent
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.edit-", dir=parent))
        os.rmdir(self.path)  # copytree creates it
        shutil.copytree(self.target, self.path, symlinks=True)
        return self

    # -- reading and writing inside the staged copy ---------------------------------------------

    def tree(self) -> dict[str, Any]:
        """decomposition_tree.json of the staged copy."""
        tree = load_tree(self.path)
        if tree is None:
            raise UserInputError(f"{TREE_JSON} is missing or malformed", where=str(self.target))
        return tree

    def write_tree(self, tree: dict[str, Any]) -> None:
        (self.path / TREE_JSON).write_text(json.dumps(tree, indent=2) + "\n")

    def note(self, line: str) -> None:
        """Record one change (printed one per line, and logged)."""
        self.changes.append(line)

    def commit(self) -> None:
        """Move the staged copy's files into the target, folder by folder. Folders that exist in
        both stay the same folders, so a shell whose working directory is inside the tree
        (where the prompts have the agent work) still sees it afterwards."""
        _apply(self.path, self.target.resolve())
        self._committed = True
        shutil.rmtree(self.path, ignore_errors=True)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._committed and self.path != Path() and self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)
