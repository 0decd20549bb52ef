"""The evidence archive in a folder: `<folder>/<executionId>/report.md|json`, each written once.

A copy is written to a temporary file beside it and linked into place (a link never replaces a
file), so a copy is whole or absent and two writers cannot both place one; it is then made
read-only. The same bytes written again are taken as written; other bytes are refused (CopyExists).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from orchestration.ports import CopyExists, StoredCopy

READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class FolderArchive:
    """See the module docstring; `root` is `<data dir>/evidence` on the embedded default."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, execution_id: str, name: str) -> Path:
        if not execution_id or os.sep in execution_id or execution_id in (".", ".."):
            raise ValueError(f"not an execution id: {execution_id!r}")
        return self.root / execution_id / name

    def location(self, plan_id: str, execution_id: str) -> str:
        return str(self.root / execution_id)

    def write_once(self, plan_id: str, execution_id: str, name: str, content: bytes) -> StoredCopy:
        path = self._path(execution_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, READ_ONLY)
            try:
                os.link(temporary, path)  # fails when a copy is there: never replaced
            except FileExistsError:
                existing = StoredCopy(str(path), path.read_bytes(), existed=True)
                if existing.content != content:
                    raise CopyExists(existing) from None
                return existing
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return StoredCopy(str(path), content)

    def read(self, plan_id: str, execution_id: str, name: str) -> StoredCopy | None:
        path = self._path(execution_id, name)
        try:
            return StoredCopy(str(path), path.read_bytes(), existed=True)
        except FileNotFoundError:
            return None

    def read_at(self, location: str, version_id: str | None = None) -> StoredCopy | None:
        if location.startswith("s3://"):
            raise ValueError(f"{location} is in S3: this deployment archives to a folder")
        path = Path(location)
        try:
            return StoredCopy(str(path), path.read_bytes(), existed=True)
        except FileNotFoundError:
            return None
