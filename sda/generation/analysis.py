"""Post-training analysis: the data prior and the named axes, stored beside the run.

``analyse`` encodes every training sound to its latent mean sequence, cut
into fixed-length windows (long sounds give several), fits the prior over
them (``prior.py``) and names the top principal directions by the audio
descriptors they move most. Everything is stored as plain tensors and
JSON-able values, so ``torch.load(..., weights_only=True)`` reads it back.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from sda.atomic import atomic_write_bytes, atomic_write_json
from sda.audio.spectrogram import AudioSpectrogram
from sda.generation.axes import Axis
from sda.generation.axis_names import name_axes
from sda.generation.descriptors import NAMES, band_frequencies, describe_db
from sda.generation.errors import GenerationError
from sda.generation.level import measure_level
from sda.generation.prior import LatentPrior
from sda.models.vae import ConvVAE

ANALYSIS_FILE = "analysis.pt"
ANALYSIS_SUMMARY = "analysis.json"
ANALYSIS_FORMAT = "sda-analysis"
ANALYSIS_VERSION = 1
MAX_AXES = 8
MAX_POINTS = 1024  # windows kept for the prior (a random subset beyond that)
MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS = 2.0, 3.0  # 2 s: a default-length sound is one window
PROBE = 1.5  # standard deviations either side of a base point when naming an axis
BASES = 10  # starting points (plus the centre) an axis is probed from


@dataclass
class Analysis:
    prior: LatentPrior
    axes: list[Axis]
    window_frames: int  # latent frames per window
    model_id: str
    info: dict = field(default_factory=dict)

    def state_dict(self) -> dict:
        return {"format": ANALYSIS_FORMAT, "version": ANALYSIS_VERSION, "model_id": self.model_id,
                "window_frames": self.window_frames, "prior": self.prior.state_dict(),
                "axes": [axis.to_dict() for axis in self.axes], "info": self.info}

    @classmethod
    def from_state(cls, state: dict, source: str) -> Analysis:
        try:
            if state.get("format") != ANALYSIS_FORMAT or int(state.get("version", 0)) > ANALYSIS_VERSION:
                raise ValueError("not an analysis this version of sda reads")
            return cls(LatentPrior.from_state(state["prior"]), [Axis.from_dict(a) for a in state["axes"]],
                       int(state["window_frames"]), str(state["model_id"]), dict(state.get("info", {})))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise GenerationError(
                f"The axis analysis in '{source}' is damaged ({exc}); recompute it with: python -m sda analyse MODEL"
            ) from None

    def summary(self) -> dict:
        return {"model_id": self.model_id, "window_frames": self.window_frames, "info": self.info,
                "axes": [axis.to_dict() for axis in self.axes]}


def choose_window_frames(mel_lengths: list[int], model: ConvVAE, spectrogram: AudioSpectrogram) -> int:
    """Latent frames per window: long enough for most training sounds (2 to 3 s)."""
    rate = spectrogram.config.sample_rate / spectrogram.config.hop_length
    typical = float(np.percentile(mel_lengths, 90)) if mel_lengths else rate
    frames = min(max(typical, MIN_WINDOW_SECONDS * rate), MAX_WINDOW_SECONDS * rate)
    return model.latent_frames(int(math.ceil(frames)))


@torch.no_grad()
def encode_windows(
    model: ConvVAE, mels: list[torch.Tensor], silence: float, window: int, batch: int = 64
) -> torch.Tensor:
    """Normalised mels (n_mels, frames) -> (N, latent_dim * window) latent windows, half-overlapping."""
    frames = window * model.time_stride
    short = [i for i, mel in enumerate(mels) if mel.shape[-1] <= frames]
    encoded: dict[int, torch.Tensor] = {}
    for start in range(0, len(short), batch):  # sounds within one window: padded alike, encoded together
        group = short[start : start + batch]
        stack = torch.stack([_pad(mels[i].float(), frames, silence) for i in group])
        for i, mu in zip(group, model.encode(stack)[0].float().cpu()):
            encoded[i] = mu
    out = []
    for index, mel in enumerate(mels):
        mu = encoded[index] if index in encoded else model.encode(mel.float()[None])[0][0].float().cpu()
        length = mu.shape[-1]
        starts = list(range(0, max(length - window, 0) + 1, max(window // 2, 1)))
        if starts[-1] + window < length:
            starts.append(length - window)
        out.extend(mu[:, s : s + window].reshape(-1) for s in starts)
    return torch.stack(out)


def _pad(mel: torch.Tensor, frames: int, silence: float) -> torch.Tensor:
    """Short sounds end in silence, as in training."""
    extra = frames - mel.shape[-1]
    return torch.nn.functional.pad(mel, (0, extra), value=silence) if extra > 0 else mel


@torch.no_grad()
def decode_windows(
    model: ConvVAE, spectrogram: AudioSpectrogram, latents: torch.Tensor, window: int, batch: int = 64
) -> torch.Tensor:
    """(N, latent_dim * window) -> log-mel in dB, (N, n_mels, window * time_stride)."""
    parts = []
    for start in range(0, latents.shape[0], batch):
        z = latents[start : start + batch].view(-1, model.latent_dim, window)
        parts.append(spectrogram.mel_to_db(model.decode(z.to(spectrogram.device))).cpu())
    return torch.cat(parts)


def analyse(model: ConvVAE, spectrogram: AudioSpectrogram, mels: list[torch.Tensor], model_id: str,
            seed: int = 0, source_files: int | None = None) -> Analysis:
    """Fit the data prior and name the axes from normalised training mels (n_mels, frames)."""
    if not mels:
        raise GenerationError("There are no training sounds to analyse.")
    started = time.perf_counter()
    was_training = model.training
    model.eval()
    try:
        window = choose_window_frames([m.shape[-1] for m in mels], model, spectrogram)
        points = encode_windows(model, mels, spectrogram.silence_value, window)
        if points.shape[0] > MAX_POINTS:
            keep = np.sort(np.random.default_rng(seed).choice(points.shape[0], MAX_POINTS, replace=False))
            points = points[torch.from_numpy(keep)]
        prior = LatentPrior.fit(points, seed)
        axes, effects, merged = _name_axes(model, spectrogram, prior, window)
        level = measure_level(model, spectrogram, prior.points, window)
    finally:
        model.train(was_training)
    info = {
        "sounds": source_files if source_files is not None else len(mels),
        "windows": int(points.shape[0]),
        "window_seconds": window * model.time_stride * spectrogram.config.hop_length / spectrogram.config.sample_rate,
        "created_at": time.time(),
        "seconds_taken": round(time.perf_counter() - started, 3),
        "axis_effects": effects,
        "merged_axes": merged,
        "level": level,
    }
    return Analysis(prior, axes, window, model_id, info)


def _name_axes(
    model: ConvVAE, spectrogram: AudioSpectrogram, prior: LatentPrior, window: int
) -> tuple[list[Axis], dict, dict]:
    """Name the top components by the descriptors they move (``axis_names.py``), clearest first; orient each
    so + is more of its first descriptor. Returns the axes, {key: {descriptor: effect}} and merged old names."""
    count = min(MAX_AXES, prior.components.shape[0], max(prior.points.shape[0] - 1, 1))
    config = spectrogram.config
    band_hz = band_frequencies(spectrogram.mel_basis, config.sample_rate)
    frame_s = config.hop_length / config.sample_rate
    picks = torch.linspace(0, prior.points.shape[0] - 1, min(48, prior.points.shape[0])).round().long().unique()
    spread = describe_db(decode_windows(model, spectrogram, prior.points[picks], window), band_hz, frame_s).std(0)
    spread = np.where(spread > 1e-9, spread, 1.0)
    bases = torch.cat(
        [
            prior.mean[None],
            prior.points[picks[torch.linspace(0, len(picks) - 1, min(BASES, len(picks))).round().long()]],
        ]
    )
    probes = []
    for j in range(count):
        probes += [prior.shift(bases, j, PROBE), prior.shift(bases, j, -PROBE)]
    values = describe_db(decode_windows(model, spectrogram, torch.cat(probes), window), band_hz, frame_s)
    values = values.reshape(count, 2, len(bases), len(NAMES))
    change = (values[:, 0] - values[:, 1]) / spread  # (axes, bases, descriptors)
    effect = change.mean(1)
    # A name must hold from most starting points, not only on average.
    agreement = (np.sign(change) == np.sign(effect)[:, None]).mean(1)
    shares = (prior.stds[:count] ** 2 / max(prior.total_variance, 1e-12)).numpy()
    names, merged = name_axes(effect, agreement, shares)
    _reorder(prior, [n.component for n in names], count)
    coords = prior.training_coords()
    axes, effects = [], {}
    for position, name in enumerate(names):
        if name.flip:  # orient: + is more of the descriptor it moves most
            prior.components[position] = -prior.components[position]
        sign = -1.0 if name.flip else 1.0
        low, high = np.percentile(coords[:, position].numpy(), [2, 98]) if coords.shape[0] > 1 else (-1.0, 1.0)
        if name.flip:
            low, high = -high, -low
        low, high = min(float(low), -0.5), max(float(high), 0.5)
        share = float(prior.stds[position] ** 2) / max(prior.total_variance, 1e-12)
        axes.append(Axis(position + 1, name.key, name.label, round(min(share, 1.0), 4), round(low, 2), round(high, 2),
                         name.title, name.low, name.high, name.aliases))
        effects[name.key] = {n: round(sign * float(effect[name.component, d]), 3) for d, n in enumerate(NAMES)}
    return axes, effects, merged


def _reorder(prior: LatentPrior, order: list[int], count: int) -> None:
    """Put the prior's components in slider order: the kept axes first, merged ones after, the rest as they were."""
    rest = [j for j in range(count) if j not in order] + list(range(count, prior.components.shape[0]))
    index = torch.tensor(order + rest, dtype=torch.long)
    prior.components = prior.components[index].clone()
    prior.stds = prior.stds[index].clone()


def analysis_files(home: Path) -> tuple[Path, Path]:
    """(tensors, readable summary) for a run folder, or beside a checkpoint file outside any run."""
    home = Path(home)
    if home.is_dir():
        return home / ANALYSIS_FILE, home / ANALYSIS_SUMMARY
    return home.with_name(home.stem + "." + ANALYSIS_FILE), home.with_name(home.stem + "." + ANALYSIS_SUMMARY)


def save_analysis(home: Path, analysis: Analysis) -> Path:
    """Write the analysis (tensors) and its summary (what a person or a page reads) atomically."""
    path, summary = analysis_files(home)
    buffer = io.BytesIO()
    torch.save(analysis.state_dict(), buffer)
    atomic_write_bytes(path, buffer.getvalue())
    atomic_write_json(summary, analysis.summary())
    return path


def load_analysis(home: Path) -> Analysis | None:
    """The stored analysis of a run folder (or of a lone checkpoint), or None when there is none usable."""
    path, _ = analysis_files(home)
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return Analysis.from_state(state, str(path))
    except Exception:  # damaged or foreign: it is recomputed, never trusted
        return None
