"""Reading a workspace's JSON store files (models.json, presets.json) without ever losing one.

A store file that cannot be parsed (a disk error, a hand edit) used to read
as empty, and the next save wrote the empty store over it. Now it is moved
aside under a new name (``models.json.unreadable-<time>``) before anything
is saved, a warning is logged, and the caller gets a sentence it can show.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

log = logging.getLogger("sda.server")
# Notes waiting for the page of the folder whose store was set aside (shown once, then dropped).
_NOTES: dict[Path, list[str]] = {}
_NOTES_LOCK = threading.Lock()


def take_notes(directory: Path) -> str:
    """What became of broken store files in ``directory`` since the last call ("" when nothing)."""
    with _NOTES_LOCK:
        return " ".join(_NOTES.pop(Path(directory), []))


def unreadable_name(path: Path) -> Path:
    """Where an unparsable ``path`` is kept: beside it, named with the time it was found."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    candidate = path.with_name(f"{path.name}.unreadable-{stamp}")
    n = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.unreadable-{stamp}-{n}")
        n += 1
    return candidate


def read_store(path: Path) -> tuple[dict, str]:
    """The JSON object in ``path`` ({} when there is none) and a note: "" or what became of a broken file.

    A file that is there but is not a JSON object is renamed (see
    ``unreadable_name``), so that the next save starts afresh beside it
    instead of over it.
    """
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return {}, ""
    except UnicodeDecodeError:
        text = None
    try:
        data = json.loads(text) if text is not None else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data, ""
    kept = unreadable_name(path)
    try:
        path.replace(kept)
    except FileNotFoundError:  # another reader moved it a moment ago
        return {}, ""
    log.warning("%s could not be read; kept as %s and started afresh", path, kept)
    note = (f"{path.name} could not be read, so it starts empty; the old file is kept beside it as "
            f"{kept.name} (restore it by hand if you need what it held).")
    with _NOTES_LOCK:
        _NOTES.setdefault(path.parent, []).append(note)
    return {}, note
