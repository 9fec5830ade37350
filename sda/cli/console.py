"""Terminal output for the CLI: a one-line progress bar plus warnings as they happen."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

from sda.training.metrics import (
    CheckpointEvent,
    EpochMetrics,
    PreviewEvent,
    StatusEvent,
    StepMetrics,
    TrainingCompleteEvent,
    WarningEvent,
)


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class ConsoleReporter:
    """Turns training events into terminal lines. Safe to call from the training thread."""

    def __init__(self, stream: TextIO | None = None, verbose_epochs: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.verbose_epochs = verbose_epochs
        self.lock = threading.Lock()
        self.last_epoch: EpochMetrics | None = None
        self.last_draw = 0.0
        self.bar_shown = False
        self.started = time.time()

    def _line(self, text: str) -> None:
        """A permanent line (clears the progress bar first)."""
        if self.bar_shown and self.is_tty:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        self.stream.flush()
        self.bar_shown = False

    def _bar(self, step: StepMetrics) -> None:
        now = time.time()
        if not self.is_tty or now - self.last_draw < 0.2:
            return
        self.last_draw = now
        total_epochs = self.last_epoch.total_epochs if self.last_epoch else 0
        eta = format_duration(self.last_epoch.eta_seconds) if self.last_epoch else "..."
        fraction = step.step / max(step.total_steps, 1)
        width = max(10, min(30, shutil.get_terminal_size((100, 20)).columns - 80))
        filled = int(round(fraction * width))
        text = (f"epoch {step.epoch}/{total_epochs or '?'} [{'#' * filled}{'.' * (width - filled)}] "
                f"step {step.step}/{step.total_steps} loss {step.train_loss:.4f} "
                f"(recon {step.recon_loss:.4f} kl {step.kl_loss:.4f}) ETA {eta}")
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self.bar_shown = True

    def __call__(self, event) -> None:
        with self.lock:
            if isinstance(event, StepMetrics):
                self._bar(event)
            elif isinstance(event, EpochMetrics):
                self.last_epoch = event
                if self.verbose_epochs and (
                    not self.is_tty or event.epoch == event.total_epochs or event.epoch % 10 == 0 or event.epoch == 1
                ):
                    self._line(
                        f"epoch {event.epoch}/{event.total_epochs}: "
                        f"train {event.train_loss:.4f} val {event.val_loss:.4f} "
                        f"(recon {event.val_recon_loss:.4f}, KL {event.kl_divergence:.1f} nats) "
                        f"gap {event.overfitting_gap:+.0%} lr {event.learning_rate:.2e} "
                        f"elapsed {format_duration(event.elapsed_seconds)} ETA {format_duration(event.eta_seconds)}"
                    )
            elif isinstance(event, WarningEvent):
                self._line(f"WARNING: {event.message}")
            elif isinstance(event, StatusEvent):
                progress_only = event.phase == "inversion" and 0 < (event.progress or 0) < 1
                if event.phase in ("decoding", "augmenting") or progress_only:
                    if self.is_tty:
                        self.stream.write("\r\033[K" + event.message)
                        self.stream.flush()
                        self.bar_shown = True
                else:
                    self._line(event.message)
            elif isinstance(event, PreviewEvent):
                if event.kind == "sample" and event.audio_path.endswith("_00.wav"):
                    self._line(f"preview (epoch {event.epoch}): {event.audio_path}")
            elif isinstance(event, CheckpointEvent):
                if event.reason in ("cancel", "manual", "final"):
                    self._line(f"checkpoint ({event.reason}): {event.path}")
            elif isinstance(event, TrainingCompleteEvent):
                if event.error:
                    self._line(f"Training stopped: {event.error}")
                else:
                    self._line(
                        f"Done: {event.epochs_completed}/{event.total_epochs} epochs in "
                        f"{format_duration(event.total_time)}; best validation loss {event.best_val_loss:.4f}."
                    )
