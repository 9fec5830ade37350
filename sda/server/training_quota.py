"""The disk quota for training: a run may start when there is room, and stops before it passes the quota.

A run writes checkpoints and previews as it trains, so its cost is not known
at Start. Start and Resume are refused when the workspace has no room for a
run's first files (RUN_START_BYTES); while it trains, the TrainingManager
asks ``run_stop_reason`` every few seconds and, once two more checkpoints
would pass the quota, cancels the run: the engine then saves one, so
nothing trained is lost, and the page shows the reason. Two, because one
more may be written before the next look: the run folder so never passes
the quota, however fast its epochs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sda.runs.folder import CHECKPOINT_DIR
from sda.server.settings import AppSettings
from sda.server.workspace_quota import FREE_SOME_SPACE, RUN_START_BYTES, WorkspaceQuota

RUN_ADVICE = f"{FREE_SOME_SPACE}, or clear the dataset; then press Resume"


def start_refusal(settings: AppSettings, workspace_id: str) -> str:
    """Why no run of the workspace may start or resume for lack of disk ("" when one may)."""
    return WorkspaceQuota(settings, workspace_id).refusal(RUN_START_BYTES, "a run's first checkpoint and previews",
                                                          FREE_SOME_SPACE)


def checkpoint_bytes(run_dir: Path) -> int:
    """The largest checkpoint of the run so far (what the next one will about cost); 0 before the first."""
    sizes = []
    for path in (Path(run_dir) / CHECKPOINT_DIR).glob("*.pt"):
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            continue
    return max(sizes, default=0)


def run_stop_reason(settings: AppSettings, workspace_id: str, run_dir: Path) -> str:
    """Why the training of ``run_dir`` must stop now ("" when it may go on): its next two checkpoints would not fit
    (one may come before the next look, and one is saved when it stops)."""
    return WorkspaceQuota(settings, workspace_id).refusal(2 * checkpoint_bytes(run_dir),
                                                          "this run's next checkpoints", RUN_ADVICE)


def quota_watch(settings: AppSettings) -> Callable[[str, Path], str] | None:
    """What the TrainingManager asks of each running run; None when no disk quota is set (nothing to watch)."""
    if settings.workspace_disk_bytes is None and settings.max_disk_bytes is None:
        return None
    return lambda workspace_id, run_dir: run_stop_reason(settings, workspace_id, run_dir)
