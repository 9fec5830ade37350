"""Summarise a workspace's dataset before training: counts, formats, problems, picture.

Decoding is the slow part, so the result is cached in the dataset folder
(hidden files, which dataset scans skip) under a key made of the files'
names, sizes and times: reloading the page does not decode everything again.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sda.atomic import atomic_write_bytes, atomic_write_json
from sda.audio.validation import decode_dataset
from sda.server.pictures import dataset_picture
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace

_CACHE = ".summary.json"
_PICTURE = ".picture.png"
RECOMMENDED_MIN_FILES = 5


@dataclass
class DatasetCheck:
    """The current dataset as the page last summarised it."""

    file_count: int = 0
    total_duration_s: float = 0.0
    problems: list[str] = field(default_factory=list)  # reasons Start is not possible

    @property
    def ok(self) -> bool:
        return self.file_count > 0 and not self.problems


@dataclass
class DatasetReport:
    """Everything the dataset panel shows."""

    check: DatasetCheck
    summary: dict = field(default_factory=dict)
    issues: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    picture: Path | None = None

    def markdown(self, settings: AppSettings) -> str:
        s = self.summary
        count = self.check.file_count
        if not count:
            text = "No usable sounds yet. Drop files, a folder or a .zip above, or use the demo sounds."
        else:
            lines = [
                f"**{count} file{'s' if count != 1 else ''} · {_duration(s.get('total_duration_s', 0))} of audio**",
                "Formats: " + _counts(s.get("formats", {})),
                "Sample rates: " + _counts({f"{int(k) / 1000:g} kHz": v for k, v in s.get("sample_rates", {}).items()}),
                "Channels: " + _counts({_channels(int(k)): v for k, v in s.get("channels", {}).items()}),
            ]
            if count < RECOMMENDED_MIN_FILES:
                lines.append(f"Tip: {RECOMMENDED_MIN_FILES} or more files train better.")
            text = "  \n".join(lines)
        if self.issues:
            text += f"\n\n{len(self.issues)} file{'s' if len(self.issues) != 1 else ''} cannot be used (see the table)."
        for problem in self.check.problems:
            text += f"\n\n**Problem:** {problem}"
        return text


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def _counts(counter: dict) -> str:
    return ", ".join(f"{name} ({count})" for name, count in sorted(counter.items(), key=lambda kv: -kv[1])) or "none"


def _channels(n: int) -> str:
    return {1: "mono", 2: "stereo"}.get(n, f"{n} channels")


def _cache_key(files: list[Path], settings: AppSettings) -> str:
    digest = hashlib.sha256(repr(settings.duration_limits()).encode())  # other limits, other files left out
    for path in files:
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def summarise_dataset(
    workspace: Workspace,
    settings: AppSettings,
    progress: Callable[[int, int, str], None] | None = None,
) -> DatasetReport:
    """Decode (or read from cache) the current dataset and check it against the limits."""
    directory = workspace.dataset_dir()
    files = workspace.dataset_files()
    key = _cache_key(files, settings)
    cached = _read_cache(directory / _CACHE, key)
    if cached is not None:
        summary = cached
    else:
        decoded = decode_dataset(files, progress=progress, limits=settings.duration_limits()) if files else None
        summary = decoded.summary() if decoded else {"file_count": 0, "total_duration_s": 0.0, "issues": []}
        picture = dataset_picture(decoded.clips) if decoded else None
        if picture is not None:
            png = io.BytesIO()
            picture.save(png, format="PNG")
            atomic_write_bytes(directory / _PICTURE, png.getvalue())
        else:
            (directory / _PICTURE).unlink(missing_ok=True)
        atomic_write_json(directory / _CACHE, {"key": key, "summary": summary})

    issues = [(name, reason) for name, reason in workspace.rejected()]
    issues += [(Path(i["path"]).name, i["reason"]) for i in summary.get("issues", [])]
    check = DatasetCheck(
        file_count=int(summary.get("file_count", 0)), total_duration_s=float(summary.get("total_duration_s", 0.0))
    )
    limit_s = settings.max_total_minutes * 60
    if check.total_duration_s > limit_s:
        check.problems.append(
            f"The sounds last {_duration(check.total_duration_s)} in total; this server trains on at most "
            f"{settings.max_total_minutes:g} min. Remove some files (Clear, then add fewer)."
        )
    picture_path = directory / _PICTURE
    return DatasetReport(check, summary, issues, picture_path if picture_path.exists() else None)


def _read_cache(path: Path, key: str) -> dict | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("summary") if data.get("key") == key else None
