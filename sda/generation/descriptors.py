"""Audio descriptors measured on log-mel spectrograms (dB), cheap enough to run on hundreds of sounds.

They name the directions the model's sounds vary in: level, brightness
(spectral centroid), noisiness (spectral flatness), attack sharpness, decay
length and pitch (the lowest strong spectral peak). Working on the mel
spectrogram, not on audio, keeps the axis analysis free of any inversion.
"""

from __future__ import annotations

import numpy as np
import torch

# The + direction of each is "more" of it; axis_names.WORDS says each end in plain words.
NAMES = ("level", "brightness", "noisiness", "attack", "decay", "pitch")
_ONSET_DB = 40.0  # a sound starts where it first comes within this of its peak
_DECAY_DB = 30.0  # ... and has decayed once it stays this far below it


def band_frequencies(mel_basis: torch.Tensor, sample_rate: int) -> np.ndarray:
    """Centre frequency (Hz) of each mel band: where its filter peaks."""
    basis = mel_basis.detach().float().cpu().numpy()
    n_fft = 2 * (basis.shape[1] - 1)
    return basis.argmax(1) * sample_rate / n_fft


def describe_db(db: torch.Tensor, band_hz: np.ndarray, frame_seconds: float) -> np.ndarray:
    """(B, n_mels, frames) log-mel in dB -> (B, len(NAMES)) descriptor values.

    Units: level dB, brightness and pitch in octaves (log2 Hz), noisiness as
    log10 flatness, attack as minus the attack time in ms (higher = sharper),
    decay in seconds.
    """
    db = db.double()
    power = torch.pow(10.0, db / 10.0)  # (B, M, T)
    frame_energy = power.sum(1)  # (B, T)
    total = frame_energy.sum(1).clamp_min(1e-30)
    weights = frame_energy / total[:, None]
    level = 10.0 * torch.log10(frame_energy.mean(1).clamp_min(1e-30))
    log_hz = torch.from_numpy(np.log2(np.maximum(band_hz, 20.0))).to(db)
    centroid = ((power * log_hz[None, :, None]).sum(1) / frame_energy.clamp_min(1e-30) * weights).sum(1)
    flatness = torch.exp(torch.log(power.clamp_min(1e-30)).mean(1)) / power.mean(1).clamp_min(1e-30)
    noisiness = (torch.log10(flatness.clamp_min(1e-12)) * weights).sum(1)
    env_db = 10.0 * torch.log10(frame_energy.clamp_min(1e-30))
    peak_db, peak_at = env_db.max(1)
    frames = torch.arange(env_db.shape[1], device=db.device)[None]
    onset = torch.where(env_db >= peak_db[:, None] - _ONSET_DB, frames, env_db.shape[1]).min(1).values
    near_peak = torch.where(env_db >= peak_db[:, None] - 3.0, frames, env_db.shape[1]).min(1).values
    attack = -(near_peak - onset).double() * frame_seconds * 1000.0
    above = torch.where(env_db >= peak_db[:, None] - _DECAY_DB, frames, -1).max(1).values
    decay = (above - peak_at).clamp_min(0).double() * frame_seconds
    band_peak = db.max(1, keepdim=True).values
    strong = db >= band_peak - 10.0  # (B, M, T): bands within 10 dB of the frame's strongest
    lowest = torch.where(strong, torch.arange(db.shape[1], device=db.device)[None, :, None], db.shape[1]).min(1).values
    pitch = (log_hz[lowest.clamp(max=db.shape[1] - 1)] * weights).sum(1)
    return torch.stack([level, centroid, noisiness, attack, decay, pitch], 1).cpu().numpy()
