"""What the Train page shows of its run as it goes: attach, the one-second refresh, buttons.

A page attaches to one run directory; each refresh reads only what is new
there (RunView.poll) and returns just the components that changed, so an
idle tick sends nothing. Previews, plots and the run list are re-sent only
when they changed, and the plots at most every few seconds while training.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gradio as gr

from sda.runs.checkpoints import read_checkpoint_summary
from sda.runs.folder import PREVIEW_DIR
from sda.server.sessions import TrainingManager
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace
from sda.ui.binding import Outputs, fills
from sda.ui.serving import servable
from sda.ui.train.dashboard import RunView
from sda.ui.train.run_status import ACTIVE, checkpoint_text, resume_checkpoint, run_state, runs_table, status_markdown
from sda.ui.train.state import PageState

STEP_PLOT_SECONDS = 5.0  # the step plot is re-sent at most this often
# Epoch plots and the runs table are re-sent at most this often while training:
# with fast epochs, redrawing four plots every second costs the browser (on the
# same cores, for a local app) more than it tells the user.
EPOCH_PLOT_SECONDS = 3.0
PLOTS = ("loss_plot", "step_plot", "parts_plot", "kl_plot", "lr_plot")
BUTTONS = ("start_btn", "cancel_btn", "resume_btn", "save_btn")
# Everything a refresh may change: the run on show, its controls, and the run list and model beside it.
REFRESH_OUT = (
    "status", "progress", "warnings", *PLOTS, "preview_feed", "preview_marker", *BUTTONS,
    "resume_info", "timer", "runs", "model_file", "model_note", "settings_msg",
)


class LiveRun:
    """Attach a page to a run and keep the page up to date with it."""

    def __init__(self, settings: AppSettings, manager: TrainingManager) -> None:
        self.settings = settings
        self.manager = manager

    def workspace(self, page: PageState) -> Workspace:
        return Workspace(self.settings, page.workspace_id)

    def attach(self, page: PageState, run_dir: Path) -> Outputs:
        """Show ``run_dir`` on this page, with its whole history (previews follow on the next tick)."""
        page.view = RunView(run_dir)
        page.attach_count += 1
        page.notice = ""
        out = self.refresh(page, force=True)
        # The browser first empties its list (new marker), then the next tick sends every preview.
        page.pending_previews = [p.audio_path for p in page.view.previews]
        out["preview_feed"] = []
        out["preview_marker"] = f"{run_dir.name}#{page.attach_count}"
        out.update(self.timer(page, True))
        out["model_file"] = gr.update(value=None, visible=False)
        out["model_note"] = ""
        return out

    @fills(*REFRESH_OUT)
    def tick(self, page: PageState | None) -> Outputs:
        """The once-a-second poll while a run is active."""
        return self.refresh(page) if page is not None else {}

    def refresh(self, page: PageState, force: bool = False) -> Outputs:
        """Everything about the attached run that changed since this page last looked."""
        view = page.view
        if view is None:
            out = {name: None for name in PLOTS} if force else {}
            out.update(self.buttons(page, force))
            out.update(
                status=status_markdown("new", None, self.manager, None),
                progress="",
                warnings="No warnings so far.",
                resume_info="",
            )
            if force:
                out["runs"] = runs_table(self.workspace(page), self.manager)
            out.update(self.timer(page, False))
            return out
        changes = view.poll()
        state = run_state(self.manager, view.run_dir)
        out: dict[str, Any] = {}
        if page.pending_previews:
            out["preview_feed"] = _servable_previews(view.run_dir, page.pending_previews)
            page.pending_previews = []
        elif changes.previews:
            out["preview_feed"] = _servable_previews(view.run_dir, changes.previews)
        now = time.time()
        page.epoch_plots_stale = page.epoch_plots_stale or bool(changes.epochs)
        plots_due = force or (
            page.epoch_plots_stale and (now - page.plots_sent_at >= EPOCH_PLOT_SECONDS or state not in ACTIVE)
        )
        if plots_due:
            frames = dict(
                loss_plot=view.loss_frame(),
                parts_plot=view.parts_frame(),
                kl_plot=view.kl_frame(),
                lr_plot=view.lr_frame(),
            )
            out.update({name: _plot_value(frame) for name, frame in frames.items()})
            page.plots_sent_at, page.epoch_plots_stale = now, False
        if plots_due or (changes.steps and now - page.step_plot_sent_at > STEP_PLOT_SECONDS):
            out["step_plot"] = _plot_value(view.step_frame())
            page.step_plot_sent_at = now
        if force or changes.warnings:
            out["warnings"] = view.warnings_markdown()
        if page.saves_before_request is not None and len(view.manual_checkpoints) > page.saves_before_request:
            saved = view.manual_checkpoints[-1]
            page.notice = (
                f"Checkpoint saved at epoch {saved.epoch} ({Path(saved.path).name}), as you asked. Training goes on."
            )
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
            out.update(self.buttons(page, force, state))
            runs_key = (view.run_id, state, len(view.epochs))
            if force or (runs_key != page.last_runs_key and (plots_due or runs_key[:2] != page.last_runs_key[:2])):
                out["runs"] = runs_table(self.workspace(page), self.manager)
                page.last_runs_key = runs_key
            if state != page.last_phase and page.last_phase in ACTIVE:
                page.notice = ""  # the one-off message belonged to the phase that ended
            page.last_phase = state
        out.update(self.timer(page, state in ACTIVE or bool(page.pending_previews) or bool(out.get("preview_feed"))))
        return out

    def _resume_info(self, view: RunView, state: str) -> str:
        if state in ACTIVE:
            return ""
        checkpoint = resume_checkpoint(view.run_dir)
        if checkpoint is None:
            return ""
        if out_of_minutes(self.settings, checkpoint):
            return (f"`{view.run_id}` has trained the {self.settings.max_training_minutes:g} min this server gives "
                    "one run; it cannot be resumed here.")
        if state == "completed":
            return (f"`{view.run_id}` did all its epochs. To train it further, set Epochs (Advanced) higher, then "
                    "press Resume.")
        return f"Resume continues `{view.run_id}` from {checkpoint_text(checkpoint)}."

    def buttons(self, page: PageState, force: bool = False, state: str | None = None) -> Outputs:
        """Each control enabled only when pressing it makes sense."""
        view = page.view
        if view is not None and state is None:
            state = run_state(self.manager, view.run_dir)
        busy = self.manager.is_workspace_busy(page.workspace_id)
        wanted = (
            page.dataset.ok and not busy,
            state in ACTIVE,
            view is not None and not busy and state not in ACTIVE and _resumable(self.settings, view.run_dir),
            state == "running",
        )
        if wanted == page.last_buttons and not force:
            return {}
        page.last_buttons = wanted
        return {name: gr.update(interactive=on) for name, on in zip(BUTTONS, wanted)}

    def timer(self, page: PageState, active: bool) -> Outputs:
        if active == page.timer_active:
            return {}
        page.timer_active = active
        return {"timer": gr.Timer(active=active)}


def out_of_minutes(settings: AppSettings, checkpoint: Path) -> bool:
    """The run of ``checkpoint`` has trained as long as this server lets one run train."""
    if settings.max_training_minutes is None:
        return False
    trained = (read_checkpoint_summary(checkpoint) or {}).get("elapsed_seconds") or 0.0
    return trained >= settings.max_training_minutes * 60


def _resumable(settings: AppSettings, run_dir: Path) -> bool:
    checkpoint = resume_checkpoint(run_dir)
    return checkpoint is not None and not out_of_minutes(settings, checkpoint)


def _servable_previews(run_dir: Path, paths: list[str]) -> list[str]:
    """The previews of ``run_dir`` named in its event stream, ready for the browser (missing ones left out)."""
    served = []
    for path in paths:
        preview = _inside(run_dir, path)
        if preview is not None:
            served.append(servable(preview))
    return served


def _inside(run_dir: Path, path: str) -> Path | None:
    """A preview named in the event stream, found within its run directory (None if it is not there).

    The stream holds the path the engine wrote; a data root that has moved
    since (a remounted volume) still has the file under previews/.
    """
    run_dir = Path(run_dir).resolve()
    candidate = Path(path) if Path(path).is_absolute() else run_dir / path
    if not candidate.resolve().is_relative_to(run_dir) or not candidate.is_file():
        candidate = run_dir / PREVIEW_DIR / Path(path).name
    return candidate if candidate.is_file() else None


def _plot_value(frame):
    """None for an empty table: an empty plot, without the browser trying to scale no data."""
    return frame if len(frame) else None
