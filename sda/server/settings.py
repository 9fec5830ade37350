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
  SDA_MAX_QUEUE                 most runs waiting for a training slot; a start beyond it is refused (20; 0 = no waiting)
  SDA_MAX_EPOCHS                most epochs one run may train (no cap); presets above it are lowered to it
  SDA_MAX_TRAINING_MINUTES      most minutes one run may train, all its resumes together (no cap); then it
                                stops with a checkpoint and the page says why
  SDA_MAX_DISK_GB               most disk all workspaces together may use (no cap); uploads and new runs are
                                refused beyond it
  SDA_WORKSPACE_DISK_MB         most disk one workspace may use: uploads, runs, sounds, downloads and the copies
                                served to its browser (no cap; 1000 in public mode); every write
                                is checked before it happens (see workspace_quota.py)
  SDA_WORKSPACE_TTL_DAYS        delete workspaces untouched this long and not training (7; 0 = never)
  SDA_BROWSER_SECRET            key for the workspace id kept in the browser (default: made once, kept in SDA_DATA_ROOT)
  SDA_TEST_TINY=1               tiny model and short runs, for tests and demos of the page itself

  SDA_SUMMARY_MAX_MINUTES       most audio one call of the /summarize_dataset API decodes (120, as
                                SDA_MAX_TOTAL_MINUTES; public mode lowers it to 10)
Public-server mode (sda/server/public_mode.py: a Space, a non-local GRADIO_SERVER_NAME, or SDA_PUBLIC=1;
SDA_PUBLIC=0 turns it off) gives these their public default (local default / public default):

  SDA_MAX_EPOCHS, SDA_MAX_TRAINING_MINUTES      (no cap / 300 epochs, 30 min)
  SDA_MAX_EVENT_QUEUE                 events waiting in Gradio's queue; more are refused (no cap / 64)
  SDA_MAX_GENERATIONS_PER_WORKSPACE   sounds being made or waiting per workspace; more are refused (no cap / 1)
  SDA_MAX_PACK_SECONDS                sample pack: sounds x seconds each (3840 / 120)
  SDA_MAX_VARIATION_SECONDS           variations: count x length of the dropped sound (9600 / 120)
  SDA_MAX_MORPH_STEPS, SDA_MAX_MORPH_SECONDS    morph in steps / continuous morph length (16, 60 / 8, 20)
  SDA_MAX_PLAY_INPUT_SECONDS          longest sound dropped on the Play tab (600 / 60)

A setting that makes no sense (not a number, a negative limit, a cap of 0
trainings) stops the app at start with a message naming the variable.
Host and port are Gradio's own GRADIO_SERVER_NAME (default 127.0.0.1) and GRADIO_SERVER_PORT (7860).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from sda.audio.validation import DurationLimits
from sda.server.public_mode import PublicModeError, fairness_default, is_public

HISTORY_MAX_MB = 2000.0  # one workspace's Play history, at most (or half its quota); oldest sounds go first


class SettingsError(ValueError):
    """An SDA_* variable the app cannot run with; the message names it and says what it must be."""


