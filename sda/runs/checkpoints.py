"""Reading checkpoints: safe loads, listing, the best and the newest of a run.

A checkpoint holds only plain data and tensors, so ``torch.load(...,
weights_only=True)`` reads it and nothing in it can run code. Each
``checkpoint_*.pt`` has a ``.meta.json`` sidecar with the numbers a UI shows,
readable without loading the model.
"""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FORMAT = "sda-checkpoint"
CHECKPOINT_VERSION = 1
_NAME = re.compile(r"checkpoint_epoch(\d+)(?:_step(\d+))?\.pt$")


class CheckpointError(ValueError):
    """A checkpoint cannot be used. The message names the file and says why."""


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint without unpickling arbitrary objects.

    Raises CheckpointError for missing, truncated, foreign or unsafe files.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint '{path}' does not exist.")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"Checkpoint '{path}' was refused: it contains objects that are not plain data "
            f"({_first_line(exc)}). Only checkpoints written by sda can be loaded."
        ) from None
    except Exception as exc:  # truncated zip, not a torch file, ...
        raise CheckpointError(f"Checkpoint '{path}' could not be read ({_first_line(exc)}). It may be incomplete or not an sda checkpoint.") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"'{path}' is not an sda checkpoint.")
    if int(state.get("version", 0)) > CHECKPOINT_VERSION:
        raise CheckpointError(f"Checkpoint '{path}' was written by a newer version of sda; update sda to load it.")
    return state


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def sidecar_path(path: Path) -> Path:
    """The ``.meta.json`` beside a checkpoint."""
    return Path(path).with_suffix(".meta.json")


def read_checkpoint_summary(path: Path) -> dict[str, Any]:
    """The sidecar's numbers (epoch, step, losses, time trained); {} if missing."""
    try:
        return json.loads(sidecar_path(path).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _sort_key(path: Path) -> tuple[int, int, int]:
    """Training order from the name alone (a sidecar may be missing after a crash).

    checkpoint_epoch0002.pt (after epoch 2) < checkpoint_epoch0002_step0000120.pt
    (during epoch 3) < checkpoint_epoch0003.pt.
    """
    match = _NAME.search(path.name)
    step = match.group(2)
    return int(match.group(1)), 0 if step is None else 1, int(step or 0)


def list_checkpoints(checkpoint_dir: Path) -> list[Path]:
    """Checkpoint files in ``checkpoint_dir``, oldest first (by training step)."""
    directory = Path(checkpoint_dir)
    if not directory.is_dir():
        return []
    return sorted((p for p in directory.glob("checkpoint_epoch*.pt") if _NAME.search(p.name)), key=_sort_key)


def get_best_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The checkpoint with the lowest validation loss (None if none was validated)."""
    best, best_loss = None, float("inf")
    for path in list_checkpoints(checkpoint_dir):
        loss = read_checkpoint_summary(path).get("val_loss")
        if loss is not None and loss < best_loss:
            best, best_loss = path, loss
    return best


def get_latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    checkpoints = list_checkpoints(checkpoint_dir)
    return checkpoints[-1] if checkpoints else None


def _checkpoint_dir(run_or_dir: Path) -> Path:
    """A run folder's checkpoints/, or the folder itself if it holds the checkpoints."""
    return run_or_dir / "checkpoints" if (run_or_dir / "checkpoints").is_dir() else run_or_dir


def resolve_checkpoint(path_or_run: Path, prefer_best: bool = False) -> Path:
    """A checkpoint file, or a run folder's newest checkpoint (its best, with ``prefer_best``)."""
    path = Path(path_or_run)
    if path.is_dir():
        directory = _checkpoint_dir(path)
        found = (get_best_checkpoint(directory) if prefer_best else None) or get_latest_checkpoint(directory)
        if found is None:
            raise CheckpointError(f"No checkpoint found in '{path}'. Point to a run folder that has a checkpoints/ folder, or to a .pt file.")
        return found
    if not path.exists():
        raise CheckpointError(f"'{path}' does not exist. Point to a run folder or a checkpoint .pt file.")
    return path


def resolve_model_checkpoint(path_or_run: Path) -> Path:
    """For using a model: a checkpoint file, or a run's best (else newest) checkpoint."""
    return resolve_checkpoint(path_or_run, prefer_best=True)
