"""Cleanup of old workspaces: a browser that has not come back for a while loses its files.

A workspace records its last use (usage.py marks it at every handler and
API call); one unused for ``workspace_ttl_days`` is deleted, unless it is
busy: one of its runs is training or waiting, or one of its sounds is being
made. The check and the deletion happen under the workspace's lock, so a
start or a Clear cannot slip in between. ``CleanupSchedule`` runs it in a
thread of its own on a schedule, never inside a visitor's page load.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from sda.server.settings import AppSettings
from sda.server.workspace import SEEN_FILE, is_valid_workspace_id

CLEANUP_SECONDS = 3600.0  # how often the schedule looks for old workspaces
FIRST_CLEANUP_SECONDS = 60.0  # the first look, after the server has started

log = logging.getLogger("sda.server")
LockFor = Callable[[str], AbstractContextManager]


def _last_use(path: Path) -> float:
    seen = path / SEEN_FILE
    return seen.stat().st_mtime if seen.exists() else path.stat().st_mtime


def cleanup_workspaces(settings: AppSettings, is_busy: Callable[[str], bool], now: float | None = None,
                       lock_for: LockFor | None = None) -> list[str]:
    """Delete workspaces unused for ``workspace_ttl_days`` that are not busy; return their ids.

    ``lock_for(id)`` is the workspace's lock (TrainingManager.workspace_lock):
    held while a workspace is checked again and deleted.
    """
    if settings.workspace_ttl_days <= 0 or not settings.workspaces_root.is_dir():
        return []
    cutoff = (now or time.time()) - settings.workspace_ttl_days * 86400
    lock_for = lock_for or (lambda _id: contextlib.nullcontext())
    removed = []
    for path in settings.workspaces_root.iterdir():
        if not path.is_dir() or not is_valid_workspace_id(path.name):
            continue
        try:
            if is_busy(path.name) or _last_use(path) >= cutoff:
                continue
            with lock_for(path.name):  # again under the lock: a use may have come meanwhile
                if is_busy(path.name) or _last_use(path) >= cutoff:
                    continue
                shutil.rmtree(path, ignore_errors=True)
        except OSError:  # removed by someone else meanwhile
            continue
        removed.append(path.name)
    return removed


class CleanupSchedule:
    """``cleanup_workspaces`` in a background thread: after ``first_s``, then every ``every_s`` seconds."""

    def __init__(self, settings: AppSettings, is_busy: Callable[[str], bool], lock_for: LockFor | None = None,
                 every_s: float = CLEANUP_SECONDS, first_s: float = FIRST_CLEANUP_SECONDS) -> None:
        self.settings = settings
        self.is_busy = is_busy
        self.lock_for = lock_for
        self.every_s = every_s
        self.first_s = first_s
        self.removed: list[str] = []  # every workspace it deleted, for the log and for tests
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def run_once(self) -> list[str]:
        """Look for old workspaces now (in the calling thread); return the ids deleted."""
        removed = cleanup_workspaces(self.settings, self.is_busy, lock_for=self.lock_for)
        self.removed.extend(removed)
        return removed

    def start(self) -> None:
        """Start the thread (once; later calls do nothing)."""
        with self._start_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="sda-workspace-cleanup", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after its current look (if any)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        wait = self.first_s
        while not self._stop.wait(wait):
            try:
                self.run_once()
            except Exception:  # a bad folder must not end the schedule for good
                log.exception("workspace cleanup failed; it is tried again in %.0f s", self.every_s)
            wait = self.every_s
