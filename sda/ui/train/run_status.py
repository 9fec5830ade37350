"""Plain-language state of a run: the status line, the resume summary, the run list.

A run's state comes from two places: this server's registry (is a runner
alive? is the run queued?) and the run directory (run.json, the last events).
A run.json that still says "training" with no live runner means the server
stopped mid-run: the run is "interrupted" and can be resumed.
"""

from __future__ import annotations

import time
from pathlib import Path

from sda.runs.checkpoints import get_best_checkpoint, list_checkpoints, read_checkpoint_summary
from sda.runs.folder import CHECKPOINT_DIR, read_run_info
from sda.server.sessions import TrainingManager
from sda.server.workspace import Workspace
from sda.ui.train.dashboard import RunView, format_duration, plain_error

ACTIVE = ("queued", "running")


def run_state(manager: TrainingManager, run_dir: Path, info: dict | None = None) -> str:
    """"queued", "running", "completed", "cancelled", "time_limit", "failed", "interrupted" or "new"."""
    phase = manager.phase(run_dir)
    if phase != "idle":
        return phase
    if manager.start_error(run_dir):
        return "failed"
    info = read_run_info(run_dir) if info is None else info
    status = info.get("status", "new")
    if status in ("preparing", "training"):
        return "interrupted"
    return status if status in ("completed", "cancelled", "time_limit", "failed") else "new"


