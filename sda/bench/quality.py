"""How close generated sounds are to a corpus: a descriptor embedding and k-NN manifold figures.

Embedding: per-band log-mel level mean and spread (32 bands) plus the energy
envelope of the first 1.5 s (15 steps of 100 ms), on sounds cut or padded to
2 s, standardised on the reference set and reduced by PCA to 16 dimensions.

Figures, all against the reference (training) set, k = 3:
precision and recall (Kynkaanniemi et al. 2019), coverage (Naeem et al.
2020), and copies: the share of generated sounds closer to one reference
sound than reference sounds are to their nearest neighbours (1st percentile).
"""

from __future__ import annotations

import numpy as np
import torch

from sda.audio.spectrogram import AudioSpectrogram

EMBED_SECONDS = 2.0
BANDS = 32
ENVELOPE_STEPS, ENVELOPE_SECONDS = 15, 1.5
DIMENSIONS = 16
K = 3


def _db(spectrogram: AudioSpectrogram, audio: np.ndarray) -> torch.Tensor:
    samples = int(EMBED_SECONDS * spectrogram.config.sample_rate)
    wave = np.zeros(samples, dtype=np.float32)
    wave[: min(samples, len(audio))] = audio[:samples]
    return spectrogram.waveform_to_db(torch.from_numpy(wave))  # (n_mels, frames)


def features(spectrogram: AudioSpectrogram, sounds: list[np.ndarray]) -> np.ndarray:
    """(N, 2 * BANDS + ENVELOPE_STEPS) raw descriptor features."""
    rate = spectrogram.config.sample_rate / spectrogram.config.hop_length
    rows = []
    for audio in sounds:
        db = _db(spectrogram, np.asarray(audio, dtype=np.float32)).double()
        bands = db.reshape(BANDS, -1, db.shape[-1]).mean(1)  # (BANDS, frames)
        energy = 10 * torch.log10(torch.pow(10.0, db / 10).sum(0).clamp_min(1e-10))
        step = int(round(rate * ENVELOPE_SECONDS / ENVELOPE_STEPS))
        envelope = energy[: step * ENVELOPE_STEPS].reshape(ENVELOPE_STEPS, step).mean(1)
        rows.append(torch.cat([bands.mean(1), bands.std(1), envelope]).numpy())
    return np.stack(rows)


class Embedding:
    """Standardise and reduce features the way the reference set defines."""

    def __init__(self, reference: np.ndarray) -> None:
        self.mean = reference.mean(0)
        self.std = reference.std(0) + 1e-6
        z = (reference - self.mean) / self.std
        _, _, vh = np.linalg.svd(z, full_matrices=False)
        self.basis = vh[: min(DIMENSIONS, vh.shape[0])]

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        return ((rows - self.mean) / self.std) @ self.basis.T


def _radii(points: np.ndarray, k: int) -> np.ndarray:
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    return np.sort(distances, axis=1)[:, k - 1]


def manifold_figures(reference: np.ndarray, generated: np.ndarray, k: int = K) -> dict:
    """precision, recall, coverage and copies of ``generated`` against ``reference`` (embedded rows)."""
    ref_radius = _radii(reference, k)
    cross = np.linalg.norm(generated[:, None] - reference[None], axis=-1)  # (G, R)
    precision = float(np.mean((cross <= ref_radius[None]).any(1)))
    coverage = float(np.mean((cross <= ref_radius[None]).any(0)))
    gen_radius = _radii(generated, k) if len(generated) > k else np.full(len(generated), np.inf)
    recall = float(np.mean((cross.T <= gen_radius[None]).any(1)))
    nearest_ref = _radii(reference, 1)
    copies = float(np.mean(cross.min(1) < np.percentile(nearest_ref, 1)))
    return {"precision": precision, "recall": recall, "coverage": coverage, "copies": copies}


def level_figures(spectrogram: AudioSpectrogram, sounds: list[np.ndarray]) -> dict:
    """Median peak level (dBFS), spectral flatness and attack-to-tail contrast (dB) of ``sounds``."""
    peaks, flatness, contrast = [], [], []
    frame_s = spectrogram.config.hop_length / spectrogram.config.sample_rate
    for audio in sounds:
        audio = np.asarray(audio, dtype=np.float32)
        peaks.append(20 * np.log10(np.abs(audio).max() + 1e-12))
        wave = torch.from_numpy(audio)
        power = (
            torch.stft(wave, 2048, 512, window=torch.hann_window(2048), return_complex=True).abs().square().double()
            + 1e-12
        )
        energy = power.sum(0)
        weights = energy / energy.sum()
        frame_flatness = torch.exp(torch.log(power).mean(0)) / power.mean(0)
        flatness.append(float((frame_flatness * weights).sum()))
        level = 10 * torch.log10(energy / energy.max()).clamp_min(-80.0)
        peak_at = int(level.argmax())
        tail = level[peak_at + int(0.3 / frame_s) : peak_at + int(0.6 / frame_s)]
        if len(tail) == 0:  # a short sound: its last frames are its tail
            tail = level[-3:]
        contrast.append(float(-tail.mean()))
    return {"peak_dbfs": float(np.median(peaks)), "flatness": float(np.median(flatness)),
            "attack_tail_db": float(np.median(contrast))}
