"""Handing files to Gradio so the browser can fetch them, wherever the data root is.

Gradio serves only files under the working folder or the temp folder;
files elsewhere are copied to a folder under temp first.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from pathlib import Path

OUTBOX = Path(tempfile.gettempdir()) / "sda-outbox"
OUTBOX_SECONDS = 2 * 86400.0  # copies made for download live as long as Gradio's own cache (see layout.py)


def servable(path: Path) -> str:
    """A path Gradio may hand to the browser: files outside cwd and temp are copied to temp first."""
    path = Path(path).resolve()
    for root in (Path.cwd().resolve(), Path(tempfile.gettempdir()).resolve()):
        if path.is_relative_to(root):
            return str(path)
    copy = OUTBOX / hashlib.sha256(str(path).encode()).hexdigest()[:24] / path.name
    if not copy.exists() or copy.stat().st_mtime < path.stat().st_mtime:
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)
    return str(copy)


def forget_old_copies() -> None:
    """Delete copies older than Gradio's own cache keeps its files."""
    cutoff = time.time() - OUTBOX_SECONDS
    for folder in OUTBOX.glob("*") if OUTBOX.is_dir() else []:
        if folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