def _env_number(
    name: str, default, *, whole: bool = False, minimum: float = 0.0, above: bool = False, unset_means: str = ""
):
    """The number in variable ``name`` (``default`` when unset), checked against ``minimum``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    kind = "a whole number" if whole else "a number"
    bound = f"above {minimum:g}" if above else f"at least {minimum:g}"
    hint = f" (leave it unset for {unset_means})" if unset_means else ""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if (
        not math.isfinite(value)
        or (whole and not value.is_integer())
        or value < minimum
        or (above and value <= minimum)
    ):
        raise SettingsError(f"Environment variable {name}={raw!r} must be {kind} {bound}{hint}.")
    return int(value) if whole else value


def _env_flag(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"Environment variable {name}={raw!r} must be 1 or 0.")


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
    max_queue: int = 20  # runs waiting for a slot
    max_epochs: int | None = None  # epochs per run; None: no cap
    max_training_minutes: float | None = None  # training time per run; None: no cap
    max_disk_gb: float | None = None  # all workspaces together; None: no cap
    workspace_ttl_days: float = 7.0  # 0 keeps workspaces forever
    # --- quota on every write (workspace_quota.py)
    workspace_disk_mb: float | None = None  # one workspace, every byte it causes; None: no cap
    test_tiny: bool = False  # tiny model and short runs, for CI
    summary_max_minutes: float = 120.0  # audio one /summarize_dataset call decodes (lower in public mode)
    # Fairness limits (defaults here are the local ones; public mode's are in public_mode.FAIRNESS_DEFAULTS).
    public: bool = False  # strangers share this server: the public defaults apply
    max_event_queue: int | None = None  # events waiting in Gradio's queue; None: no cap
    max_generations_per_workspace: int | None = None  # sounds made or waiting per workspace; None: no cap
    max_pack_seconds: float = 3840.0  # one sample pack: sounds x seconds each
    max_variation_seconds: float = 9600.0  # one Vary: count x length of the dropped sound
    max_morph_steps: int = 16  # one morph in steps
    max_morph_seconds: float = 60.0  # one continuous morph
    max_play_input_seconds: float = 600.0  # a sound dropped on the Play tab

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

    def summary_limits(self) -> DurationLimits:
        """How much audio one call of the summary API may decode (SDA_SUMMARY_MAX_MINUTES)."""
        return DurationLimits.minutes(self.max_file_minutes, self.summary_max_minutes)

    @property
    def max_disk_bytes(self) -> int | None:
        return None if self.max_disk_gb is None else int(self.max_disk_gb * 1024**3)

    @property
    def workspace_disk_bytes(self) -> int | None:
        return None if self.workspace_disk_mb is None else int(self.workspace_disk_mb * 1024 * 1024)

    @property
    def history_max_bytes(self) -> int:
        """Most bytes one Play history keeps: HISTORY_MAX_MB, or half the workspace quota when that is less."""
        cap = int(HISTORY_MAX_MB * 1024 * 1024)
        quota = self.workspace_disk_bytes
        return cap if quota is None else min(cap, quota // 2)

    @classmethod
    def from_env(cls) -> AppSettings:
        """Read the SDA_* variables listed above; unset ones keep their defaults. Raises SettingsError."""
        try:
            public = is_public()
        except PublicModeError as exc:
            raise SettingsError(str(exc)) from None

        def fair(name: str):
            return fairness_default(name, public)

        return cls(
            data_root=Path(os.environ.get("SDA_DATA_ROOT", "") or Path.cwd()).expanduser().resolve(),
            max_file_mb=_env_number("SDA_MAX_FILE_MB", cls.max_file_mb, above=True),
            max_files=_env_number("SDA_MAX_FILES", cls.max_files, whole=True, minimum=1),
            max_total_minutes=_env_number("SDA_MAX_TOTAL_MINUTES", cls.max_total_minutes, above=True),
            max_file_minutes=_env_number("SDA_MAX_FILE_MINUTES", cls.max_file_minutes, above=True),
            max_upload_mb=_env_number("SDA_MAX_UPLOAD_MB", cls.max_upload_mb, above=True),
            max_concurrent_trainings=_env_number("SDA_MAX_CONCURRENT_TRAININGS", None, whole=True, minimum=1,
                                                 unset_means="1 on CPU, 2 on a GPU"),
            max_queue=_env_number("SDA_MAX_QUEUE", cls.max_queue, whole=True, minimum=0),
            max_epochs=_env_number("SDA_MAX_EPOCHS", fair("max_epochs"), whole=True, minimum=1,
                                   unset_means="no cap" if not public else "300"),
            max_training_minutes=_env_number("SDA_MAX_TRAINING_MINUTES", fair("max_training_minutes"), above=True,
                                             unset_means="no cap" if not public else "30"),
            max_disk_gb=_env_number("SDA_MAX_DISK_GB", None, above=True, unset_means="no cap"),
            workspace_ttl_days=_env_number("SDA_WORKSPACE_TTL_DAYS", cls.workspace_ttl_days),
            test_tiny=_env_flag("SDA_TEST_TINY"),
            summary_max_minutes=_env_number("SDA_SUMMARY_MAX_MINUTES", fair("summary_max_minutes"), above=True),
            workspace_disk_mb=_env_number("SDA_WORKSPACE_DISK_MB", fair("workspace_disk_mb"), above=True,
                                          unset_means="no cap" if not public else "1000"),
            **_fairness_from_env(public),
        )


def _fairness_from_env(public: bool) -> dict:
    """The Play and queue limits of public mode (``public``) or a local run, each overridable by its variable."""

    def fair(name: str):
        return fairness_default(name, public)

    return dict(
        public=public,
        max_event_queue=_env_number("SDA_MAX_EVENT_QUEUE", fair("max_event_queue"), whole=True, minimum=1),
        max_generations_per_workspace=_env_number(
            "SDA_MAX_GENERATIONS_PER_WORKSPACE", fair("max_generations_per_workspace"), whole=True, minimum=1
        ),
        max_pack_seconds=_env_number("SDA_MAX_PACK_SECONDS", fair("max_pack_seconds"), above=True),
        max_variation_seconds=_env_number("SDA_MAX_VARIATION_SECONDS", fair("max_variation_seconds"), above=True),
        max_morph_steps=_env_number("SDA_MAX_MORPH_STEPS", fair("max_morph_steps"), whole=True, minimum=2),
        max_morph_seconds=_env_number("SDA_MAX_MORPH_SECONDS", fair("max_morph_seconds"), above=True),
        max_play_input_seconds=_env_number("SDA_MAX_PLAY_INPUT_SECONDS", fair("max_play_input_seconds"), above=True),
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
