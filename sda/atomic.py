"""Atomic file replacement: readers see the old file or the new one, never half.

Write to a hidden temp file in the same folder, flush and fsync it, then
rename it over the target. A crash at any moment leaves the previous file
intact (and at worst a hidden .tmp that dataset scans and checkpoint lists
ignore).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def _replacing(path: Path) -> Iterator[str]:
    """A hidden temp file beside ``path`` to fill; renamed over ``path`` when the block ends well."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)  # mkstemp makes files private; run files are ordinary files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A hidden temp path beside ``path`` for a writer that needs a file name (a zip, say); renamed over
    ``path`` when the block ends well, removed when it raises."""
    with _replacing(path) as tmp:
        yield Path(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    with _replacing(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_copy(source: Path, path: Path) -> None:
    """Copy ``source`` to ``path`` so that readers see no file or the whole copy, never half."""
    with _replacing(path) as tmp:
        shutil.copyfile(source, tmp)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, json.dumps(data, indent=2, sort_keys=False).encode("utf-8"))


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
