"""Training: config, data, loop, runner, checkpoints, previews, metrics."""

from sda.training.checkpoint import (
    CheckpointError,
    get_best_checkpoint,
    list_checkpoints,
    load_checkpoint,
    manage_checkpoints,
    read_checkpoint_summary,
    save_checkpoint,
)
from sda.training.config import (
    ConfigError,
    OverfittingPreset,
    RegularizationConfig,
    TrainingConfig,
    get_adaptive_config,
    get_effective_preview_interval,
)
from sda.training.dataset import AudioTrainingDataset, create_data_loaders
from sda.training.loop import train, train_epoch, validate_epoch
from sda.training.metrics import (
    CheckpointEvent,
    EpochMetrics,
    MetricsCallback,
    MetricsHistory,
    PreviewEvent,
    StatusEvent,
    StepMetrics,
    TrainingCompleteEvent,
    WarningEvent,
)
from sda.training.preview import generate_preview, generate_reconstruction_preview, list_previews
from sda.training.runner import TrainingRunner

__all__ = [
    "AudioTrainingDataset", "CheckpointError", "CheckpointEvent", "ConfigError", "EpochMetrics", "MetricsCallback",
    "MetricsHistory", "OverfittingPreset", "PreviewEvent", "RegularizationConfig", "StatusEvent", "StepMetrics",
    "TrainingCompleteEvent", "TrainingConfig", "TrainingRunner", "WarningEvent", "create_data_loaders",
    "generate_preview", "generate_reconstruction_preview", "get_adaptive_config", "get_best_checkpoint",
    "get_effective_preview_interval", "list_checkpoints", "list_previews", "load_checkpoint", "manage_checkpoints",
    "read_checkpoint_summary", "save_checkpoint", "train", "train_epoch", "validate_epoch",
]
