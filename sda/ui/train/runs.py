"""The Train page's run controls: Start, Cancel, Resume, Save now, the run list, the model.

Each handler takes the page's server-side state and returns {component
name: new value}. Nothing here reaches into training: it asks the
TrainingManager and reads run directories; what the page shows of a run
as it goes is live.py's job.
"""

from __future__ import annotations

import shutil

import gradio as gr

from sda.runs.checkpoints import read_checkpoint_summary
from sda.runs.folder import new_run_dir, read_run_info
from sda.server.credentials import require_api_key
from sda.server.disk_quota import disk_full_message, over_disk_quota
from sda.server.sessions import QueueFull, TrainingJob, TrainingManager
from sda.server.settings import AppSettings
from sda.server.training_quota import start_refusal
from sda.server.usage import mark_used
from sda.server.workspace import Workspace, run_file_paths
from sda.training.config import ConfigError
from sda.ui.binding import Outputs, fills
from sda.ui.serving import servable
from sda.ui.train import config_form
from sda.ui.train.config_form import ServerCaps
from sda.ui.train.dashboard import format_duration
from sda.ui.train.live import REFRESH_OUT, LiveRun, out_of_minutes
from sda.ui.train.run_status import RUN_COLUMNS, best_checkpoint, checkpoint_text, resume_checkpoint, runs_table
from sda.ui.train.state import PageState

ADVANCED_KEYS = [f.key for f in config_form.ADVANCED_FIELDS]


