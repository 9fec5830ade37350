"""Training events and the history built from them.

Every event is a plain dataclass. The loop emits them through one callback;
the CLI prints them, the web UI plots them, and ``metrics.jsonl`` stores one
per line (``event_to_dict`` / ``event_from_dict``), so a run on disk can be
replayed into a ``MetricsHistory`` after a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from sda.runs.folder import from_run_relative, to_run_relative


@dataclass
class StepMetrics:
    """One optimizer step (or one skipped step)."""

    epoch: int
    step: int  # global step, counted across epochs and resumes
    total_steps: int
    train_loss: float
    recon_loss: float
    kl_loss: float
    kl_weight: float
    learning_rate: float
    step_time: float  # seconds
    skipped: bool = False  # True when a NaN/inf loss skipped the update
    device_memory_gb: float = 0.0


@dataclass
class EpochMetrics:
    """End-of-epoch summary, including validation."""

    epoch: int  # 1-based: epoch N is the N-th finished epoch
    total_epochs: int
    train_loss: float
    val_loss: float
    val_recon_loss: float
    val_kl_loss: float
    kl_divergence: float  # raw KL, nats per latent frame (collapse monitor)
    overfitting_gap: float  # (val - train) / train
    learning_rate: float
    eta_seconds: float
    elapsed_seconds: float
    train_recon_loss: float = 0.0
    train_kl_loss: float = 0.0
    kl_weight: float = 0.0
    skipped_steps: int = 0
    step: int = 0
    chunks_per_second: float = 0.0
    device_memory_gb: float = 0.0


@dataclass
class PreviewEvent:
    """An audio preview written to disk."""

    epoch: int
    audio_path: str
    kind: str = "sample"  # "sample" (decoded from the prior) or "reconstruction"
    sample_rate: int = 48000


@dataclass
class WarningEvent:
    """Something the user should know while training goes on."""

    epoch: int
    kind: str  # "overfitting", "posterior_collapse", "nan_skipped", "file_skipped", ...
    message: str


@dataclass
class CheckpointEvent:
    """A checkpoint written to disk."""

    epoch: int
    path: str
    reason: str  # "interval", "cancel", "final", "manual", "best"


@dataclass
class StatusEvent:
    """A phase change or progress note outside the epoch loop (decoding, resuming...)."""

    phase: str  # "decoding", "resumed", "training", ...
    message: str
    progress: float = 0.0  # 0..1 within the phase


@dataclass
class TrainingCompleteEvent:
    """Training ended: finished, cancelled, or failed."""

    final_train_loss: float
    final_val_loss: float
    best_val_loss: float
    best_checkpoint_path: str | None
    total_epochs: int
    total_time: float
    was_cancelled: bool = False
    error: str | None = None
    last_checkpoint_path: str | None = None
    epochs_completed: int = 0


TrainingEvent = (
    StepMetrics
    | EpochMetrics
    | PreviewEvent
    | WarningEvent
    | CheckpointEvent
    | StatusEvent
    | TrainingCompleteEvent
)
MetricsCallback = Callable[[Any], None]

_EVENT_TYPES = {
    cls.__name__: cls
    for cls in (
        StepMetrics,
        EpochMetrics,
        PreviewEvent,
        WarningEvent,
        CheckpointEvent,
        StatusEvent,
        TrainingCompleteEvent,
    )
}


# Fields that hold a file of the run. In memory they are usable paths; on disk (metrics.jsonl, the
# history inside checkpoints) they are relative to the run folder, so no stored file names a folder above it.
PATH_FIELDS = ("audio_path", "path", "best_checkpoint_path", "last_checkpoint_path")


def _paths_stored(data: dict, run_dir: Path | None) -> dict:
    if run_dir is not None:
        for key in PATH_FIELDS:
            if isinstance(data.get(key), str) and data[key]:
                data[key] = to_run_relative(run_dir, data[key])
    return data


def _paths_resolved(data: dict, run_dir: Path | None) -> dict:
    if run_dir is not None:
        for key in PATH_FIELDS:
            if isinstance(data.get(key), str) and data[key]:
                data[key] = str(from_run_relative(run_dir, data[key]))
    return data


def event_to_dict(event: Any, run_dir: Path | None = None) -> dict:
    """Plain-data form of an event, tagged with its type (for metrics.jsonl); paths relative to ``run_dir``."""
    data = _paths_stored(asdict(event), run_dir)
    data["type"] = type(event).__name__
    return data


def event_from_dict(data: dict, run_dir: Path | None = None) -> Any | None:
    """Rebuild an event from ``event_to_dict`` output (paths resolved in ``run_dir``); unknown types give None."""
    cls = _EVENT_TYPES.get(data.get("type", ""))
    if cls is None:
        return None
    names = {f.name for f in fields(cls)}
    return cls(**_paths_resolved({k: v for k, v in data.items() if k in names}, run_dir))


@dataclass
class MetricsHistory:
    """Everything a run has emitted, kept for plots, ETA and resume."""

    step_metrics: list[StepMetrics] = field(default_factory=list)
    epoch_metrics: list[EpochMetrics] = field(default_factory=list)
    previews: list[PreviewEvent] = field(default_factory=list)
    warnings: list[WarningEvent] = field(default_factory=list)
    # Step history is thinned to this many points so long runs stay cheap.
    max_step_points: int = 4000

    def add(self, event: Any) -> None:
        """Record any event; types the history does not keep are ignored."""
        if isinstance(event, StepMetrics):
            self.step_metrics.append(event)
            if len(self.step_metrics) > self.max_step_points:
                # Keep every other old point, and the newest half as it is.
                half = self.max_step_points // 2
                self.step_metrics = self.step_metrics[:half:2] + self.step_metrics[half:]
        elif isinstance(event, EpochMetrics):
            self.epoch_metrics.append(event)
        elif isinstance(event, PreviewEvent):
            self.previews.append(event)
        elif isinstance(event, WarningEvent):
            self.warnings.append(event)

    # The plan's names for the two common cases.
    def add_step(self, metrics: StepMetrics) -> None:
        self.add(metrics)

    def add_epoch(self, metrics: EpochMetrics) -> None:
        self.add(metrics)

    def eta_seconds(self, epochs_done_this_session: int, session_seconds: float, epochs_left: int) -> float:
        """Remaining time, from the mean epoch time of the current session."""
        if epochs_done_this_session <= 0:
            return 0.0
        return session_seconds / epochs_done_this_session * max(epochs_left, 0)

    @property
    def best_val_loss(self) -> float:
        losses = [m.val_loss for m in self.epoch_metrics]
        return min(losses) if losses else float("inf")

    def state_dict(self, run_dir: Path | None = None) -> dict:
        """Plain data (lists of dicts), safe for ``torch.load(weights_only=True)``; paths relative to ``run_dir``."""
        return {
            "step_metrics": [asdict(m) for m in self.step_metrics],
            "epoch_metrics": [asdict(m) for m in self.epoch_metrics],
            "previews": [_paths_stored(asdict(m), run_dir) for m in self.previews],
            "warnings": [asdict(m) for m in self.warnings],
        }

    def load_state_dict(self, state: dict, run_dir: Path | None = None) -> None:
        self.step_metrics = [StepMetrics(**d) for d in state.get("step_metrics", [])]
        self.epoch_metrics = [EpochMetrics(**d) for d in state.get("epoch_metrics", [])]
        self.previews = [PreviewEvent(**_paths_resolved(dict(d), run_dir)) for d in state.get("previews", [])]
        self.warnings = [WarningEvent(**d) for d in state.get("warnings", [])]

    @classmethod
    def from_events(cls, events: list[Any]) -> MetricsHistory:
        history = cls()
        for event in events:
            history.add(event)
        return history
