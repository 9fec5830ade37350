"""The models one browser can play: its runs' best checkpoints and the model files it imported.

Lives in the workspace (``<workspace>/play/``): imported files in
``models/``, names, descriptions and removals in ``models.json`` (written
atomically). A run is a model as soon as it has a checkpoint; removing a
run's model only takes it off the Play list (the run stays on the Train tab,
and "Play with this model" brings it back). Removing an imported model
deletes its file.
"""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sda.atomic import atomic_write_json
from sda.runs.checkpoints import get_best_checkpoint, list_checkpoints
from sda.runs.folder import CHECKPOINT_DIR
from sda.server.store_file import read_store

MODEL_SUFFIX = ".sdamodel"
MAX_NAME = 80
MAX_DESCRIPTION = 1000
_KEY = re.compile(r"^(run-[A-Za-z0-9._-]{1,96}|file-[0-9a-f]{16})$")


@dataclass(frozen=True)
class ModelEntry:
    """One model of the picker. ``source`` is a run folder or a .sdamodel file."""

    key: str
    name: str
    description: str
    source: Path
    kind: str  # "run" or "file"
    created_at: float

    def label(self) -> str:
        return self.name if self.kind == "file" or self.name == self.key else f"{self.name} ({self.key})"

    def weights_path(self) -> Path | None:
        """The file whose weights generation loads (for cache keys); None if it is gone."""
        if self.kind == "file":
            return self.source if self.source.is_file() else None
        directory = self.source / CHECKPOINT_DIR
        return get_best_checkpoint(directory) or (list_checkpoints(directory) or [None])[-1]


def is_model_key(value: object) -> bool:
    return isinstance(value, str) and bool(_KEY.match(value))


# One lock for every read-modify-write of these JSON files: two pages of one
# browser may save at the same moment.
_WRITE_LOCK = threading.RLock()


class ModelStore:
    """Models of one workspace (``runs_dir`` holds its runs, ``play_dir`` the rest)."""

    def __init__(self, play_dir: Path, runs_dir: Path) -> None:
        self.play_dir = Path(play_dir)
        self.runs_dir = Path(runs_dir)
        self.files_dir = self.play_dir / "models"
        self._meta_path = self.play_dir / "models.json"

    # ------------------------------------------------------------- reading
    def list(self) -> list[ModelEntry]:
        """Every model of this browser, newest first."""
        meta = self._meta()
        entries = []
        if self.runs_dir.is_dir():
            for run in self.runs_dir.iterdir():
                key = run.name
                if not is_model_key(key) or not key.startswith("run-") or meta.get(key, {}).get("removed"):
                    continue
                if run.is_dir() and list_checkpoints(run / CHECKPOINT_DIR):
                    entries.append(self._entry(key, run, "run", meta.get(key, {})))
        if self.files_dir.is_dir():
            for path in self.files_dir.glob(f"file-*{MODEL_SUFFIX}"):
                key = path.name[: -len(MODEL_SUFFIX)]
                if is_model_key(key):
                    entries.append(self._entry(key, path, "file", meta.get(key, {})))
        return sorted(entries, key=lambda e: e.created_at, reverse=True)

    def get(self, key: str) -> ModelEntry | None:
        if not is_model_key(key):
            return None
        return next((e for e in self.list() if e.key == key), None)

    # ------------------------------------------------------------- changes
    def rename(self, key: str, name: str) -> ModelEntry:
        name = " ".join(str(name or "").split())[:MAX_NAME]
        if not name:
            raise ValueError("Give the model a name (a few words).")
        return self._update(key, name=name)

    def describe(self, key: str, description: str) -> ModelEntry:
        return self._update(key, description=str(description or "").strip()[:MAX_DESCRIPTION])

    def remove(self, key: str) -> None:
        """Take a model off the list: an imported file is deleted, a run only hidden."""
        with _WRITE_LOCK:
            entry = self._require(key)
            meta = self._meta()
            if entry.kind == "file":
                entry.source.unlink(missing_ok=True)
                meta.pop(key, None)
            else:
                meta.setdefault(key, {})["removed"] = True
            atomic_write_json(self._meta_path, meta)

    def restore_run(self, run_id: str) -> ModelEntry | None:
        """Put a run back on the list (after "Play with this model"); None if it has no checkpoint yet."""
        with _WRITE_LOCK:
            meta = self._meta()
            if meta.get(run_id, {}).pop("removed", None):
                atomic_write_json(self._meta_path, meta)
            return self.get(run_id)

    def import_file(self, upload: Path, check: Callable[[Path], tuple[str, str]]) -> ModelEntry:
        """Copy an uploaded model file in.

        ``check`` loads it (raising when it is not a model) and returns (name, description).
        """
        upload = Path(upload)
        if upload.suffix.lower() != MODEL_SUFFIX:
            raise ValueError(f"'{upload.name}' is not a model file: sda model files end in {MODEL_SUFFIX}.")
        key = f"file-{secrets.token_hex(8)}"
        incoming = self.files_dir / ".incoming" / f"{key}{MODEL_SUFFIX}"  # off the list until checked
        incoming.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(upload, incoming)
        try:
            name, description = check(incoming)
        except Exception:
            incoming.unlink(missing_ok=True)
            raise
        with _WRITE_LOCK:
            meta = self._meta()
            meta[key] = {
                "name": " ".join(str(name or upload.stem).split())[:MAX_NAME] or key,
                "description": str(description or "")[:MAX_DESCRIPTION],
                "created_at": time.time(),
            }
            atomic_write_json(self._meta_path, meta)
            incoming.replace(self.files_dir / f"{key}{MODEL_SUFFIX}")
        return self._require(key)

    # ------------------------------------------------------------ internal
    def _entry(self, key: str, source: Path, kind: str, meta: dict) -> ModelEntry:
        created = meta.get("created_at")
        if created is None:
            try:
                created = source.stat().st_mtime if kind == "file" else (source / "run.json").stat().st_mtime
            except OSError:
                created = 0.0
        return ModelEntry(key, meta.get("name") or key, meta.get("description", ""), source, kind, float(created))

    def _require(self, key: str) -> ModelEntry:
        entry = self.get(key)
        if entry is None:
            raise ValueError(
                "That model is not among yours any more (removed, or its run was deleted). Pick another one."
            )
        return entry

    def _update(self, key: str, **changes) -> ModelEntry:
        with _WRITE_LOCK:
            entry = self._require(key)
            meta = self._meta()
            item = meta.setdefault(key, {})
            item.setdefault("created_at", entry.created_at)
            item.update(changes)
            atomic_write_json(self._meta_path, meta)
            return self._require(key)

    def _meta(self) -> dict:
        # A file that cannot be parsed is set aside (and reported), never saved over.
        return read_store(self._meta_path)[0]
