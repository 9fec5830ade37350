"""Helpers the test modules import: the CLI as a user runs it, its error check, tiny training configs.

conftest.py puts tests/ (and the repository root) on sys.path and holds the
fixtures; everything a test module imports by name lives here or beside it
(audio_files, generation_helpers, web_helpers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sda.audio.spectrogram import SpectrogramConfig
from sda.training.config import RegularizationConfig, TrainingConfig

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent

# Environment for `python -m sda ...` / helper-script subprocesses.
SUBPROCESS_ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(TESTS_DIR), os.environ.get("PYTHONPATH", "")]
                                  ).rstrip(os.pathsep),
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
    are exactly repeatable; no learned inversion unless asked for (``inversion_seconds``).
    """
    reg_names = set(RegularizationConfig.__dataclass_fields__)
    reg = dict(dropout=0.1, weight_decay=0.01, augmentation_expansion=0, gradient_clip_norm=1.0,
               augmentation_strength=0.5)
    reg.update({k: overrides.pop(k) for k in list(overrides) if k in reg_names})
    values = dict(
        hidden_channels=32, latent_dim=8, batch_size=4, max_epochs=2, learning_rate=2e-3,
        checkpoint_interval=1000, preview_interval=1000, preview_interval_short=1000,
        num_preview_samples=1, precision="fp32", val_fraction=0.2, seed=1234, inversion_seconds=0.0,
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


@contextmanager
def quick_previews():
    """In-process train() calls inside the block invert their previews with QuickInversionConfig."""
    import sda.training.loop as loop

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop, "SpectrogramConfig", QuickInversionConfig)
        yield
