"""What keeps a workspace from cleanup: recent use (generations in flight are counted by generation_gate.py).

Every handler of the page and every API call marks its workspace as used
(``mark_used``: the age of its ``.last_seen`` file is what cleanup.py reads);
the mark is written at most once a minute per workspace, so a page's
one-second timer costs nothing.
"""

from __future__ import annotations

import threading
import time

from sda.server.settings import AppSettings
from sda.server.workspace import SEEN_FILE, is_valid_workspace_id

MARK_INTERVAL_S = 60.0  # a workspace's mark is at most this old while it is in use

_last_marks: dict[str, float] = {}
_marks_lock = threading.Lock()


def mark_used(settings: AppSettings, workspace_id: str | None) -> None:
    """Record that ``workspace_id`` was used now (at most one file touch a minute; never creates a workspace)."""
    if not is_valid_workspace_id(workspace_id):
        return
    now = time.monotonic()
    key = f"{settings.workspaces_root}/{workspace_id}"
    with _marks_lock:
        if now - _last_marks.get(key, -MARK_INTERVAL_S) < MARK_INTERVAL_S:
            return
        _last_marks[key] = now
    folder = settings.workspaces_root / workspace_id
    if not folder.is_dir():  # a made-up or deleted id: nothing to mark, and nothing is created
        return
    try:
        (folder / SEEN_FILE).touch(exist_ok=True)
    except OSError:  # the workspace went away meanwhile
        pass


def forget_marks() -> None:
    """Drop the remembered mark times (the next ``mark_used`` of each workspace touches its file again)."""
    with _marks_lock:
        _last_marks.clear()
