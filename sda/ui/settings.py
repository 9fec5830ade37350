"""Server settings for the web app, read once from environment variables.

Every limit a hosted Space needs has a default that suits one musician on
their own machine and an environment variable to change it:

  SDA_DATA_ROOT                 where workspaces live (<root>/workspaces/<id>/); default: the current folder
  SDA_MAX_FILE_MB               largest uploaded file, also inside a zip (200)
  SDA_MAX_FILES                 most audio files in one dataset (500)
  SDA_MAX_UPLOAD_MB             most bytes in one dataset (2000)
  SDA_MAX_TOTAL_MINUTES         longest total audio one dataset may train on (120)
  SDA_MAX_FILE_MINUTES          longest single sound file; longer ones are refused before decoding (10)
  SDA_MAX_CONCURRENT_TRAININGS  trainings at once on this server (1 on CPU, 2 on a GPU)
  SDA_WORKSPACE_TTL_DAYS        delete workspaces untouched this long and not training (7; 0 = never)
  SDA_BROWSER_SECRET            key for the workspace id kept in the browser (default: made once, kept in SDA_DATA_ROOT)
  SDA_TEST_TINY=1               tiny model and short runs, for tests and demos of the page itself

Host and port are Gradio's own GRADIO_SERVER_NAME (default 127.0.0.1) and GRADIO_SERVER_PORT (7860).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sda.audio.validation import DurationLimits


def _env_number(name: str, default: float, cast=float):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return cast(raw)
    except ValueError:
        raise SystemExit(f"Environment variable {name}={raw!r} must be a number (default {default}).") from None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class AppSettings:
    """Where workspaces live and the limits every session works within."""

    data_root: Path
    max_file_mb: float = 200.0  # one uploaded file (or one file inside a zip)
    max_files: int = 500  # audio files in one workspace dataset
    max_total_minutes: float = 120.0  # decoded duration of one dataset
    max_file_minutes: float = 10.0  # decoded duration of one file
    max_upload_mb: float = 2000.0  # all files of one dataset on disk
    max_concurrent_trainings: int | None = None  # None: 1 on CPU, 2 on a GPU
    workspace_ttl_days: float = 7.0  # 0 keeps workspaces forever
    test_tiny: bool = False  # tiny model and short runs, for CI

    @property
    def workspaces_root(self) -> Path:
        return self.data_root / "workspaces"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    def duration_limits(self) -> DurationLimits:
        """How much audio a dataset may decode: checked on each file's header before decoding."""
        return DurationLimits.minutes(self.max_file_minutes, self.max_total_minutes)

    @classmethod
    def from_env(cls) -> "AppSettings":
        """Read the SDA_* variables listed above; unset ones keep their defaults."""
        cap = os.environ.get("SDA_MAX_CONCURRENT_TRAININGS", "").strip()
        return cls(
            data_root=Path(os.environ.get("SDA_DATA_ROOT", "") or Path.cwd()).expanduser().resolve(),
            max_file_mb=_env_number("SDA_MAX_FILE_MB", cls.max_file_mb),
            max_files=_env_number("SDA_MAX_FILES", cls.max_files, int),
            max_total_minutes=_env_number("SDA_MAX_TOTAL_MINUTES", cls.max_total_minutes),
            max_file_minutes=_env_number("SDA_MAX_FILE_MINUTES", cls.max_file_minutes),
            max_upload_mb=_env_number("SDA_MAX_UPLOAD_MB", cls.max_upload_mb),
            max_concurrent_trainings=_env_number("SDA_MAX_CONCURRENT_TRAININGS", 1, int) if cap else None,
            workspace_ttl_days=_env_number("SDA_WORKSPACE_TTL_DAYS", cls.workspace_ttl_days),
            test_tiny=_env_flag("SDA_TEST_TINY"),
        )


# Settings the test mode (SDA_TEST_TINY=1) puts under the user's own choices:
# a model small enough that a browser test trains a few epochs in seconds.
TINY_OVERRIDES: dict = {
    "hidden_channels": 32,
    "latent_dim": 8,
    "max_epochs": 3,
    "batch_size": 8,
    "preview_interval": 1,
    "preview_interval_short": 1,
    "checkpoint_interval": 1,
    "num_preview_samples": 1,
    "regularization.augmentation_expansion": 0,
}
