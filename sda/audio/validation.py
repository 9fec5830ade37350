"""Turn a dataset folder (or files) into decoded clips plus a list of per-file issues.

A bad file never stops a dataset: it becomes a `FileIssue` with a reason the
musician can act on, and the good files are still used. Whether an empty
result is an error is the caller's call (`require_usable`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sda.audio.io import (
    AUDIO_EXTENSIONS,
    DEFAULT_MAX_FILE_SECONDS,
    SAMPLE_RATE,
    AudioLoadError,
    AudioTooLongError,
    DecodedClip,
    format_duration,
    load_audio,
)

PathInput = str | os.PathLike
SUPPORTED_NAMES = "WAV, FLAC, OGG, AIFF, MP3"
_SUPPORTED_SENTENCE = "WAV, FLAC, OGG, AIFF or MP3"
_SKIPPED_FOLDERS = {"__MACOSX"}  # resource-fork copies made by macOS zip


class DatasetError(Exception):
    """The dataset as a whole cannot be used; the message says what to do."""


@dataclass
class FileIssue:
    """One file that was left out of the dataset, and why."""

    path: str
    reason: str
    over_limit: bool = False  # usable audio, left out only because it is longer than a duration limit

    def __str__(self) -> str:
        return f"{Path(self.path).name}: {self.reason}"


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _type_issue(path: Path) -> FileIssue:
    ext = path.suffix.lower() or "no extension"
    return FileIssue(str(path), f"not an audio file type ({ext}); supported: {SUPPORTED_NAMES}")


def find_audio_files(data_dir: PathInput) -> tuple[list[Path], list[FileIssue]]:
    """List audio files under `data_dir` (recursively, sorted); other files become issues.

    Hidden files and folders (".DS_Store", "._song.wav", ".git") and macOS
    "__MACOSX" folders are skipped silently: they are never the musician's sounds.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(_missing_message(root))
    audio: list[Path] = []
    issues: list[FileIssue] = []
    for folder, dirnames, filenames in os.walk(root):
        # Pruning in place stops os.walk from descending into skipped folders.
        dirnames[:] = sorted(d for d in dirnames if not _is_hidden(d) and d not in _SKIPPED_FOLDERS)
        for name in sorted(filenames):
            path = Path(folder) / name
            if _is_hidden(name) or not path.is_file():
                continue
            if path.suffix.lower() in AUDIO_EXTENSIONS:
                audio.append(path)
            else:
                issues.append(_type_issue(path))
    return sorted(audio), sorted(issues, key=lambda i: Path(i.path))


def _missing_message(path: Path) -> str:
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        return f"Audio file '{path}' does not exist. Check the path."
    return (
        f"Dataset folder '{path}' does not exist. Check the path, or pass a folder "
        f"that contains {_SUPPORTED_SENTENCE} files."
    )


def resolve_dataset_paths(
    inputs: PathInput | Iterable[PathInput],
) -> tuple[list[Path], list[FileIssue]]:
    """Expand a folder, a file, or a list of both into audio files plus issues.

    Raises DatasetError if a given path does not exist or nothing was given.
    Files reached twice (a folder and a file inside it) are kept once.
    """
    items = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    if not items:
        raise DatasetError(f"No dataset given. Pass a folder that contains {_SUPPORTED_SENTENCE} files.")
    files: list[Path] = []
    issues: list[FileIssue] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found, found_issues = find_audio_files(path)
            files.extend(found)
            issues.extend(found_issues)
        elif path.is_file():
            if path.suffix.lower() in AUDIO_EXTENSIONS:
                files.append(path)
            else:
                issues.append(_type_issue(path))
        else:
            raise DatasetError(_missing_message(path))
    seen: set[Path] = set()
    unique = []
    for path in files:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique, issues


@dataclass(frozen=True)
class DurationLimits:
    """The longest audio a dataset decodes: one file, and all files together (None: no limit).

    Both are checked against each file's header before it is decoded, so a
    small file that would decode to hours of audio costs nothing.
    """

    max_file_s: float | None = DEFAULT_MAX_FILE_SECONDS
    max_total_s: float | None = None

    @classmethod
    def minutes(cls, per_file: float | None, total: float | None) -> DurationLimits:
        """Limits given in minutes; None or 0 means no limit."""
        return cls(per_file * 60 if per_file else None, total * 60 if total else None)


NO_LIMITS = DurationLimits(None, None)


