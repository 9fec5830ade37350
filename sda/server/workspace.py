"""One browser's private corner of the server: its uploads and its runs.

A workspace is ``<root>/workspaces/<id>/`` with ``uploads/`` (datasets) and
``runs/`` (run directories). The id is 128 random bits kept in the browser;
knowing it is what makes a session the owner, so it is never listed or shown
to anyone else, and every path built from user input is checked to stay
inside the workspace.

Uploaded names are reduced to a plain file name (no folders, no "..", no
absolute paths), zips are read entry by entry with the same checks, and the
limits from ``AppSettings`` are applied before a byte is written.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Callable, Iterable

from sda.atomic import atomic_write_json
from sda.audio.io import AUDIO_EXTENSIONS
from sda.audio.validation import SUPPORTED_NAMES
from sda.runs.folder import RunSummary, list_runs, read_run_info
from sda.server.disk_quota import disk_full_message, disk_used
from sda.server.settings import AppSettings

_WORKSPACE_ID = re.compile(r"^[0-9a-f]{32}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_REJECTED_FILE = ".rejected.json"  # hidden: dataset scans skip it
_SEEN_FILE = ".last_seen"
_MAX_NAME_BYTES = 120  # file systems limit names in bytes (255), and an emoji is 4 of them
_COPY_CHUNK = 1 << 20


def new_workspace_id() -> str:
    return secrets.token_hex(16)


def is_valid_workspace_id(value: object) -> bool:
    return isinstance(value, str) and bool(_WORKSPACE_ID.match(value))


def safe_file_name(name: str) -> str | None:
    """The last component of ``name`` as a harmless file name, or None to skip it.

    Folders (either slash), drive letters and ".." are dropped; hidden names
    (".DS_Store", "._x.wav" from macOS) give None: they are never sounds.
    """
    base = PureWindowsPath(PurePosixPath(str(name)).name).name  # both kinds of separator
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE_CHARS.sub("_", base).strip().rstrip(".")
    if not base or base.startswith(".") or base in ("..", "."):
        return None
    if len(base.encode("utf-8")) > _MAX_NAME_BYTES:
        suffix = _clip_bytes(Path(base).suffix, 16)
        base = _clip_bytes(base[: len(base) - len(Path(base).suffix)], _MAX_NAME_BYTES - len(suffix.encode("utf-8"))).rstrip(" .") + suffix
    return base


def _clip_bytes(text: str, limit: int) -> str:
    """The longest start of ``text`` that is at most ``limit`` bytes in UTF-8 (never half a character)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


