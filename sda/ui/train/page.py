"""The Train page's handlers, put together: page load, and the dataset and run halves.

``TrainPage`` is one object per server. ``dataset`` (dataset.py) and
``runs`` (runs.py) hold the handlers layout.py wires to the page;
``live`` (live.py) keeps a page up to date with its run. ``load`` runs
when a page opens: it finds the page's workspace and shows its dataset and
its latest run.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sda.server.cleanup import cleanup_workspaces
from sda.server.credentials import browser_token, workspace_of_token
from sda.server.dataset_summary import summarise_dataset
from sda.server.sessions import TrainingManager
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.binding import Outputs, fills
from sda.ui.train.dataset import DATASET_OUT, DEMO_DIR, DatasetHandlers
from sda.ui.train.live import REFRESH_OUT, LiveRun
from sda.ui.train.runs import RunHandlers
from sda.ui.train.state import PageState

CLEANUP_SECONDS = 3600.0
# The page's state, then the dataset panel and the run on show (each component once).
LOAD_OUT = ("browser_ws", "page", *dict.fromkeys(DATASET_OUT + REFRESH_OUT))


class TrainPage:
    """Every handler of the Train page, for one server."""

    def __init__(
        self, settings: AppSettings, manager: TrainingManager | None = None, demo_dir: Path = DEMO_DIR
    ) -> None:
        self.settings = settings
        self.manager = manager or TrainingManager(settings.max_concurrent_trainings, max_queue=settings.max_queue)
        self.live = LiveRun(settings, self.manager)
        self.dataset = DatasetHandlers(settings, self.manager, self.live, demo_dir)
        self.runs = RunHandlers(settings, self.manager, self.live)
        self._last_cleanup = 0.0
        self._cleanup_lock = threading.Lock()

    @fills(*LOAD_OUT)
    def load(self, stored_token: str | None) -> Outputs:
        """A page opened: find (or make) its workspace, show its dataset, re-attach to its run.

        Only a token this server signed opens a workspace. Anything else (no
        token, a forged one, a bare workspace id) gets a new workspace, and
        nothing is created or touched for what was sent.
        """
        workspace_id = workspace_of_token(self.settings, stored_token) or new_workspace_id()
        workspace = Workspace(self.settings, workspace_id).ensure()
        self._cleanup_now_and_then()
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

    def _cleanup_now_and_then(self) -> None:
        with self._cleanup_lock:
            if time.time() - self._last_cleanup < CLEANUP_SECONDS:
                return
            self._last_cleanup = time.time()
        cleanup_workspaces(self.settings, self.manager.is_workspace_busy)
