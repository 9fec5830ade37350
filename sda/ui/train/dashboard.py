"""What the live dashboard shows, built incrementally from a run's events.

A ``RunView`` belongs to one page and one run directory. Each poll reads only
the lines of metrics.jsonl it has not read yet (nothing at all when the file
did not grow) and says what changed, so the page re-sends a plot only when
its data changed and appends only new previews.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sda.runs.folder import METRICS_FILE
from sda.training.metrics import (
    CheckpointEvent,
    EpochMetrics,
    PreviewEvent,
    StatusEvent,
    StepMetrics,
    TrainingCompleteEvent,
    WarningEvent,
)
from sda.training.metrics_log import read_events

MAX_STEP_POINTS = 400
_EPOCH_PREFIX = re.compile(r"^Epoch \d+:\s*")  # the step plot thins older points beyond this

WARNING_TITLES = {
    "overfitting": "Overfitting",
    "posterior_collapse": "Posterior collapse",
    "nan_skipped": "Unstable steps skipped",
    "file_skipped": "File skipped",
}


@dataclass
class Changes:
    """What one poll brought: which parts of the page need new data."""

    epochs: bool = False
    steps: bool = False
    warnings: bool = False
    previews: list[str] = field(default_factory=list)  # new preview files, oldest first
    any: bool = False


class RunView:
    """One page's incremental reading of one run's metrics.jsonl."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = self.run_dir.name
        self.next_offset = 0
        self._size = -1
        self.epochs: list[EpochMetrics] = []
        self.step_points: list[tuple[int, float]] = []
        self.last_step: StepMetrics | None = None
        self.previews: list[PreviewEvent] = []
        self.warnings: list[WarningEvent] = []
        self.status: StatusEvent | None = None
        self.checkpoint: CheckpointEvent | None = None
        self.manual_checkpoints: list[CheckpointEvent] = []  # the ones "Save checkpoint now" made
        self.complete: TrainingCompleteEvent | None = None

    def poll(self) -> Changes:
        """Read the events appended since the last poll."""
        try:
            size = os.stat(self.run_dir / METRICS_FILE).st_size
        except OSError:
            return Changes()
        if size == self._size:
            return Changes()
        events, self.next_offset = read_events(self.run_dir, self.next_offset)
        self._size = size
        changes = Changes(any=bool(events))
        for event in events:
            self._add(event, changes)
        return changes

    def _add(self, event, changes: Changes) -> None:
        if isinstance(event, (StepMetrics, EpochMetrics, StatusEvent)):
            self.complete = None  # training (again): a resume after an end
        if isinstance(event, StepMetrics):
            self.last_step = event
            if self.step_points and event.step <= self.step_points[-1][0]:
                # A resume from an earlier checkpoint replays steps: drop the replaced ones.
                self.step_points = [p for p in self.step_points if p[0] < event.step]
            if not event.skipped:
                self.step_points.append((event.step, event.train_loss))
                if len(self.step_points) > MAX_STEP_POINTS:
                    half = MAX_STEP_POINTS // 2
                    self.step_points = self.step_points[:half:2] + self.step_points[half:]
                changes.steps = True
        elif isinstance(event, EpochMetrics):
            self.epochs = [m for m in self.epochs if m.epoch < event.epoch]  # replayed epochs replace old ones
            self.epochs.append(event)
            changes.epochs = True
        elif isinstance(event, PreviewEvent):
            self.previews.append(event)
            changes.previews.append(event.audio_path)
        elif isinstance(event, WarningEvent):
            self.warnings.append(event)
            changes.warnings = True
        elif isinstance(event, StatusEvent):
            self.status = event
        elif isinstance(event, CheckpointEvent):
            self.checkpoint = event
            if event.reason == "manual":
                self.manual_checkpoints.append(event)
        elif isinstance(event, TrainingCompleteEvent):
            self.complete = event

    # ----------------------------------------------------------------- plots
    def loss_frame(self) -> pd.DataFrame:
        rows = [(m.epoch, m.train_loss, "train") for m in self.epochs]
        rows += [(m.epoch, m.val_loss, "validation") for m in self.epochs]
        return _frame(rows, "epoch", "loss", "series")

    def step_frame(self) -> pd.DataFrame:
        return _frame(self.step_points, "step", "train loss")

    def parts_frame(self) -> pd.DataFrame:
        rows = []
        for m in self.epochs:
            rows += [
                (m.epoch, m.val_recon_loss, "reconstruction (validation)"),
                (m.epoch, m.val_kl_loss, "KL (validation)"),
            ]
            if m.train_recon_loss or m.train_kl_loss:
                rows += [
                    (m.epoch, m.train_recon_loss, "reconstruction (train)"),
                    (m.epoch, m.train_kl_loss, "KL (train)"),
                ]
        return _frame(rows, "epoch", "loss", "series")

    def kl_frame(self) -> pd.DataFrame:
        return _frame([(m.epoch, m.kl_divergence) for m in self.epochs], "epoch", "KL divergence")

    def lr_frame(self) -> pd.DataFrame:
        return _frame([(m.epoch, m.learning_rate) for m in self.epochs], "epoch", "learning rate")

    # ------------------------------------------------------------------ text
    def progress_markdown(self, training: bool = True) -> str:
        """Epoch, step, time (and, while ``training``, time left), memory and losses in one line."""
        last = self.epochs[-1] if self.epochs else None
        step = self.last_step
        if last is None and step is None:
            return ""
        parts = []
        if last is not None:
            parts.append(f"**Epoch {last.epoch} of {last.total_epochs}**")
        elif step is not None:
            parts.append(f"**Epoch {step.epoch}** (first epoch running)")
        if step is not None:
            parts.append(f"step {step.step} of {step.total_steps}")
        if last is not None:
            parts.append(f"trained {format_duration(last.elapsed_seconds)}")
            if training and last.eta_seconds > 0 and last.epoch < last.total_epochs:
                parts.append(f"about {format_duration(last.eta_seconds)} left")
            parts.append(f"train loss {last.train_loss:.4f}, validation loss {last.val_loss:.4f}")
        memory = (step.device_memory_gb if step else 0.0) or (last.device_memory_gb if last else 0.0)
        if memory:
            parts.append(f"memory {memory:.2f} GB")
        return " · ".join(parts)

    def warnings_markdown(self) -> str:
        """The latest warning of each kind, newest first."""
        latest: dict[str, tuple[WarningEvent, int]] = {}
        for warning in self.warnings:
            count = latest.get(warning.kind, (None, 0))[1]
            latest[warning.kind] = (warning, count + 1)
        lines = []
        for warning, count in sorted(latest.values(), key=lambda item: -self.warnings.index(item[0])):
            title = WARNING_TITLES.get(warning.kind, warning.kind.replace("_", " ").capitalize())
            times = f" ({count} times)" if count > 1 else ""
            message = _EPOCH_PREFIX.sub("", warning.message)  # the line already says which epoch
            lines.append(f"**Warning: {title}** at epoch {warning.epoch}{times}: {message}")
        return "\n\n".join(lines) or "No warnings so far."


def _frame(rows: list[tuple], x: str, y: str, series: str | None = None) -> pd.DataFrame:
    """A plot table with numeric x and y even when empty (an empty table would be typed as text)."""
    columns = [x, y] + ([series] if series else [])
    types = {x: "int64", y: "float64", **({series: "string"} if series else {})}
    return pd.DataFrame(rows, columns=columns).astype(types)


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def plain_error(text: object) -> str:
    """One readable line from an error (the last line of a traceback, at most 300 chars)."""
    lines = [line.strip() for line in str(text or "").strip().splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    return line[:297] + "..." if len(line) > 300 else line
