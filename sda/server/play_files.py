"""Where one browser's Play files live: ``<workspace>/play/`` (models, history, presets, exports)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sda.server.history import History
from sda.server.models_store import ModelStore
from sda.server.presets import PresetStore
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace


@dataclass
class PlayFiles:
    """The stores of one workspace's Play tab."""

    workspace: Workspace
    models: ModelStore
    history: History
    presets: PresetStore
    outbox: Path  # files made for download (exports, packs, model files)

    @classmethod
    def of(cls, settings: AppSettings, workspace_id: str) -> PlayFiles:
        workspace = Workspace(settings, workspace_id)
        play_dir = workspace.dir / "play"
        return cls(
            workspace,
            ModelStore(play_dir, workspace.runs),
            History(play_dir, max_bytes=settings.history_max_bytes),
            PresetStore(play_dir),
            play_dir / "downloads",
        )

    def download_folder(self) -> Path:
        """A fresh folder for one download (file names inside stay the names the user sees)."""
        folder = self.outbox / f"d-{time.time_ns():020d}"
        folder.mkdir(parents=True, exist_ok=False)
        self._forget_old_downloads()
        return folder

    def _forget_old_downloads(self, keep_seconds: float = 6 * 3600) -> None:
        import shutil

        cutoff = time.time() - keep_seconds
        for folder in self.outbox.glob("d-*"):
            try:
                if folder.stat().st_mtime < cutoff:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue
