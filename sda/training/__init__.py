"""Training: config, data, loop, runner, checkpoints, previews, metrics.

Names are imported on first use, so a module that only needs, say, the
checkpoint helpers (generation does) does not pull in the training loop.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "checkpoint": ("CheckpointError", "get_best_checkpoint", "list_checkpoints", "load_checkpoint",
                   "manage_checkpoints", "read_checkpoint_summary", "save_checkpoint"),
    "config": ("ConfigError", "OverfittingPreset", "RegularizationConfig", "TrainingConfig",
               "get_adaptive_config", "get_effective_preview_interval"),
    "dataset": ("AudioTrainingDataset", "create_data_loaders"),
    "loop": ("train", "train_epoch", "validate_epoch"),
    "metrics": ("CheckpointEvent", "EpochMetrics", "MetricsCallback", "MetricsHistory", "PreviewEvent",
                "StatusEvent", "StepMetrics", "TrainingCompleteEvent", "WarningEvent"),
    "preview": ("generate_preview", "generate_reconstruction_preview", "list_previews"),
    "runner": ("TrainingRunner",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'sda.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"sda.training.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
