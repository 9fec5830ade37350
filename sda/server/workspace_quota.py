"""The disk quota of one workspace, checked before every write it causes.

Two quotas apply: SDA_WORKSPACE_DISK_MB to one workspace (its folder, and
the copies of its files served to its browser from Gradio's cache) and
SDA_MAX_DISK_GB to all workspaces together (disk_quota.py). Each action
estimates what it will write (write_sizes.py) and asks ``refusal`` first;
a refusal names the quota, says how full it is, how big the action is and
what to do. Training is watched while it runs (sessions.py) and stopped
with a checkpoint before its run folder passes the quota.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sda.server.disk_quota import disk_used, folder_bytes
from sda.server.settings import AppSettings

MB = 1024 * 1024
FREE_SOME_SPACE = "Remove sounds from the history or models you no longer need"
RUN_START_BYTES = 10 * MB  # room a new run needs for its first checkpoint and previews

# Where the copies of a workspace's files served to its browser lie. Only the web layer knows
# Gradio's cache, so sda/ui/serving.py sets it; None (the CLI, the server alone): nothing is served.
_served_folder: Callable[[str], Path] | None = None


class QuotaExceeded(ValueError):
    """A write would pass a disk quota; the message names it and says what to do."""


def count_served_copies(folder_of: Callable[[str], Path]) -> None:
    """Make served copies count: ``folder_of(workspace_id)`` is where one workspace's lie."""
    global _served_folder
    _served_folder = folder_of


def size_text(size: int) -> str:
    """"46 MB", "2.5 MB", "1.2 GB": a size as a page shows it."""
    if size >= 1024 * MB:
        return f"{size / (1024 * MB):.1f} GB"
    return f"{size / MB:.1f} MB" if size < 10 * MB else f"{size / MB:.0f} MB"


@dataclass(frozen=True)
class WorkspaceQuota:
    """The room left to one workspace, under its own quota and the whole server's."""

    settings: AppSettings
    workspace_id: str

    @property
    def folder(self) -> Path:
        return self.settings.workspaces_root / self.workspace_id

    def served_bytes(self, workspace_id: str | None = None) -> int:
        """Bytes of this workspace's (or ``workspace_id``'s) copies in Gradio's cache."""
        if _served_folder is None:
            return 0
        return folder_bytes(_served_folder(workspace_id or self.workspace_id))

    def used(self) -> int:
        """Every byte this workspace holds: its folder and its served copies."""
        return folder_bytes(self.folder) + self.served_bytes()

    def server_used(self) -> int:
        """Every byte all workspaces of this data root hold, their served copies included."""
        try:
            ids = [entry.name for entry in os.scandir(self.settings.workspaces_root) if entry.is_dir()]
        except OSError:
            ids = []
        return disk_used(self.settings) + sum(self.served_bytes(i) for i in ids)

    def room(self) -> int | None:
        """Most bytes one more write may take under both quotas (None: no quota is set)."""
        rooms = []
        if self.settings.workspace_disk_bytes is not None:
            rooms.append(self.settings.workspace_disk_bytes - self.used())
        if self.settings.max_disk_bytes is not None:
            rooms.append(self.settings.max_disk_bytes - self.server_used())
        return max(min(rooms), 0) if rooms else None

    def refusal(self, planned: int, what: str, advice: str = FREE_SOME_SPACE) -> str:
        """Why writing about ``planned`` bytes for ``what`` ("this pack") is refused, or "" when it fits."""
        limit = self.settings.workspace_disk_bytes
        if limit is not None:
            used = self.used()
            if used + planned > limit:
                return (f"Your workspace holds {size_text(used)} of its {size_text(limit)} quota "
                        f"(SDA_WORKSPACE_DISK_MB): {what} (about {size_text(planned)}) would pass it. {advice}.")
        limit = self.settings.max_disk_bytes
        if limit is not None:
            used = self.server_used()
            if used + planned > limit:
                return (f"This server's storage for everyone's work holds {size_text(used)} of its "
                        f"{size_text(limit)} (SDA_MAX_DISK_GB): {what} (about {size_text(planned)}) would pass it. "
                        f"Try again later, when old workspaces have been cleaned up; or: {advice[0].lower()}"
                        f"{advice[1:]}.")
        return ""

    def check(self, planned: int, what: str, advice: str = FREE_SOME_SPACE) -> None:
        """Raise QuotaExceeded (with ``refusal``'s sentence) when ``planned`` bytes would pass a quota."""
        reason = self.refusal(planned, what, advice)
        if reason:
            raise QuotaExceeded(reason)
