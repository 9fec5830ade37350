"""The run folder on disk: run.json, metrics.jsonl, checkpoints/, previews/.

A run folder is enough to re-attach a UI, resume training, or load the
model. run.json is replaced atomically (metrics.jsonl is written by
``sda.training.metrics_log``). Training and generation both read run
folders, so this lives below both.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sda.atomic import atomic_write_json

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
PREVIEW_DIR = "previews"


def to_run_relative(run_dir: Path, path: str | Path) -> str:
    """``path`` as run.json and the run's other files store it: relative to the run folder.

    A run folder names no folder above it, so a file downloaded from it (a
    checkpoint) tells nobody where the server keeps its data, and a moved
    run folder keeps finding its own files.
    """
    try:
        return os.path.relpath(Path(path).absolute(), Path(run_dir).absolute())
    except ValueError:  # another drive (Windows): no relative path exists
        return str(path)


def from_run_relative(run_dir: Path, stored: str | Path) -> Path:
    """A path stored in a run, as a usable path (older runs stored absolute paths: they stay as they are)."""
    return Path(run_dir) / stored


def dataset_files(run_dir: Path) -> list[dict]:
    """The run's dataset manifest entries, each with its ``path`` resolved."""
    files = read_run_info(run_dir).get("dataset", {}).get("files", [])
    return [dict(f, path=str(from_run_relative(run_dir, f["path"]))) for f in files
            if isinstance(f, dict) and isinstance(f.get("path"), str) and f["path"]]


def data_inputs(run_dir: Path) -> list[str]:
    """The files and folders the run was started on, resolved."""
    inputs = read_run_info(run_dir).get("data_inputs") or []
    return [str(from_run_relative(run_dir, p)) for p in inputs if isinstance(p, str) and p]


def read_run_info(run_dir: Path) -> dict:
    """run.json as a dict ({} when missing or unreadable)."""
    try:
        return json.loads((Path(run_dir) / RUN_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def update_run_info(run_dir: Path, **changes: Any) -> dict:
    """Merge ``changes`` into run.json and write it back atomically."""
    info = read_run_info(run_dir)
    info.update(changes)
    info["updated_at"] = time.time()
    atomic_write_json(Path(run_dir) / RUN_FILE, info)
    return info


@dataclass
class RunSummary:
    """One line of a run list."""

    run_dir: Path
    run_id: str
    status: str
    created_at: float
    epochs_done: int
    max_epochs: int
    best_val_loss: float | None
    file_count: int
    preset: str


def summarize_run(run_dir: Path) -> RunSummary | None:
    info = read_run_info(run_dir)
    if not info:
        return None
    config = info.get("config", {})
    return RunSummary(
        run_dir=Path(run_dir),
        run_id=Path(run_dir).name,
        status=info.get("status", "unknown"),
        created_at=float(info.get("created_at", 0.0)),
        epochs_done=int(info.get("epochs_done", 0)),
        max_epochs=int(config.get("max_epochs", 0)),
        best_val_loss=info.get("best_val_loss"),
        file_count=len(info.get("dataset", {}).get("files", [])),
        preset=str(config.get("preset", "")),
    )


def list_runs(runs_root: Path) -> list[RunSummary]:
    """Runs under ``runs_root``, newest first."""
    root = Path(runs_root)
    if not root.is_dir():
        return []
    runs = [summarize_run(p) for p in root.iterdir() if p.is_dir() and (p / RUN_FILE).exists()]
    return sorted((r for r in runs if r is not None), key=lambda r: r.created_at, reverse=True)


def new_run_dir(runs_root: Path, prefix: str = "run") -> Path:
    """A fresh, uniquely named run directory under ``runs_root``."""
    root = Path(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        candidate = root / (f"{prefix}-{stamp}" + (f"-{n}" if n else ""))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RuntimeError(f"Could not create a new run folder under {root}")
