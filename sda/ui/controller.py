"""The page's event handlers: dataset, settings, training controls, refresh.

Every handler takes the page's server-side state and returns a dict from
component names (as laid out in layout.py) to new values; names it leaves
out are not touched (``gr.skip()``), so a refresh with nothing new sends
nothing. Nothing here reaches into training: it asks the TrainingManager
and reads run directories.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr

from sda.audio.validation import decode_dataset
from sda.training.config import ConfigError
from sda.training.rundir import new_run_dir, read_run_info
from sda.ui import config_form
from sda.ui.dashboard import RunView
from sda.ui.dataset_summary import DatasetReport, summarise_dataset
from sda.ui.page_state import PageState
from sda.ui.run_status import (
    ACTIVE,
    RUN_COLUMNS,
    best_checkpoint,
    checkpoint_text,
    resume_checkpoint,
    run_state,
    runs_table,
    status_markdown,
)
from sda.ui.sessions import TrainingJob, TrainingManager
from sda.ui.settings import AppSettings
from sda.ui.workspace import Workspace, cleanup_workspaces, is_valid_workspace_id, new_workspace_id, run_file_paths

DEMO_DIR = Path(__file__).resolve().parents[2] / "assets" / "demo"
ADVANCED_KEYS = [f.key for f in config_form.ADVANCED_FIELDS]
STEP_PLOT_SECONDS = 5.0  # the step plot is re-sent at most this often
# Epoch plots and the runs table are re-sent at most this often while training:
# with fast epochs, redrawing four plots every second costs the browser (on the
# same cores, for a local app) more than it tells the user.
EPOCH_PLOT_SECONDS = 3.0
CLEANUP_SECONDS = 3600.0
OUTBOX_SECONDS = 2 * 86400.0  # copies made for download live as long as Gradio's own cache (see layout.py)
PLOTS = ("loss_plot", "step_plot", "parts_plot", "kl_plot", "lr_plot")


class Controller:
    """Handlers for one server; per-page data lives in PageState."""

    def __init__(self, settings: AppSettings, manager: TrainingManager | None = None, demo_dir: Path = DEMO_DIR) -> None:
        self.settings = settings
        self.manager = manager or TrainingManager(settings.max_concurrent_trainings)
        self.demo_dir = demo_dir
        self._outbox = Path(tempfile.gettempdir()) / "sda-outbox"
        self._last_cleanup = 0.0
        self._cleanup_lock = threading.Lock()

    # ------------------------------------------------------------------ load
    def load(self, stored_id) -> dict:
        """A page opened: find (or make) its workspace, show its dataset, re-attach to its run."""
        workspace_id = stored_id if is_valid_workspace_id(stored_id) else new_workspace_id()
        workspace = Workspace(self.settings, workspace_id).ensure()
        self._cleanup_now_and_then()
        page = PageState(workspace_id=workspace_id)
        out = {"browser_ws": workspace_id, "page": page}
        out.update(self._dataset_outputs(page, summarise_dataset(workspace, self.settings), "Auto"))
        runs = workspace.list_runs()
        active = [r for r in runs if self.manager.phase(r.run_dir) != "idle"]
        if active or runs:
            out.update(self._attach(page, (active or runs)[0].run_dir))
        else:
            out.update(self.refresh(page, force=True))
        return out

    def _cleanup_now_and_then(self) -> None:
        with self._cleanup_lock:
            if time.time() - self._last_cleanup < CLEANUP_SECONDS:
                return
            self._last_cleanup = time.time()
        cleanup_workspaces(self.settings, self.manager.is_workspace_busy)
        cutoff = time.time() - OUTBOX_SECONDS
        for folder in self._outbox.glob("*") if self._outbox.is_dir() else []:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)

    def _workspace(self, page: PageState) -> Workspace:
        return Workspace(self.settings, page.workspace_id)

    # --------------------------------------------------------------- dataset
    def add_files(self, files, page: PageState | None, preset: str, progress=gr.Progress()) -> dict:
        """Files, folders or zips dropped on the page: add them to the dataset and summarise it."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        report = workspace.add_uploads(_paths(files))
        out = self._summarise(page, workspace, preset, progress)
        out["dataset_upload"] = None  # empty the drop zone again: the summary lists what was added
        out["dataset_note"] = report.message()
        return out

    def use_demo(self, page: PageState | None, preset: str, progress=gr.Progress()) -> dict:
        """Replace the dataset with the bundled demo sounds."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        if not self.demo_dir.is_dir() or not any(self.demo_dir.iterdir()):
            return {"dataset_note": "The demo sounds are not installed here (assets/demo is empty)."}
        report = workspace.use_demo(self.demo_dir)
        out = self._summarise(page, workspace, preset, progress)
        out["dataset_note"] = f"Loaded the demo sounds. {report.message()}"
        return out

    def clear_dataset(self, page: PageState | None, preset: str) -> dict:
        """Start an empty dataset (runs keep the files they trained on)."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        workspace.clear_dataset()
        out = self._summarise(page, workspace, preset, None)
        out["dataset_note"] = "The dataset is empty. Past runs keep the sounds they trained on."
        return out

    def _summarise(self, page: PageState, workspace: Workspace, preset: str, progress) -> dict:
        def report_progress(done: int, total: int, name: str) -> None:
            if progress is not None:
                progress(done / max(total, 1), desc=f"Reading {name}")

        report = summarise_dataset(workspace, self.settings, report_progress)
        out = self._dataset_outputs(page, report, preset)
        out.update(self._buttons(page, force=True))
        return out

    def _dataset_outputs(self, page: PageState, report: DatasetReport, preset: str) -> dict:
        page.dataset = report.check
        return {
            "dataset_summary": report.markdown(self.settings),
            "dataset_picture": gr.update(value=str(report.picture) if report.picture else None, visible=report.picture is not None),
            "dataset_issues": gr.update(value=[list(row) for row in report.issues] or None, visible=bool(report.issues)),
            **self.preset_changed(preset, page),
        }

    # -------------------------------------------------------------- settings
    def preset_changed(self, preset: str, page: PageState | None) -> dict:
        """Say which preset Auto picks for this dataset and why, and show its values as hints."""
        count = page.dataset.file_count if page else 0
        config = config_form.build_config(max(count, 1), preset, tiny=self.settings.test_tiny)
        reason = config.preset_reason if count else "Add sounds to see which preset Auto picks for them."
        if preset != "Auto" and count:
            reason = f"{preset}: {_preset_blurb(config.preset)}"
        out = {"preset_reason": reason}
        for key, value in config_form.preset_hint(config).items():
            out[f"adv_{key}"] = gr.update(placeholder=f"{value:g}" if isinstance(value, float) else str(value))
        return out

    # -------------------------------------------------------------- training
    def start(self, page: PageState | None, preset: str, *advanced) -> dict:
        """Start a new run on the dataset (or queue it when the server is at its cap)."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        if self.manager.is_workspace_busy(workspace.id):
            return {"settings_msg": "A run of yours is already training or waiting. Cancel it first, or wait for it to finish."}
        if not page.dataset.ok:
            return {"settings_msg": "Add usable sounds first (see the dataset summary)."}
        try:
            config = config_form.build_config(page.dataset.file_count, preset, dict(zip(ADVANCED_KEYS, advanced)), self.settings.test_tiny)
        except ConfigError as exc:
            return {"settings_msg": f"❌ {exc}"}
        run_dir = new_run_dir(workspace.runs)
        self.manager.submit(TrainingJob(run_dir, workspace.id, config, workspace.dataset_files(),
                                        limits=self.settings.duration_limits()))
        out = self._attach(page, run_dir)
        out["settings_msg"] = ""
        return out

    def cancel(self, page: PageState | None) -> dict:
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
        return self.refresh(page, force=True)

    def resume(self, page: PageState | None, *advanced) -> dict:
        """Continue the attached run from its newest checkpoint (filled-in Advanced fields apply)."""
        view = page.view if page else None
        if view is None:
            return {"settings_msg": "Open a run from the list below first."}
        workspace = self._workspace(page)
        if self.manager.is_workspace_busy(workspace.id):
            return {"settings_msg": "A run of yours is already training or waiting. Cancel it first."}
        checkpoint = resume_checkpoint(view.run_dir)
        if checkpoint is None:
            return {"settings_msg": "This run has no checkpoint yet, so it cannot be resumed. Press Start for a new run."}
        info = read_run_info(view.run_dir)
        files = run_file_paths(view.run_dir) or workspace.dataset_files()
        if not files:
            return {"settings_msg": "The sounds this run trained on are gone. Add them again, then press Resume."}
        try:
            config = config_form.resume_config(info.get("config", {}), dict(zip(ADVANCED_KEYS, advanced)))
        except ConfigError as exc:
            return {"settings_msg": f"❌ {exc}"}
        max_epochs = (config.max_epochs if config else info.get("config", {}).get("max_epochs", 0)) or 0
        if info.get("epochs_done", 0) >= max_epochs:
            return {
                "settings_msg": f"This run has done all its {max_epochs} epochs. To train it further, "
                "set Epochs (Advanced) higher, then press Resume."
            }
        self.manager.submit(TrainingJob(view.run_dir, workspace.id, config, files, checkpoint,
                                        limits=self.settings.duration_limits()))
        page.notice = f"Resumed from {checkpoint_text(checkpoint)}."
        out = self.refresh(page, force=True)
        out["settings_msg"] = ""
        return out

    def save_checkpoint(self, page: PageState | None) -> dict:
        """Ask the engine for a checkpoint now; training goes on."""
        view = page.view if page else None
        if view is None or not self.manager.request_checkpoint(view.run_dir):
            return {}
        page.notice = "Saving a checkpoint now; training goes on."
        page.saves_before_request = len(view.manual_checkpoints)
        return self.refresh(page, force=True)

    def open_run(self, page: PageState | None, evt: gr.SelectData) -> dict:
        """A row of the run list was clicked: show that run (only runs of this workspace resolve)."""
        if page is None:
            return {}
        row = evt.row_value or []
        run_dir = self._workspace(page).run_dir(str(row[0])) if row else None
        if run_dir is None:
            return {}
        return self._attach(page, run_dir)

    def list_runs(self, page: PageState | None) -> dict:
        if page is None:
            return {}
        return {"runs": runs_table(self._workspace(page), self.manager)}

    def model_file(self, page: PageState | None) -> dict:
        """The attached run's best checkpoint, offered for download."""
        view = page.view if page else None
        path = best_checkpoint(view.run_dir) if view else None
        if path is None:
            return {"model_note": "No model yet: the first checkpoint is saved after the first epochs."}
        return {
            "model_file": gr.update(value=self._servable(path), visible=True),
            "model_note": f"Best model so far: {checkpoint_text(path)}.",
        }

    # --------------------------------------------------------------- refresh
    def _attach(self, page: PageState, run_dir: Path) -> dict:
        """Show ``run_dir`` on this page, with its whole history (previews follow on the next tick)."""
        page.view = RunView(run_dir)
        page.attach_count += 1
        page.notice = ""
        out = self.refresh(page, force=True)
        # The browser first empties its list (new marker), then the next tick sends every preview.
        page.pending_previews = [p.audio_path for p in page.view.previews]
        out["preview_feed"] = []
        out["preview_marker"] = f"{run_dir.name}#{page.attach_count}"
        out.update(self._timer(page, True))
        out["model_file"] = gr.update(value=None, visible=False)
        out["model_note"] = ""
        return out

    def tick(self, page: PageState | None) -> dict:
        """The once-a-second poll while a run is active."""
        return self.refresh(page) if page is not None else {}

    def refresh(self, page: PageState, force: bool = False) -> dict:
        """Everything about the attached run that changed since this page last looked."""
        view = page.view
        if view is None:
            out = {name: None for name in PLOTS} if force else {}
            out.update(self._buttons(page, force))
            out.update(status=status_markdown("new", None, self.manager, None), progress="", warnings="No warnings so far.", resume_info="")
            if force:
                out["runs"] = runs_table(self._workspace(page), self.manager)
            out.update(self._timer(page, False))
            return out
        changes = view.poll()
        state = run_state(self.manager, view.run_dir)
        out: dict = {}
        if page.pending_previews:
            out["preview_feed"] = [self._servable(_inside(view.run_dir, p)) for p in page.pending_previews]
            page.pending_previews = []
        elif changes.previews:
            out["preview_feed"] = [self._servable(_inside(view.run_dir, p)) for p in changes.previews]
        now = time.time()
        page.epoch_plots_stale = page.epoch_plots_stale or bool(changes.epochs)
        plots_due = force or (page.epoch_plots_stale and (now - page.plots_sent_at >= EPOCH_PLOT_SECONDS or state not in ACTIVE))
        if plots_due:
            frames = dict(loss_plot=view.loss_frame(), parts_plot=view.parts_frame(), kl_plot=view.kl_frame(), lr_plot=view.lr_frame())
            out.update({name: _plot_value(frame) for name, frame in frames.items()})
            page.plots_sent_at, page.epoch_plots_stale = now, False
        if plots_due or (changes.steps and now - page.step_plot_sent_at > STEP_PLOT_SECONDS):
            out["step_plot"] = _plot_value(view.step_frame())
            page.step_plot_sent_at = now
        if force or changes.warnings:
            out["warnings"] = view.warnings_markdown()
        if page.saves_before_request is not None and len(view.manual_checkpoints) > page.saves_before_request:
            saved = view.manual_checkpoints[-1]
            page.notice = f"Checkpoint saved at epoch {saved.epoch} ({Path(saved.path).name}), as you asked. Training goes on."
            page.saves_before_request = None
        if force or changes.any or state != page.last_phase:
            out["progress"] = view.progress_markdown(training=state in ACTIVE)
            status = status_markdown(state, view, self.manager, view.run_dir)
            if page.notice:
                status = f"{page.notice}  \n{status}"
            if status != page.last_status:
                out["status"] = page.last_status = status
            resume_info = self._resume_info(view, state)
            if force or resume_info != page.last_resume_info:
                out["resume_info"] = page.last_resume_info = resume_info
            out.update(self._buttons(page, force, state))
            runs_key = (view.run_id, state, len(view.epochs))
            if force or (runs_key != page.last_runs_key and (plots_due or runs_key[:2] != page.last_runs_key[:2])):
                out["runs"] = runs_table(self._workspace(page), self.manager)
                page.last_runs_key = runs_key
            if state != page.last_phase and page.last_phase in ACTIVE:
                page.notice = ""  # the one-off message belonged to the phase that ended
            page.last_phase = state
        out.update(self._timer(page, state in ACTIVE or bool(page.pending_previews) or bool(out.get("preview_feed"))))
        return out

    def _resume_info(self, view: RunView, state: str) -> str:
        if state in ACTIVE:
            return ""
        checkpoint = resume_checkpoint(view.run_dir)
        if checkpoint is None:
            return ""
        if state == "completed":
            return f"`{view.run_id}` did all its epochs. To train it further, set Epochs (Advanced) higher, then press Resume."
        return f"Resume continues `{view.run_id}` from {checkpoint_text(checkpoint)}."

    def _buttons(self, page: PageState, force: bool = False, state: str | None = None) -> dict:
        """Each control enabled only when pressing it makes sense."""
        view = page.view
        if view is not None and state is None:
            state = run_state(self.manager, view.run_dir)
        busy = self.manager.is_workspace_busy(page.workspace_id)
        wanted = (
            page.dataset.ok and not busy,
            state in ACTIVE,
            view is not None and not busy and state not in ACTIVE and resume_checkpoint(view.run_dir) is not None,
            state == "running",
        )
        if wanted == page.last_buttons and not force:
            return {}
        page.last_buttons = wanted
        names = ("start_btn", "cancel_btn", "resume_btn", "save_btn")
        return {name: gr.update(interactive=on) for name, on in zip(names, wanted)}

    def _timer(self, page: PageState, active: bool) -> dict:
        if active == page.timer_active:
            return {}
        page.timer_active = active
        return {"timer": gr.Timer(active=active)}

    def _servable(self, path: Path) -> str:
        """A path Gradio may hand to the browser: files outside cwd and temp are copied to temp first."""
        path = Path(path).resolve()
        for root in (Path.cwd().resolve(), Path(tempfile.gettempdir()).resolve()):
            if path.is_relative_to(root):
                return str(path)
        copy = self._outbox / hashlib.sha256(str(path).encode()).hexdigest()[:24] / path.name
        if not copy.exists() or copy.stat().st_mtime < path.stat().st_mtime:
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        return str(copy)

    # ------------------------------------------------------------------- API
    def api_summarise(self, files) -> dict:
        """Summary of uploaded files: file_count, total_duration_s, formats, sample_rates, channels, issues [{file, reason}]. Keeps nothing."""
        paths = _paths(files)[: self.settings.max_files]
        if not paths:
            return {"file_count": 0, "total_duration_s": 0.0, "formats": {}, "sample_rates": {}, "channels": {}, "issues": []}
        summary = decode_dataset(paths, limits=self.settings.duration_limits()).summary()
        # Only the file name: server paths are nobody's business (and a "path" key reads as a file to clients).
        summary["issues"] = [{"file": Path(i["path"]).name, "reason": i["reason"]} for i in summary["issues"]]
        return json.loads(json.dumps(summary))  # JSON keys are text (sample rates are numbers here)

    def api_list_runs(self, workspace_id: str) -> list[dict]:
        """Runs of the workspace whose id is given (the id is the key: unknown ids see nothing)."""
        if not is_valid_workspace_id(workspace_id):
            return []
        workspace = Workspace(self.settings, workspace_id)
        if not workspace.dir.is_dir():
            return []
        return [dict(zip(RUN_COLUMNS, row)) for row in runs_table(workspace, self.manager)]


def _paths(files) -> list[str]:
    """Paths of uploaded files (Gradio hands over paths, or objects with .name)."""
    return [f if isinstance(f, str) else getattr(f, "name", f) for f in (files or [])]


def _inside(run_dir: Path, path: str) -> Path:
    """A preview path from the event stream, resolved within its run directory."""
    candidate = Path(path) if Path(path).is_absolute() else Path(run_dir) / path
    if not candidate.resolve().is_relative_to(Path(run_dir).resolve()):
        raise ValueError(f"preview outside its run: {path}")
    return candidate


def _plot_value(frame):
    """None for an empty table: an empty plot, without the browser trying to scale no data."""
    return frame if len(frame) else None


def _preset_blurb(preset: str) -> str:
    return {
        "conservative": "strong regularization and extra augmented copies, for small datasets.",
        "balanced": "moderate regularization, for medium datasets.",
        "aggressive": "light regularization, for large datasets.",
    }.get(preset, "")


__all__ = ["Controller"]
