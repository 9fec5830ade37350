"""Output names: safe stems made from a user's words, and paths that never overwrite a user's files silently."""

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
    """``text`` (a model's name, say) as a file name stem that is safe on any system and in any zip.

    The one rule for every name this package makes from a user's words
    (CLI outputs, the Play page's sounds, exports, packs and model files):
    ASCII letters, digits, ".", "_" and "-" kept, every other run of
    characters one "_", no dot, underscore or dash at either end (never a
    hidden file, never read as an option), at most 80 characters;
    ``fallback`` when nothing is left.
    """
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._-")
    return stem[:80] or fallback
