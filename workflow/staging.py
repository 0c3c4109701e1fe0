"""Writing an output tree safely: build beside the target, move into place only when complete.

An interrupted run leaves either the old tree or the new one, never a mix, and nothing outside
the target directory is ever deleted (only our own staging and backup directories beside it).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from hdecomp_ir.errors import UserInputError


class StagedDir:
    """A temporary directory beside `target` that replaces it on `commit()`."""

    def __init__(self, target: Path, *, force: bool) -> None:
        self.target = Path(target)
        self.force = force
        self.path = Path()
        self._committed = False

    def __enter__(self) -> "StagedDir":
        parent = self.target.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        if self.target.exists() and not self.force:
            raise UserInputError("output directory already exists", where=str(self.target),
                                 fix="pass --force to replace it")
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.staging-", dir=parent))
        return self

    def write_files(self, files: dict[str, bytes]) -> None:
        """Write {relative path: bytes} under the staging directory, in sorted order."""
        for rel in sorted(files):
            dest = self.path / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(files[rel])

    def commit(self) -> None:
        """Swap the staging directory into place (the old tree goes only after that)."""
        backup = None
        if self.target.exists():
            if not self.force:
                raise UserInputError("output directory appeared while lowering",
                                     where=str(self.target), fix="pass --force to replace it")
            backup = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.old-",
                                           dir=self.target.resolve().parent))
            os.rmdir(backup)
            os.rename(self.target, backup)
        os.rename(self.path, self.target)
        self._committed = True
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self._committed and self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)
