"""The model's level: one gain per model, so a kit's soft hits stay soft and its hard hits hard.

Every sound a model makes is written at the model's level: one gain, the
same for all its sounds, chosen so that the loudest of its training sounds
as the model makes them peaks at -1 dBFS. It is measured on what the model
actually outputs, not on the training files: the training sounds' own latent
windows (kept in the prior) are decoded and inverted to audio, as a
generated sound is, and the loudest of them sets the gain. The model's level
axis is then heard as it is: a sound at its soft end comes out softer.

A sound louder than anything in the training set (an axis pushed past its
range) is brought down just enough to stay under the export's true-peak
ceiling (``sda.audio.export``), never clipped; the sidecar says so. A sample
pack takes one gain for all its sounds (``shared_gain_db``), so their
relative levels hold inside it.

The measurement is stored in the analysis's info under "level"; a model
analysed before it existed gets it when it is loaded (``ensure_level``, on
at most ``LOAD_WINDOWS`` of its windows, so loading stays quick; a run
stores the result, a model file measures again each time it is loaded
until it is written anew).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sda.audio.export import PEAK_DBFS, peak_ceiling
from sda.audio.resampling import sample_peak, true_peak
from sda.audio.spectrogram import AudioSpectrogram
from sda.models.vae import ConvVAE

LEVEL_VERSION = 1
PROBES = 6  # loudest training windows inverted to audio; the loudest of them sets the gain
LOAD_WINDOWS = 256  # windows looked at when a model analysed before levels is loaded (seconds on a CPU)
MAX_GAIN_DB = 48.0  # a model trained on near-silence is not raised past this (nor lowered past its negative)
MODEL_RULE = "model"  # one gain per model: the loudest training sound, as the model makes it, at -1 dBFS
NORMALISED_RULE = "normalised"  # each sound on its own to -1 dBFS


@torch.no_grad()
def measure_level(model: ConvVAE, spectrogram: AudioSpectrogram, points: torch.Tensor, window: int,
                  batch: int = 64, limit: int | None = None) -> dict:
    """The model's gain from its training windows' latents ``points`` (N, latent_dim * window).

    Returns {"rule", "gain_db", "target_dbfs", "loudest_peak_dbfs", "probes", "version"}: the gain that
    puts the loudest decoded-and-inverted training window's sample peak at ``PEAK_DBFS``. ``limit``: look
    at that many windows, evenly spread, instead of all (a quicker measure when a model is loaded).
    """
    if limit is not None and points.shape[0] > limit:
        points = points[torch.linspace(0, points.shape[0] - 1, limit).round().long()]
    was_training = model.training
    model.eval()
    try:
        def decode(z: torch.Tensor) -> torch.Tensor:
            return model.decode(z.view(-1, model.latent_dim, window).to(spectrogram.device)).float()

        loudness = []  # each window's loudest frame; only the loudest few are decoded again and inverted
        for start in range(0, points.shape[0], batch):
            power = torch.pow(10.0, spectrogram.mel_to_db(decode(points[start : start + batch])) / 10.0).sum(1)
            loudness.append(power.max(1).values.cpu())
        top = torch.argsort(torch.cat(loudness), descending=True)[:PROBES]
        audio = spectrogram.mel_to_waveform(decode(points[top]), seed=0, quality="fast").float().cpu().numpy()
    finally:
        model.train(was_training)
    peak = max(sample_peak(np.nan_to_num(a)) for a in audio)
    peak_db = 20 * math.log10(peak) if peak > 0 else -120.0
    gain = min(max(PEAK_DBFS - peak_db, -MAX_GAIN_DB), MAX_GAIN_DB)
    return {"rule": MODEL_RULE, "gain_db": round(gain, 3), "target_dbfs": PEAK_DBFS,
            "loudest_peak_dbfs": round(peak_db, 3), "probes": int(len(top)), "version": LEVEL_VERSION}


def level_gain_db(info: dict) -> float | None:
    """The stored model gain of an analysis's info, or None when it has none yet."""
    level = info.get("level") if isinstance(info, dict) else None
    try:
        gain = float(level["gain_db"])
    except (TypeError, KeyError, ValueError):
        return None
    return gain if math.isfinite(gain) else None


def ensure_level(analysis, model: ConvVAE, spectrogram: AudioSpectrogram) -> bool:
    """Measure the model's level into ``analysis.info`` when it has none; True when it was measured now."""
    if level_gain_db(analysis.info) is not None:
        return False
    analysis.info["level"] = measure_level(model, spectrogram, analysis.prior.points, analysis.window_frames,
                                           limit=LOAD_WINDOWS)
    return True


def shared_gain_db(sounds: list[np.ndarray], fmt: str, model_gain_db: float, normalise: bool = False) -> float:
    """One gain for a set of sounds (a pack): the model's, or (``normalise``) the loudest of them at -1 dBFS,
    lowered together as far as the loudest needs to stay under the format's true-peak ceiling."""
    peaks = [sample_peak(s) for s in sounds]
    overs = [true_peak(s) for s in sounds]
    loudest = max(peaks, default=0.0)
    if normalise:
        wanted = PEAK_DBFS - 20 * math.log10(loudest) if loudest > 0 else 0.0
    else:
        wanted = model_gain_db
    over = max(overs, default=0.0)
    if over > 0:
        wanted = min(wanted, 20 * math.log10(peak_ceiling(fmt) / over))
    return float(wanted)