def _over_total(seconds: float, at_least: bool, limits: DurationLimits, used_s: float) -> str:
    lasts = ("at least " if at_least else "") + format_duration(seconds)
    return (
        f"left out: it lasts {lasts}, and with it the dataset would pass the "
        f"{format_duration(limits.max_total_s)} limit for all files together "
        f"({format_duration(used_s)} already used); use fewer or shorter files"
    )


@dataclass
class DecodedDataset:
    """Decoded clips in file order, plus every file that was left out."""

    clips: list[DecodedClip] = field(default_factory=list)
    issues: list[FileIssue] = field(default_factory=list)

    @property
    def total_duration_s(self) -> float:
        return float(sum(clip.duration_s for clip in self.clips))

    @property
    def file_count(self) -> int:
        return len(self.clips)

    def summary(self) -> dict:
        """Counts a UI or run.json shows: files, duration, formats, rates, issues."""
        return {
            "file_count": self.file_count,
            "total_duration_s": round(self.total_duration_s, 3),
            "formats": dict(Counter(c.format for c in self.clips)),
            "sample_rates": dict(Counter(c.source_sample_rate for c in self.clips)),
            "channels": dict(Counter(c.channels for c in self.clips)),
            "issues": [{"path": i.path, "reason": i.reason} for i in self.issues],
        }

    def manifest(self) -> list[dict]:
        """One record per clip, enough to tell later whether the files changed."""
        return [
            {
                "path": str(c.path),
                "sha256": c.sha256,
                "duration_s": round(c.duration_s, 6),
                "sample_rate": c.source_sample_rate,
                "channels": c.channels,
                "format": c.format,
                "subtype": c.subtype,
            }
            for c in self.clips
        ]


def decode_dataset(
    inputs: PathInput | Iterable[PathInput],
    target_sr: int = SAMPLE_RATE,
    progress: Callable[[int, int, str], None] | None = None,
    limits: DurationLimits = DurationLimits(),
) -> DecodedDataset:
    """Decode every audio file in `inputs`; failures become issues, never exceptions.

    Files are taken in order while they fit `limits`: one longer than the
    per-file limit, or one that would take the dataset past its total, is
    left out (before decoding, from its header) with a reason that says so.
    `progress(done, total, filename)` is called after each file. Raises only
    DatasetError from path resolution (a path that does not exist).
    """
    paths, issues = resolve_dataset_paths(inputs)
    clips: list[DecodedClip] = []
    used_s = 0.0
    for done, path in enumerate(paths, start=1):
        total_left = None if limits.max_total_s is None else max(limits.max_total_s - used_s, 0.0)
        file_limit = min((x for x in (limits.max_file_s, total_left) if x is not None), default=None)
        try:
            clip = load_audio(path, target_sr, max_seconds=file_limit)
            clips.append(clip)
            used_s += clip.duration_s
        except AudioTooLongError as exc:
            over_file = limits.max_file_s is not None and exc.seconds > limits.max_file_s
            reason = (
                str(exc) if over_file or total_left is None else _over_total(exc.seconds, exc.at_least, limits, used_s)
            )
            issues.append(FileIssue(str(path), reason, over_limit=True))
        except AudioLoadError as exc:
            issues.append(FileIssue(str(path), str(exc)))
        except Exception as exc:  # a decoder bug must cost one file, not the dataset
            detail = " ".join(str(exc).split())[:80] or type(exc).__name__
            issues.append(FileIssue(str(path), f"could not be decoded ({detail})"))
        if progress is not None:
            progress(done, len(paths), path.name)
    issues.sort(key=lambda i: Path(i.path))
    return DecodedDataset(clips=clips, issues=issues)


def require_usable(dataset: DecodedDataset, source_description: str) -> None:
    """Raise DatasetError naming `source_description` when no clip could be decoded."""
    if dataset.clips:
        return
    advice = f"Add {_SUPPORTED_SENTENCE} files of at least 50 ms."
    if dataset.issues and all(issue.over_limit for issue in dataset.issues):
        advice = "Use shorter files (cut long takes into pieces)."
    if not dataset.issues:
        raise DatasetError(f"No audio files found in '{source_description}'. {advice}")
    count = len(dataset.issues)
    shown = "; ".join(str(i) for i in dataset.issues[:3])
    more = f"; and {count - 3} more" if count > 3 else ""
    noun = "file" if count == 1 else "files"
    raise DatasetError(
        f"No usable audio in '{source_description}': {count} {noun} could not be used "
        f"({shown}{more}). {advice}"
    )
