"""Writing checkpoints while training: atomic saves with a sidecar, retention, and the check a resume passes.

Reading them (safe loads, listing, the best of a run) is ``sda.runs.checkpoints``,
shared with generation; its names are re-exported here, where the training plan
names them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from sda.atomic import atomic_write_bytes, atomic_write_json
from sda.audio.spectrogram import SpectrogramConfig
from sda.runs.checkpoints import (  # noqa: F401 (re-exported)
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointError,
    get_best_checkpoint,
    get_latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_summary,
    resolve_checkpoint,
    resolve_model_checkpoint,
    sidecar_path,
)


def checkpoint_name(epoch: int, step: int | None = None) -> str:
    """checkpoint_epochNNNN.pt after a whole epoch; ..._stepNNNNNNN.pt mid-epoch."""
    return f"checkpoint_epoch{epoch:04d}" + (f"_step{step:07d}" if step is not None else "") + ".pt"


def save_checkpoint(path: Path, state: dict[str, Any], summary: dict[str, Any] | None = None) -> Path:
    """Write ``state`` to ``path`` atomically, then its sidecar.

    ``state`` must be plain data (dicts, lists, numbers, strings, tensors).
    The sidecar is written after the checkpoint, so a sidecar always
    describes a complete file.
    """
    path = Path(path)
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, **state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_json(sidecar_path(path), dict(summary or {}, file=path.name))
    return path


def manage_checkpoints(checkpoint_dir: Path, keep_recent: int = 3) -> list[Path]:
    """Delete all but the ``keep_recent`` newest checkpoints and the best one; return the deleted."""
    checkpoints = list_checkpoints(checkpoint_dir)
    keep = set(checkpoints[-keep_recent:]) if keep_recent > 0 else set()
    best = get_best_checkpoint(checkpoint_dir)
    if best is not None:
        keep.add(best)
    deleted = []
    for path in checkpoints:
        if path not in keep:
            path.unlink(missing_ok=True)
            sidecar_path(path).unlink(missing_ok=True)
            deleted.append(path)
    return deleted


def check_compatible(state: dict, architecture: dict, spec_config: SpectrogramConfig, source: Path) -> None:
    """Refuse a checkpoint whose model shape or spectrogram differs from this run's."""
    theirs = state.get("model_architecture", {})
    for key, value in architecture.items():
        if theirs.get(key) != value:
            raise CheckpointError(
                f"Checkpoint '{source}' has {key.replace('_', ' ')} {theirs.get(key)!r}, but this run uses {value!r}. "
                "Resume with the checkpoint's own settings (leave model settings unchanged) or start a new run."
            )
    their_spec = SpectrogramConfig.from_dict(state.get("spectrogram_config", {}))
    if their_spec.shape_key() != spec_config.shape_key():
        raise CheckpointError(
            f"Checkpoint '{source}' was trained with a different spectrogram "
            f"(sample rate/FFT/hop/mels {their_spec.shape_key()[:4]} vs {spec_config.shape_key()[:4]}); "
            "it cannot be resumed here. Start a new run."
        )