class RunHandlers:
    """Handlers for training: one instance per server, per-page data in PageState."""

    def __init__(self, settings: AppSettings, manager: TrainingManager, live: LiveRun) -> None:
        self.settings = settings
        self.manager = manager
        self.live = live

    def _workspace(self, page: PageState) -> Workspace:
        return Workspace(self.settings, page.workspace_id)

    @fills(*REFRESH_OUT)
    def start(self, page: PageState | None, preset: str, *advanced: str) -> Outputs:
        """Start a new run on the dataset (or queue it when the server is at its cap)."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        with self.manager.workspace_lock(workspace.id):  # one check-and-start at a time per workspace (two tabs)
            refusal = self._refusal(workspace)
            if refusal:
                return {"settings_msg": refusal}
            if not page.dataset.ok:
                return {"settings_msg": "Add usable sounds first (see the dataset summary)."}
            try:
                config = config_form.build_config(page.dataset.file_count, preset, dict(zip(ADVANCED_KEYS, advanced)),
                                                  self.settings.test_tiny, ServerCaps.of(self.settings))
            except ConfigError as exc:
                return {"settings_msg": f"**Problem:** {exc}"}
            lowered = config_form.epochs_lowered_note(
                page.dataset.file_count, preset, dict(zip(ADVANCED_KEYS, advanced)), self.settings.test_tiny,
                ServerCaps.of(self.settings),
            )
            run_dir = new_run_dir(workspace.runs)
            try:
                self.manager.submit(TrainingJob(run_dir, workspace.id, config, workspace.dataset_files(),
                                                limits=self.settings.duration_limits()))
            except QueueFull as exc:
                shutil.rmtree(run_dir, ignore_errors=True)
                return {"settings_msg": f"**Problem:** {exc}"}
        out = self.live.attach(page, run_dir)
        out["settings_msg"] = lowered  # the page says when the server's cap lowered the preset's epochs
        return out

    def _refusal(self, workspace: Workspace) -> str:
        """Why no run of ``workspace`` may start now ("" if one may)."""
        if self.manager.is_workspace_busy(workspace.id):
            return "A run of yours is already training or waiting. Cancel it first, or wait for it to finish."
        if over_disk_quota(self.settings):
            return f"**Problem:** a run cannot start: {disk_full_message(self.settings)}."
        quota = start_refusal(self.settings, workspace.id)
        if quota:
            return f"**Disk quota:** a run cannot start. {quota}"
        return ""

    @fills(*REFRESH_OUT)
    def cancel(self, page: PageState | None) -> Outputs:
        """Stop the attached run; the engine saves a checkpoint at once. A queued run leaves the queue."""
        view = page.view if page else None
        if view is None:
            return {}
        outcome = self.manager.cancel(view.run_dir)
        if outcome == "dequeued":
            page.notice = "Removed from the queue before it started."
            if not read_run_info(view.run_dir):  # a new run that never began: nothing to keep
                shutil.rmtree(view.run_dir, ignore_errors=True)
                page.view = None
        elif outcome == "cancelling":
            stopped = self.manager.wait(view.run_dir, timeout=60)
            if not stopped:
                page.notice = "Cancelling: saving a checkpoint, this takes a moment…"
        return self.live.refresh(page, force=True)

    @fills(*REFRESH_OUT)
    def resume(self, page: PageState | None, *advanced: str) -> Outputs:
        """Continue the attached run from its newest checkpoint (filled-in Advanced fields apply)."""
        view = page.view if page else None
        if view is None:
            return {"settings_msg": "Open a run from the list below first."}
        workspace = self._workspace(page)
        with self.manager.workspace_lock(workspace.id):
            refusal = self._refusal(workspace)
            if refusal:
                return {"settings_msg": refusal}
            checkpoint = resume_checkpoint(view.run_dir)
            if checkpoint is None:
                return {
                    "settings_msg": "This run has no checkpoint yet, so it cannot be resumed. Press Start for a new "
                                    "run."
                }
            info = read_run_info(view.run_dir)
            files = run_file_paths(view.run_dir) or workspace.dataset_files()
            if not files:
                return {"settings_msg": "The sounds this run trained on are gone. Add them again, then press Resume."}
            try:
                config = config_form.resume_config(
                    info.get("config", {}), dict(zip(ADVANCED_KEYS, advanced)), ServerCaps.of(self.settings)
                )
            except ConfigError as exc:
                return {"settings_msg": f"**Problem:** {exc}"}
            max_epochs = (config.max_epochs if config else info.get("config", {}).get("max_epochs", 0)) or 0
            if info.get("epochs_done", 0) >= max_epochs:
                capped = self.settings.max_epochs is not None and max_epochs >= self.settings.max_epochs
                return {
                    "settings_msg": f"This run has done all its {max_epochs} epochs"
                    + (", the most this server trains one run." if capped else
                       ". To train it further, set Epochs (Advanced) higher, then press Resume.")
                }
            if out_of_minutes(self.settings, checkpoint):
                trained = (read_checkpoint_summary(checkpoint) or {}).get("elapsed_seconds") or 0.0
                return {
                    "settings_msg": f"This run has trained {format_duration(trained)}, and this server gives one run "
                                    "at most "
                    f"{self.settings.max_training_minutes:g} min. Download its model, or press Start for a new run."
                }
            try:
                self.manager.submit(TrainingJob(view.run_dir, workspace.id, config, files, checkpoint,
                                                limits=self.settings.duration_limits()))
            except QueueFull as exc:
                return {"settings_msg": f"**Problem:** {exc}"}
        page.notice = f"Resumed from {checkpoint_text(checkpoint)}."
        out = self.live.refresh(page, force=True)
        out["settings_msg"] = ""
        return out

    @fills(*REFRESH_OUT)
    def save_checkpoint(self, page: PageState | None) -> Outputs:
        """Ask the engine for a checkpoint now; training goes on."""
        view = page.view if page else None
        if view is None or not self.manager.request_checkpoint(view.run_dir):
            return {}
        page.notice = "Saving a checkpoint now; training goes on."
        page.saves_before_request = len(view.manual_checkpoints)
        return self.live.refresh(page, force=True)

    @fills(*REFRESH_OUT)
    def open_run(self, page: PageState | None, evt: gr.SelectData) -> Outputs:
        """A row of the run list was clicked: show that run (only runs of this workspace resolve)."""
        if page is None:
            return {}
        row = evt.row_value or []
        run_dir = self._workspace(page).run_dir(str(row[0])) if row else None
        if run_dir is None:
            return {}
        return self.live.attach(page, run_dir)

    @fills("runs")
    def list_runs(self, page: PageState | None) -> Outputs:
        """The run list again ("Refresh the list")."""
        if page is None:
            return {}
        return {"runs": runs_table(self._workspace(page), self.manager)}

    @fills("model_file", "model_note")
    def model_file(self, page: PageState | None) -> Outputs:
        """The attached run's best checkpoint, offered for download."""
        view = page.view if page else None
        path = best_checkpoint(view.run_dir) if view else None
        if path is None:
            return {"model_note": "No model yet: the first checkpoint is saved after the first epochs."}
        return {
            "model_file": gr.update(value=servable(path), visible=True),
            "model_note": f"Best model so far: {checkpoint_text(path)}.",
        }

    def api_list_runs(self, api_key: str) -> list[dict]:
        """Runs of the workspace the API key opens (a wrong or old key is refused: ApiKeyRefused)."""
        workspace = require_api_key(self.settings, api_key)
        mark_used(self.settings, workspace.id)
        return [dict(zip(RUN_COLUMNS, row)) for row in runs_table(workspace, self.manager)]
