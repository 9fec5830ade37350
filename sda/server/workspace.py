"""One browser's private corner of the server: its uploads and its runs.

A workspace is ``<root>/workspaces/<id>/`` with ``uploads/`` (datasets) and
``runs/`` (run directories). The id is 128 random bits, made only by the
server; a browser holds it inside a signed token and a script inside an API
key (credentials.py), never bare, and it is never listed or shown to anyone.
Every path built from user input is checked to stay inside the workspace.
What an upload may bring in is ingest.py's job; old workspaces go in
cleanup.py.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from sda.atomic import atomic_write_json
from sda.audio.io import AUDIO_EXTENSIONS
from sda.runs.folder import RunSummary, dataset_files, list_runs
from sda.server.ingest import IngestReport, ingest_uploads
from sda.server.settings import AppSettings
from sda.server.workspace_quota import WorkspaceQuota

SEEN_FILE = ".last_seen"  # touched at each use; cleanup.py reads its age
_WORKSPACE_ID = re.compile(r"^[0-9a-f]{32}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_REJECTED_FILE = ".rejected.json"  # hidden: dataset scans skip it
# One upload at a time per workspace: two tabs adding files at once would both
# count the same free room (passing the file and size limits) and pick the same names.
_UPLOAD_LOCKS: dict[Path, threading.RLock] = {}
_UPLOAD_LOCKS_GUARD = threading.Lock()


def _upload_lock(directory: Path) -> threading.RLock:
    with _UPLOAD_LOCKS_GUARD:
        return _UPLOAD_LOCKS.setdefault(directory, threading.RLock())


def new_workspace_id() -> str:
    return secrets.token_hex(16)


def is_valid_workspace_id(value: object) -> bool:
    return isinstance(value, str) and bool(_WORKSPACE_ID.match(value))


class Workspace:
    """Files of one browser session: ``uploads/<dataset>/`` and ``runs/<run>/``."""

    def __init__(self, settings: AppSettings, workspace_id: str) -> None:
        if not is_valid_workspace_id(workspace_id):
            raise ValueError("invalid workspace id")
        self.settings = settings
        self.id = workspace_id
        self.dir = settings.workspaces_root / workspace_id
        self.uploads = self.dir / "uploads"
        self.runs = self.dir / "runs"

    def ensure(self) -> Workspace:
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.runs.mkdir(parents=True, exist_ok=True)
        self.touch()
        return self

    def touch(self) -> None:
        """Mark the workspace as in use (cleanup removes long-untouched ones)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / SEEN_FILE).touch()

    # ------------------------------------------------------------ datasets
    def dataset_dir(self) -> Path:
        """The current dataset folder (the newest one), created if there is none."""
        sets = sorted(p for p in self.uploads.glob("set-*") if p.is_dir())
        return sets[-1] if sets else self.new_dataset_dir()

    def new_dataset_dir(self) -> Path:
        path = self.uploads / f"set-{time.time_ns():020d}"
        path.mkdir(parents=True)
        return path

    def dataset_files(self) -> list[Path]:
        directory = self.dataset_dir()
        return sorted(p for p in directory.iterdir() if p.is_file() and not p.name.startswith("."))

    def rejected(self) -> list[tuple[str, str]]:
        """Files left out at upload time (name, reason), kept for the dataset table."""
        try:
            return [tuple(r) for r in json.loads((self.dataset_dir() / _REJECTED_FILE).read_text("utf-8"))]
        except (OSError, ValueError):
            return []

    def clear_dataset(self, in_use: Iterable[Path] = ()) -> str:
        """Start an empty dataset. Returns what became of the old files:

        "deleted"; "in use" (kept: ``in_use`` are the files of runs waiting
        or training, which no run.json lists yet); or "kept" (past runs
        keep the files they trained on, so that they can be resumed).
        """
        current = self.dataset_dir().resolve()
        inside = lambda files: any(Path(f).resolve().is_relative_to(current) for f in files)  # noqa: E731
        if inside(in_use):
            outcome = "in use"
        elif inside(f for run in self.list_runs() for f in _run_file_paths(run.run_dir)):
            outcome = "kept"
        else:
            outcome = "deleted"
            shutil.rmtree(current, ignore_errors=True)
        self.new_dataset_dir()
        return outcome

    def use_demo(self, demo_dir: Path, in_use: Iterable[Path] = ()) -> tuple[IngestReport, str]:
        """Make the bundled demo sounds the dataset, replacing the current one (see ``clear_dataset``)."""
        outcome = self.clear_dataset(in_use)
        files = sorted(
            p for p in Path(demo_dir).iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith(".")
        )
        return self.add_uploads(files), outcome

    def add_uploads(self, paths: Iterable[str | Path]) -> IngestReport:
        """Copy uploaded files (and the audio inside uploaded zips) into the dataset (see ingest.py).

        Uploads to one workspace run one after the other, each within the room the previous left.
        """
        with _upload_lock(self.dir):
            target = self.dataset_dir()
            report = ingest_uploads(paths, target, self.settings, WorkspaceQuota(self.settings, self.id))
            atomic_write_json(target / _REJECTED_FILE, self.rejected() + report.rejected)
        self.touch()
        return report

    # ---------------------------------------------------------------- runs
    def list_runs(self) -> list[RunSummary]:
        return list_runs(self.runs)

    def run_dir(self, run_id: str) -> Path | None:
        """The folder of run ``run_id`` in this workspace, or None if there is no such run."""
        if not isinstance(run_id, str) or not _RUN_ID.match(run_id):
            return None
        path = self.runs / run_id
        if path.resolve().parent != self.runs.resolve() or not path.is_dir():
            return None
        return path


def _run_file_paths(run_dir: Path) -> list[str]:
    """The dataset files a run was trained on, from its run.json."""
    return [f["path"] for f in dataset_files(run_dir)]


def run_file_paths(run_dir: Path) -> list[Path]:
    """Files of a run that still exist (what a resume can train on)."""
    return [Path(p) for p in _run_file_paths(run_dir) if Path(p).is_file()]
