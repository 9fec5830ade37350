"""Output names that never overwrite a user's files silently."""

from __future__ import annotations

import re
from pathlib import Path


def free_path(path: Path) -> Path:
    """``path`` if nothing is there, else the first free ``name-2.ext``, ``name-3.ext``, ..."""
    path = Path(path)
    if not path.exists():
        return path
    stem = re.sub(r"-\d+$", "", path.stem)
    number = 2
    while True:
        candidate = path.with_name(f"{stem}-{number}{path.suffix}")
        if not candidate.exists():
            return candidate
        number += 1


def safe_stem(text: str, fallback: str = "sound") -> str:
    """A file-name-safe version of ``text``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")
    return stem[:80] or fallback