@dataclass
class IngestReport:
    """What an upload added to the dataset, and what it left out (name, reason)."""

    added: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def message(self) -> str:
        parts = [f"Added {len(self.added)} file{'s' if len(self.added) != 1 else ''}."]
        if self.rejected:
            parts.append(f"{len(self.rejected)} left out (see the table below).")
        return " ".join(parts)


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

    def ensure(self) -> "Workspace":
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.runs.mkdir(parents=True, exist_ok=True)
        self.touch()
        return self

    def touch(self) -> None:
        """Mark the workspace as in use (cleanup removes long-untouched ones)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / _SEEN_FILE).touch()

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
        files = sorted(p for p in Path(demo_dir).iterdir() if p.suffix.lower() in AUDIO_EXTENSIONS and not p.name.startswith("."))
        return self.add_uploads(files), outcome

    def add_uploads(self, paths: Iterable[str | Path]) -> IngestReport:
        """Copy uploaded files (and the audio inside uploaded zips) into the dataset."""
        target = self.dataset_dir()
        report = IngestReport()
        limits = _Budget.of(target, self.settings)
        for path in paths:
            path = Path(path)
            if path.suffix.lower() == ".zip":
                self._add_zip(path, target, limits, report)
            else:
                with open(path, "rb") as source:
                    self._add_one(path.name, path.stat().st_size, source, target, limits, report)
        atomic_write_json(target / _REJECTED_FILE, self.rejected() + report.rejected)
        self.touch()
        return report

    def _add_zip(self, path: Path, target: Path, limits: "_Budget", report: IngestReport) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except Exception:  # BadZipFile, or a central directory so broken it trips the parser
            report.rejected.append((path.name, "not a readable zip file"))
            return
        with archive:
            for entry in archive.infolist():
                if entry.is_dir() or "__MACOSX" in entry.filename.split("/"):
                    continue
                label = f"{path.name}: {entry.filename}"
                if entry.filename.lower().endswith(".zip"):
                    report.rejected.append((label, "a zip inside a zip is not opened; unzip it first"))
                    continue
                # A damaged entry costs that entry only: the rest of the zip, and the
                # other files of the upload, are still added (its partial copy is removed).
                try:
                    with archive.open(entry) as source:
                        self._add_one(entry.filename, entry.file_size, source, target, limits, report, label)
                except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError, RuntimeError, ...
                    report.rejected.append((label, f"could not be read from the zip ({_zip_entry_problem(exc)})"))

    def _add_one(self, name, size, source, target: Path, limits: "_Budget", report: IngestReport, label=None) -> None:
        label = label or str(name)
        safe = safe_file_name(name)
        if safe is None:
            return  # hidden files are never sounds; skipping them is not news
        reason = limits.refusal(safe, size)
        if reason:
            report.rejected.append((label, reason))
            return
        destination = _unique_path(target, safe)
        if destination.resolve().parent != target.resolve():  # defence in depth
            report.rejected.append((label, "its name is not allowed"))
            return
        cap = limits.room
        written = _copy_capped(source, destination, cap)
        if written is None:  # it held more than it declared (a zip entry can lie)
            report.rejected.append((label, limits.refusal(safe, cap + 1) or limits.too_big(None)))
            return
        limits.take(written)
        report.added.append(destination.name)

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
    files = read_run_info(run_dir).get("dataset", {}).get("files", [])
    return [f["path"] if isinstance(f, dict) else str(f) for f in files if f]


def run_file_paths(run_dir: Path) -> list[Path]:
    """Files of a run that still exist (what a resume can train on)."""
    return [Path(p) for p in _run_file_paths(run_dir) if Path(p).is_file()]


@dataclass
class _Budget:
    """How much more the dataset may take: files, bytes."""

    files_left: int
    bytes_left: int
    settings: AppSettings

    disk_left: int | None = None  # all workspaces together (SDA_MAX_DISK_GB); None: no cap

    @classmethod
    def of(cls, directory: Path, settings: AppSettings) -> "_Budget":
        files = [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
        used = sum(p.stat().st_size for p in files)
        disk_left = None if settings.max_disk_bytes is None else settings.max_disk_bytes - disk_used(settings)
        return cls(settings.max_files - len(files), settings.max_upload_bytes - used, settings, disk_left)

    def too_big(self, size: int | None) -> str:
        shown = f"{size / 1e6:.0f} MB; " if size else ""
        return f"too large ({shown}files up to {self.settings.max_file_mb:g} MB are accepted)"

    def refusal(self, name: str, size: int) -> str | None:
        extension = Path(name).suffix.lower()
        if extension not in AUDIO_EXTENSIONS:
            return f"not an audio file type ({extension or 'no extension'}); supported: {SUPPORTED_NAMES}"
        if size > self.settings.max_file_bytes:
            return self.too_big(size)
        if self.files_left <= 0:
            return f"the dataset already has {self.settings.max_files} files, the most one dataset can hold"
        if size > self.bytes_left:
            return f"the dataset would pass {self.settings.max_upload_mb:g} MB in total"
        if self.disk_left is not None and size > self.disk_left:
            return disk_full_message(self.settings)
        return None

    @property
    def room(self) -> int:
        """Most bytes the next file may have."""
        room = min(self.settings.max_file_bytes, self.bytes_left)
        return room if self.disk_left is None else min(room, self.disk_left)

    def take(self, size: int) -> None:
        self.files_left -= 1
        self.bytes_left -= size
        if self.disk_left is not None:
            self.disk_left -= size


def _unique_path(directory: Path, name: str) -> Path:
    candidate = directory / name
    stem, suffix = Path(name).stem, Path(name).suffix
    n = 2
    while candidate.exists():
        candidate = directory / f"{stem} ({n}){suffix}"
        n += 1
    return candidate


def _copy_capped(source, destination: Path, cap: int) -> int | None:
    """Copy at most ``cap`` bytes; None (and nothing left behind) if there was more.

    The copy is written under a hidden name (dataset scans skip it) and
    appears under ``destination`` only when complete: a failed read or a
    crash never leaves half a sound in the dataset. Linking, not renaming,
    so that a file another upload put there meanwhile is never replaced.
    """
    partial = destination.with_name(f".{destination.name}.part")
    written = 0
    try:
        with open(partial, "wb") as out:
            while chunk := source.read(_COPY_CHUNK):
                written += len(chunk)
                if written > cap:  # a zip entry may declare less than it holds
                    return None
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(partial, destination)
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links
            os.replace(partial, destination)
        return written
    finally:
        partial.unlink(missing_ok=True)


def _zip_entry_problem(exc: Exception) -> str:
    """Why a zip entry could not be read, in words a user can act on."""
    text = str(exc).lower()
    if "encrypted" in text or "password" in text:
        return "encrypted; zip it again without a password"
    if isinstance(exc, NotImplementedError):
        return "compressed with a method that cannot be read here; zip it again with standard settings"
    if "crc" in text:
        return "damaged: its data does not match its checksum; zip it again from the original file"
    return "damaged: its compressed data is broken; zip it again from the original file"


def cleanup_workspaces(settings: AppSettings, is_busy: Callable[[str], bool], now: float | None = None) -> list[str]:
    """Delete workspaces untouched for ``workspace_ttl_days`` that are not training; return their ids."""
    if settings.workspace_ttl_days <= 0 or not settings.workspaces_root.is_dir():
        return []
    cutoff = (now or time.time()) - settings.workspace_ttl_days * 86400
    removed = []
    for path in settings.workspaces_root.iterdir():
        if not path.is_dir() or not is_valid_workspace_id(path.name) or is_busy(path.name):
            continue
        seen = path / _SEEN_FILE
        last = seen.stat().st_mtime if seen.exists() else path.stat().st_mtime
        if last < cutoff:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def secret_path(settings: AppSettings) -> Path:
    """Where the browser secret is kept (when SDA_BROWSER_SECRET does not give it)."""
    return settings.data_root / ".sda-browser-secret"


def browser_secret(settings: AppSettings) -> str:
    """The key the browser's copy of the workspace id is stored under; stable across restarts.

    A new key at each start would make every browser forget its workspace
    when the server restarts. SDA_BROWSER_SECRET wins if set. The file is
    created readable by its owner only from its first byte (no window in
    which another user of the machine could read it).
    """
    if os.environ.get("SDA_BROWSER_SECRET"):
        return os.environ["SDA_BROWSER_SECRET"]
    path = secret_path(settings)
    try:
        return path.read_text("utf-8").strip()
    except OSError:
        pass
    settings.data_root.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(16)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text("utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret
