"""The disk quota for all workspaces together (SDA_MAX_DISK_GB).

One server's disk is shared by every visitor's uploads, runs, sounds and
downloads. workspace_quota.py checks every write against this quota and
the workspace's own before it happens; this module measures folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from sda.server.settings import AppSettings


def disk_full_message(settings: AppSettings) -> str:
    """Why an upload or a start was refused, for the page."""
    return (
        f"this server's storage for everyone's sounds and runs is full (at most {settings.max_disk_gb:g} GB); "
        "try again later, when old workspaces have been cleaned up"
    )


def disk_used(settings: AppSettings) -> int:
    """Bytes used by all workspaces together."""
    return folder_bytes(settings.workspaces_root)


def folder_bytes(folder: Path | None) -> int:
    """Bytes of every file under ``folder`` (0 when it is missing); links are not followed."""
    total = 0
    stack = [folder] if folder is not None else []
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
    return total


def over_disk_quota(settings: AppSettings) -> bool:
    """True when the workspaces use all the disk this server allows them."""
    return settings.max_disk_bytes is not None and disk_used(settings) >= settings.max_disk_bytes
