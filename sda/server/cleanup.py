"""Cleanup of old workspaces: a browser that has not come back for a while loses its files.

A workspace records its last use (``Workspace.touch``); one untouched for
``workspace_ttl_days`` is deleted, unless one of its runs is training or
waiting.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from sda.server.settings import AppSettings
from sda.server.workspace import SEEN_FILE, is_valid_workspace_id


def cleanup_workspaces(settings: AppSettings, is_busy: Callable[[str], bool], now: float | None = None) -> list[str]:
    """Delete workspaces untouched for ``workspace_ttl_days`` that are not training; return their ids."""
    if settings.workspace_ttl_days <= 0 or not settings.workspaces_root.is_dir():
        return []
    cutoff = (now or time.time()) - settings.workspace_ttl_days * 86400
    removed = []
    for path in settings.workspaces_root.iterdir():
        if not path.is_dir() or not is_valid_workspace_id(path.name) or is_busy(path.name):
            continue
        seen = path / SEEN_FILE
        last = seen.stat().st_mtime if seen.exists() else path.stat().st_mtime
        if last < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed
