"""The tiny kit model the generation tests share (trained once per session: conftest's `kit_run`),
and measurements of generated audio."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from helpers import make_tiny_config

from sda.bench.synth import make_sound_set
from sda.training.loop import train

SR = 48000
# Enough for the generation tests' judgements of sound (axes that move it, variations near their source).
KIT_EPOCHS = 30


def train_tiny_kit(root: Path, epochs: int = KIT_EPOCHS) -> Path:
    """Train a tiny model on 12 synthetic one-shots (kicks, hats, plucks...) in ROOT/kit; return ROOT/run."""
    data = Path(root) / "kit"
    make_sound_set(data, 12, seed=5, sample_rate=48000, stereo_fraction=0.0)
    run = Path(root) / "run"
    config = make_tiny_config(max_epochs=epochs, hidden_channels=48, latent_dim=8, dropout=0.0, batch_size=4)
    train(config, [data], run, "cpu")
    return run


def copy_kit(run: Path, root: Path) -> Path:
    """A copy of a kit (its run folder and its sounds, side by side as train_tiny_kit left them) in ROOT; its run."""
    shutil.copytree(run.parent, root)
    return Path(root) / run.name


def folder_state(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ROOT with its size and modification time: what a test that writes there changes."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def frame_rms_db(audio: np.ndarray, frame: int = 1024) -> np.ndarray:
    count = len(audio) // frame
    frames = audio[: count * frame].reshape(count, frame).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def mel_distance(spectrogram, a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute log-mel difference (dB) over the shorter length."""
    import torch

    n = min(len(a), len(b))
    da = spectrogram.waveform_to_db(torch.from_numpy(np.ascontiguousarray(a[:n])))
    db = spectrogram.waveform_to_db(torch.from_numpy(np.ascontiguousarray(b[:n])))
    return float((da - db).abs().clamp(max=60).mean())
