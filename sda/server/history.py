"""Every sound one browser made on the Play tab, newest first, kept on disk.

Each result is a folder ``<workspace>/play/history/<id>/`` holding the sound,
its JSON sidecar (every setting needed to make it again), its picture and
``item.json``. A folder counts only once its ``item.json`` exists (written
last, atomically), so a crash mid-save leaves no half item in the list. The
list survives reloads and server restarts because it is read from disk.
The newest ``MAX_ITEMS`` are kept, within ``max_bytes`` (settings.history_max_bytes:
at most HISTORY_MAX_MB, or half the workspace quota); older ones are removed, with
their files, as new ones come. The newest item always stays.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sda.atomic import atomic_write_json
from sda.server.disk_quota import folder_bytes

MAX_ITEMS = 300
log = logging.getLogger("sda.server")
_ITEM = "item.json"
_ID = re.compile(r"^h-\d{20}-[0-9a-f]{4}$")


@dataclass
class HistoryItem:
    """One result: what made it and where its files are (names inside its folder)."""

    id: str
    created_at: float
    kind: str  # generate, variation, morph, resynthesis
    model_key: str
    model_name: str
    label: str  # short description shown in the list ("seed 12 · 2.0 s · brightness +0.8")
    audio: str
    sidecar: str = ""
    picture: str = ""
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)
    folder: Path | None = field(default=None, compare=False)

    def path(self, name: str) -> Path | None:
        return self.folder / name if name and self.folder is not None else None

    @property
    def audio_path(self) -> Path:
        return self.folder / self.audio

    def row(self) -> list:
        """The row shown in the history table."""
        when = time.strftime("%d %b %H:%M:%S", time.localtime(self.created_at))
        return [when, self.kind, self.model_name, self.label, f"{self.seconds:.1f} s"]


HISTORY_COLUMNS = ["When", "What", "Model", "Settings", "Length"]


def is_history_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


class History:
    """The history of one workspace."""

    def __init__(self, play_dir: Path, max_items: int = MAX_ITEMS, max_bytes: int | None = None) -> None:
        self.dir = Path(play_dir) / "history"
        self.max_items = max_items
        self.max_bytes = max_bytes  # None: items are capped by count only

    def new_folder(self) -> Path:
        """A fresh folder for the next item's files (it joins the list at ``commit``)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        while True:
            item_id = f"h-{time.time_ns():020d}-{secrets.token_hex(2)}"
            folder = self.dir / item_id
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                continue

    def commit(self, folder: Path, **fields) -> HistoryItem:
        """Record the files in ``folder`` as a new item; drop the oldest beyond the cap."""
        folder = Path(folder)
        item = HistoryItem(id=folder.name, created_at=time.time(), folder=folder, **fields)
        data = asdict(item)
        data.pop("folder")
        atomic_write_json(folder / _ITEM, data)
        self._trim()
        return item

    def list(self) -> list[HistoryItem]:
        """Every item, newest first."""
        if not self.dir.is_dir():
            return []
        items = [self._read(folder) for folder in self.dir.iterdir() if is_history_id(folder.name)]
        return sorted((i for i in items if i is not None), key=lambda i: (i.created_at, i.id), reverse=True)

    def get(self, item_id: str) -> HistoryItem | None:
        if not is_history_id(item_id):
            return None
        return self._read(self.dir / item_id)

    def delete(self, item_id: str) -> bool:
        if not is_history_id(item_id) or not (self.dir / item_id).is_dir():
            return False
        shutil.rmtree(self.dir / item_id, ignore_errors=True)
        return True

    def make_way(self, needed: int) -> int:
        """Remove the oldest items until about ``needed`` bytes are freed (a new sound's room under a quota,
        as the history's own cap would as it comes); the bytes freed."""
        freed = 0
        for item in reversed(self.list()):
            if freed >= needed:
                break
            size = folder_bytes(item.folder)
            shutil.rmtree(item.folder, ignore_errors=True)
            freed += size
        return freed

    def _read(self, folder: Path) -> HistoryItem | None:
        try:
            data = json.loads((folder / _ITEM).read_text("utf-8"))
            data.pop("folder", None)
            item = HistoryItem(**data, folder=folder)
        except FileNotFoundError:  # not committed yet (or being removed)
            return None
        except (OSError, ValueError, TypeError) as exc:
            # Left where it is (nothing writes over an item.json), off the list, and said in the log.
            log.warning("history item %s cannot be read (%s); it is left out of the list", folder, exc)
            return None
        return item if item.audio_path.is_file() else None

    def _trim(self) -> None:
        folders = sorted(f for f in self.dir.iterdir() if is_history_id(f.name))
        committed = [f for f in folders if (f / _ITEM).exists()]
        dropped = max(0, len(committed) - self.max_items)
        for folder in committed[:dropped]:
            shutil.rmtree(folder, ignore_errors=True)
        committed = committed[dropped:]
        if self.max_bytes is not None:
            sizes = [folder_bytes(f) for f in committed]
            total = sum(sizes)
            # Oldest first (ids sort by time); the newest item stays, whatever its size.
            for folder, size in zip(committed[:-1], sizes):
                if total <= self.max_bytes:
                    break
                shutil.rmtree(folder, ignore_errors=True)
                total -= size
        # Folders never committed (a crash mid-save) are cleared once they are an hour old.
        for folder in set(folders) - set(committed):
            try:
                stale = time.time() - folder.stat().st_mtime > 3600
            except OSError:
                continue
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
