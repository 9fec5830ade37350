"""The Train page's handlers, put together: page load, and the dataset and run halves.

``TrainPage`` is one object per server. ``dataset`` (dataset.py) and
``runs`` (runs.py) hold the handlers layout.py wires to the page;
``live`` (live.py) keeps a page up to date with its run. ``load`` runs
when a page opens: it finds the page's workspace and shows its dataset and
its latest run. Old workspaces are removed by ``cleanup`` (a schedule in a
thread of its own, started with the app), never during a load.
"""

from __future__ import annotations

from pathlib import Path

from sda.server.cleanup import CleanupSchedule
from sda.server.credentials import browser_token, workspace_of_token
from sda.server.dataset_summary import summarise_dataset
from sda.server.generation_gate import generating
from sda.server.sessions import TrainingManager
from sda.server.settings import AppSettings
from sda.server.training_quota import quota_watch
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.binding import Outputs, fills
from sda.ui.train.dataset import DATASET_OUT, DEMO_DIR, DatasetHandlers
from sda.ui.train.live import REFRESH_OUT, LiveRun
from sda.ui.train.runs import RunHandlers
from sda.ui.train.state import PageState

# The page's state, then the dataset panel and the run on show (each component once).
LOAD_OUT = ("browser_ws", "page", *dict.fromkeys(DATASET_OUT + REFRESH_OUT))


class TrainPage:
    """Every handler of the Train page, for one server."""

    def __init__(
        self, settings: AppSettings, manager: TrainingManager | None = None, demo_dir: Path = DEMO_DIR
    ) -> None:
        self.settings = settings
        self.manager = manager or TrainingManager(settings.max_concurrent_trainings, max_queue=settings.max_queue,
                                                  quota_watch=quota_watch(settings))
        self.live = LiveRun(settings, self.manager)
        self.dataset = DatasetHandlers(settings, self.manager, self.live, demo_dir)
        self.runs = RunHandlers(settings, self.manager, self.live)
        # A workspace is busy while it trains, waits for a slot, or makes a sound; cleanup holds its lock.
        self.cleanup = CleanupSchedule(settings, self.is_workspace_busy, self.manager.workspace_lock)

    def is_workspace_busy(self, workspace_id: str) -> bool:
        """True while a run of the workspace trains or waits, or one of its sounds is being made."""
        return self.manager.is_workspace_busy(workspace_id) or generating(workspace_id)

    def start_cleanup(self) -> None:
        """Start removing old workspaces in the background (see cleanup.py); once per server."""
        self.cleanup.start()

    @fills(*LOAD_OUT)
    def load(self, stored_token: str | None) -> Outputs:
        """A page opened: find (or make) its workspace, show its dataset, re-attach to its run.

        Only a token this server signed opens a workspace. Anything else (no
        token, a forged one, a bare workspace id) gets a new workspace, and
        nothing is created or touched for what was sent.
        """
        workspace_id = workspace_of_token(self.settings, stored_token) or new_workspace_id()
        workspace = Workspace(self.settings, workspace_id).ensure()
        page = PageState(workspace_id=workspace_id)
        out = {"browser_ws": browser_token(self.settings, workspace_id), "page": page}
        out.update(self.dataset.outputs(page, summarise_dataset(workspace, self.settings), "Auto"))
        runs = workspace.list_runs()
        active = [r for r in runs if self.manager.phase(r.run_dir) != "idle"]
        if active or runs:
            out.update(self.live.attach(page, (active or runs)[0].run_dir))
        else:
            out.update(self.live.refresh(page, force=True))
        return out
