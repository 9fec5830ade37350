"""A small trained model shared by the generation tests, and measurements of generated audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from conftest import make_tiny_config
from sda.bench.synth import make_sound_set
from sda.training.loop import train

SR = 48000


def train_tiny_kit(root: Path, epochs: int = 30) -> Path:
    """Train a tiny model on 12 synthetic one-shots (kicks, hats, plucks...); return the run folder."""
    data = Path(root) / "kit"
    make_sound_set(data, 12, seed=5, sample_rate=48000, stereo_fraction=0.0)
    run = Path(root) / "run"
    config = make_tiny_config(max_epochs=epochs, hidden_channels=48, latent_dim=8, dropout=0.0, batch_size=4)
    train(config, [data], run, "cpu")
    return run


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
