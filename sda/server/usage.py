"""What keeps a workspace from cleanup: recent use, and generations in flight.

Every handler of the page and every API call marks its workspace as used
(``mark_used``: the age of its ``.last_seen`` file is what cleanup.py reads);
the mark is written at most once a minute per workspace, so a page's
one-second timer costs nothing. ``GENERATIONS`` counts the generations of
each workspace that are running: cleanup leaves such a workspace alone
however old its mark.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

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


class GenerationsInFlight:
    """How many generations of each workspace are running now."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def running(self, workspace_id: str) -> Iterator[None]:
        """Count one generation of ``workspace_id`` for as long as the ``with`` block runs."""
        with self._lock:
            self._counts[workspace_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._counts[workspace_id] -= 1
                if self._counts[workspace_id] <= 0:
                    del self._counts[workspace_id]

    def busy(self, workspace_id: str) -> bool:
        """True while a generation of ``workspace_id`` runs."""
        with self._lock:
            return self._counts[workspace_id] > 0


GENERATIONS = GenerationsInFlight()  # one per server process: pages and the API share it