def resume_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint a resume continues from: the newest one."""
    checkpoints = list_checkpoints(Path(run_dir) / CHECKPOINT_DIR)
    return checkpoints[-1] if checkpoints else None


def best_checkpoint(run_dir: Path) -> Path | None:
    directory = Path(run_dir) / CHECKPOINT_DIR
    return get_best_checkpoint(directory) or (list_checkpoints(directory) or [None])[-1]


def checkpoint_text(path: Path) -> str:
    """"epoch 4 (train loss 0.41, validation loss 0.45, trained 2 min 10 s)"."""
    summary = read_checkpoint_summary(path)
    if not summary:
        return f"checkpoint {path.name}"
    parts = []
    if summary.get("train_loss") is not None:
        parts.append(f"train loss {summary['train_loss']:.4f}")
    if summary.get("val_loss") is not None:
        parts.append(f"validation loss {summary['val_loss']:.4f}")
    if summary.get("elapsed_seconds") is not None:
        parts.append(f"trained {format_duration(summary['elapsed_seconds'])}")
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"epoch {summary.get('epoch', '?')}{detail}"


def status_markdown(state: str, view: RunView | None, manager: TrainingManager, run_dir: Path | None) -> str:
    """The one status line the page shows for the attached run."""
    if run_dir is None or view is None:
        return "Add your sounds, choose a preset, then press **Start**."
    name = f"`{run_dir.name}`"
    if state == "queued":
        position = manager.queue_position(run_dir) or 1
        return (
            f"**Waiting:** {name} is waiting for a free training slot: this server trains {manager.max_concurrent} "
            f"run{'s' if manager.max_concurrent != 1 else ''} at a time and {position} "
            f"{'is' if position == 1 else 'are'} in line up to and including yours. "
            "It starts by itself; you may close this page and come back."
        )
    if state == "running":
        if view.status is not None and view.status.phase == "inversion":
            done = f" ({view.status.progress:.0%})" if view.status.progress else ""
            return (f"**Learning its sound:** {name} finished its epochs and is learning how its own sounds go "
                    f"from spectrogram to audio{done}. {view.status.message}")
        if not view.epochs and view.last_step is None:
            status = view.status
            if status is not None and status.phase == "decoding" and status.progress:
                return f"**Preparing:** {name}: reading your sounds… {status.progress:.0%}"
            return (
                f"**Preparing:** {name}: reading your sounds…"
                if status is None
                else f"**Preparing:** {name}: {status.message}"
            )
        text = f"**Training:** {name} is training. It keeps going if you close this page."
        if view.checkpoint is not None:
            who = "by you" if view.checkpoint.reason == "manual" else "automatically"
            text += f" Last checkpoint: epoch {view.checkpoint.epoch}, saved {who}."
        return text
    complete = view.complete
    error = (
        manager.start_error(run_dir) or (complete.error if complete else None) or read_run_info(run_dir).get("error")
    )
    if state == "failed":
        again = " Your last checkpoint is kept; press **Resume** to try again." if resume_checkpoint(run_dir) else ""
        return f"**Error:** {name} stopped with an error: {plain_error(error)}.{again}"
    if state == "cancelled" and manager.stop_note(run_dir):
        return (f"**Disk quota:** {name} was stopped after epoch {_epochs_done(view, run_dir)}, with a checkpoint, "
                f"before it passed the quota. {manager.stop_note(run_dir)}")
    if state == "cancelled":
        saved = (
            f" A checkpoint was saved ({view.checkpoint.path and Path(view.checkpoint.path).name})."
            if view.checkpoint
            else ""
        )
        return (f"**Cancelled:** {name} was cancelled after epoch {_epochs_done(view, run_dir)}.{saved} Press "
                "**Resume** to continue.")
    if state == "completed":
        best = complete.best_val_loss if complete else read_run_info(run_dir).get("best_val_loss")
        took = f" in {format_duration(complete.total_time)}" if complete else ""
        best_text = f" Best validation loss {best:.4f}." if isinstance(best, (int, float)) else ""
        return (f"**Finished:** {name} finished {_epochs_done(view, run_dir)} epochs{took}.{best_text} Download the "
                f"model below.{inversion_text(run_dir)}")
    if state == "time_limit":
        minutes = (read_run_info(run_dir).get("config") or {}).get("max_training_minutes") or 0
        return (
            f"**Time limit:** {name} stopped after {minutes:g} min of training, the most this server gives one run "
            f"(after epoch {_epochs_done(view, run_dir)}). Its checkpoint is kept: download the model below."
        )
    if state == "interrupted":
        return (f"**Interrupted:** {name} was interrupted (the server stopped). Press **Resume** to continue from "
                "its last checkpoint.")
    return f"{name} has not started training."


def inversion_text(run_dir: Path) -> str:
    """" Sound: Learned inversion: closer ... (figures)." - which inversion the model uses and why ("" if unknown)."""
    reason = (read_run_info(run_dir).get("inversion") or {}).get("reason")
    return f" Sound: {reason}" if isinstance(reason, str) and reason else ""


def _epochs_done(view: RunView, run_dir: Path) -> int:
    if view.epochs:
        return view.epochs[-1].epoch
    return int(read_run_info(run_dir).get("epochs_done", 0))


STATE_LABELS = {
    "queued": "waiting",
    "running": "training",
    "completed": "finished",
    "cancelled": "cancelled",
    "time_limit": "time limit",
    "failed": "failed",
    "interrupted": "interrupted",
    "new": "not started",
}
RUN_COLUMNS = ["Run", "Status", "Epochs", "Best validation loss", "Files", "Started"]


def runs_table(workspace: Workspace, manager: TrainingManager) -> list[list]:
    """One row per run of the workspace, newest first."""
    rows = []
    for run in workspace.list_runs():
        state = run_state(manager, run.run_dir)
        best = f"{run.best_val_loss:.4f}" if isinstance(run.best_val_loss, (int, float)) else ""
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created_at)) if run.created_at else ""
        rows.append(
            [run.run_id, STATE_LABELS[state], f"{run.epochs_done} / {run.max_epochs}", best, run.file_count, started]
        )
    listed = {row[0] for row in rows}
    for path in sorted(workspace.runs.iterdir(), reverse=True) if workspace.runs.is_dir() else []:
        if path.name not in listed and manager.phase(path) != "idle":  # queued: no run.json yet
            rows.insert(0, [path.name, STATE_LABELS[manager.phase(path)], "", "", "", ""])
    return rows
