"""Uploads into a dataset folder: plain files and the audio inside zips, within the server's limits.

Uploaded names are reduced to a plain file name (no folders, no "..", no
absolute paths), zips are read entry by entry with the same checks, and the
limits from ``AppSettings`` (files per dataset, bytes per file and per
dataset, the disk quota) are applied before a byte is written. A file that
is refused, or that turns out damaged halfway, leaves nothing behind.
"""

from __future__ import annotations

import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from sda.audio.io import AUDIO_EXTENSIONS
from sda.audio.validation import SUPPORTED_NAMES
from sda.server.disk_quota import disk_full_message, disk_used
from sda.server.settings import AppSettings
from sda.server.workspace_quota import FREE_SOME_SPACE, WorkspaceQuota
from sda.server.zip_entries import count_entries

_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_MAX_NAME_BYTES = 120  # file systems limit names in bytes (255), and an emoji is 4 of them
_COPY_CHUNK = 1 << 20
# A zip may hold a few entries per sound (folders, macOS "__MACOSX" copies); beyond this many
# times the dataset's file limit it is refused before the zipfile module lists it (which costs memory).
ZIP_ENTRY_FACTOR = 4


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
        stem = base[: len(base) - len(Path(base).suffix)]
        base = _clip_bytes(stem, _MAX_NAME_BYTES - len(suffix.encode("utf-8"))).rstrip(" .") + suffix
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


def ingest_uploads(paths: Iterable[str | Path], target: Path, settings: AppSettings,
                   quota: WorkspaceQuota | None = None) -> IngestReport:
    """Copy uploaded files (and the audio inside uploaded zips) into the dataset folder ``target``.

    ``quota``: the workspace's disk quota, which each file must fit (the whole server's applies either way).
    """
    report = IngestReport()
    budget = _Budget.of(target, settings, quota)
    for path in paths:
        path = Path(path)
        if path.suffix.lower() == ".zip":
            _add_zip(path, target, budget, report)
        else:
            with open(path, "rb") as source:
                _add_one(path.name, path.stat().st_size, source, target, budget, report)
    return report


def zip_entry_cap(settings: AppSettings) -> int:
    """Most entries a zip may hold (``ZIP_ENTRY_FACTOR`` times SDA_MAX_FILES)."""
    return settings.max_files * ZIP_ENTRY_FACTOR


def _too_many_entries(path: Path, settings: AppSettings) -> str | None:
    """Why zip ``path`` is refused unopened (too many entries), or None; read from its end, in little memory."""
    cap = zip_entry_cap(settings)
    try:
        count = count_entries(path, cap)
    except OSError:
        return None  # the zipfile module reports an unreadable file in its own words
    if count is None or count <= cap:
        return None
    return (f"has more than {cap} entries; a zip may hold at most {cap} (SDA_MAX_FILES = {settings.max_files} "
            f"files, times {ZIP_ENTRY_FACTOR}): split it into smaller zips")


def _add_zip(path: Path, target: Path, budget: _Budget, report: IngestReport) -> None:
    refusal = _too_many_entries(path, budget.settings)
    if refusal:
        report.rejected.append((path.name, refusal))
        return
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
                    _add_one(entry.filename, entry.file_size, source, target, budget, report, label)
            except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError, RuntimeError, ...
                report.rejected.append((label, f"could not be read from the zip ({_zip_entry_problem(exc)})"))


def _add_one(name: str, size: int, source: BinaryIO, target: Path, budget: _Budget, report: IngestReport,
             label: str | None = None) -> None:
    label = label or str(name)
    safe = safe_file_name(name)
    if safe is None:
        return  # hidden files are never sounds; skipping them is not news
    reason = budget.refusal(safe, size)
    if reason:
        report.rejected.append((label, reason))
        return
    destination = _unique_path(target, safe)
    if destination.resolve().parent != target.resolve():  # defence in depth
        report.rejected.append((label, "its name is not allowed"))
        return
    cap = budget.room
    written = _copy_capped(source, destination, cap)
    if written is None:  # it held more than it declared (a zip entry can lie)
        report.rejected.append((label, budget.refusal(safe, cap + 1) or budget.too_big(None)))
        return
    budget.take(written)
    report.added.append(destination.name)


UPLOAD_LESS = f"{FREE_SOME_SPACE}, or add fewer or shorter files"


@dataclass
class _Budget:
    """How much more the dataset may take: files, bytes."""

    files_left: int
    bytes_left: int
    settings: AppSettings

    disk_left: int | None = None  # the workspace's and the server's quota (SDA_*_DISK_*); None: no cap
    quota: WorkspaceQuota | None = None  # says which quota a file would pass

    @classmethod
    def of(cls, directory: Path, settings: AppSettings, quota: WorkspaceQuota | None = None) -> _Budget:
        files = [p for p in directory.iterdir() if p.is_file() and not p.name.startswith(".")]
        used = sum(p.stat().st_size for p in files)
        if quota is not None:
            disk_left = quota.room()
        else:
            disk_left = None if settings.max_disk_bytes is None else settings.max_disk_bytes - disk_used(settings)
        return cls(settings.max_files - len(files), settings.max_upload_bytes - used, settings, disk_left, quota)

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
            sentence = self.quota.refusal(size, "this file", UPLOAD_LESS) if self.quota is not None else ""
            return sentence or disk_full_message(self.settings)
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


def _copy_capped(source: BinaryIO, destination: Path, cap: int) -> int | None:
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
