"""Shared test setup: import paths, a small thread budget, tiny configs, a folder of sounds."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
for _path in (str(REPO_ROOT), str(TESTS_DIR)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

os.environ["SDA_TEST"] = "1"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from audio_files import tone, write_signal, write_texture, write_tone  # noqa: E402
from sda.audio.spectrogram import SpectrogramConfig  # noqa: E402
from sda.training.config import RegularizationConfig, TrainingConfig  # noqa: E402

# CI machines are small and shared; more threads only add contention.
torch.set_num_threads(2)

# Environment for `python -m sda ...` / helper-script subprocesses.
SUBPROCESS_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    "PYTHONUNBUFFERED": "1",
    "OMP_NUM_THREADS": "2",
    "SDA_TEST": "1",
}


def sda(*args, timeout=300) -> subprocess.CompletedProcess:
    """`python -m sda ARGS...` from the repository root, as a user runs it; output captured."""
    return subprocess.run([sys.executable, "-m", "sda", *map(str, args)], cwd=REPO_ROOT, env=SUBPROCESS_ENV,
                          capture_output=True, text=True, timeout=timeout)


def assert_user_error(proc, *words):
    """Exit code 2, one sentence on stderr, no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(err.splitlines()) == 1 and err.startswith("Error: "), err
    for word in words:
        assert word in err, err


def make_tiny_config(**overrides) -> TrainingConfig:
    """A config for a model that trains in well under a second per epoch on CPU.

    Keys of RegularizationConfig may be given directly (``dropout=0.0``).
    Previews only at the first and last epoch unless asked for; fp32 so runs
    are exactly repeatable.
    """
    reg_names = set(RegularizationConfig.__dataclass_fields__)
    reg = dict(dropout=0.1, weight_decay=0.01, augmentation_expansion=0, gradient_clip_norm=1.0, augmentation_strength=0.5)
    reg.update({k: overrides.pop(k) for k in list(overrides) if k in reg_names})
    values = dict(
        hidden_channels=32, latent_dim=8, batch_size=4, max_epochs=2, learning_rate=2e-3,
        checkpoint_interval=1000, preview_interval=1000, preview_interval_short=1000,
        num_preview_samples=1, precision="fp32", val_fraction=0.2, seed=1234,
    )
    values.update(overrides)
    return TrainingConfig(regularization=RegularizationConfig(**reg), **values)


@dataclass(frozen=True)
class QuickInversionConfig(SpectrogramConfig):
    """The training spectrogram with 2 Griffin-Lim iterations instead of 32.

    Only the audio inversion of previews gets cheaper (seconds per preview on
    a busy 2-core machine); the model's input, and so training, is unchanged.
    """

    griffin_lim_iters: int = 2


@pytest.fixture(scope="module")
def fast_previews():
    """Cheap previews for in-process train() calls in this module (not for the plan's own scripts)."""
    import sda.training.loop as loop

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop, "SpectrogramConfig", QuickInversionConfig)
        yield


@pytest.fixture
def tiny_config():
    """Factory: ``tiny_config(max_epochs=3, batch_size=8, dropout=0.0, ...)``."""
    return make_tiny_config


# name -> how it is written; varied rates, channel counts, formats and lengths.
SOUND_FOLDER_FILES = ("bursts_a.wav", "bursts_b.wav", "tone_44k_stereo.wav", "short.flac", "long.wav", "aiff_tone.aiff")


def write_sound_folder(folder: Path) -> Path:
    """Six short, varied sounds (0.3-2.5 s, 48/44.1 kHz, mono/stereo, WAV/FLAC/AIFF)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_texture(folder / "bursts_a.wav", seconds=1.2, seed=1)
    write_texture(folder / "bursts_b.wav", seconds=0.8, seed=2)
    write_tone(folder / "tone_44k_stereo.wav", seconds=1.0, sr=44100, channels=2, freq=330.0)
    write_texture(folder / "short.flac", seconds=0.3, seed=3, format="FLAC")
    write_texture(folder / "long.wav", seconds=2.5, seed=4)
    write_signal(folder / "aiff_tone.aiff", tone(0.9, 48000, freq=550.0, amplitude=0.3), 48000, format="AIFF")
    return folder


@pytest.fixture
def sound_folder(tmp_path) -> Path:
    """A fresh folder of six short, varied sound files."""
    return write_sound_folder(tmp_path / "sounds")


@pytest.fixture(scope="session")
def shared_sound_folder(tmp_path_factory) -> Path:
    """The same six sounds, written once per session (tests must not modify it)."""
    return write_sound_folder(tmp_path_factory.mktemp("shared_sounds"))


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(audio, dtype=np.float64))) + 1e-12))
