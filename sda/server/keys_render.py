"""The sounds the Keys panel plays, made ahead by the model (nothing here runs per note).

- ``scatter``: slider positions around the page's sliders (a new kit, the Explore pool);
- ``render_at``: one sound at a position (a seed and offsets from the sliders, kept so
  that a pad can be made again when a slider it follows moves);
- ``level_axis``: the model's axis that changes loudness most (from its analysis), for
  velocity layers: ``layers`` makes a pad soft, as it is, and hard along that axis;
- ``octaves``: a sound moved by whole octaves and played through the model, so that
  pitched keys far from the root keep the model's own timbre.

Sounds are written as 32-bit float WAV at the model's level (no normalising: the
panel sets one gain for all its pads, so the differences between pads and layers stay).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import soundfile as sf

LAYER_REACH = 0.6  # how far along the level axis a soft or hard layer lies, as a share of its safe half-width
SCATTER = 0.25  # how far around the sliders new sounds are drawn, as a share of each axis's safe width


def level_axis(generator) -> tuple[str, float] | None:
    """(axis key, sign of its level effect) of the axis with the largest level effect, or None without one."""
    effects = (generator.info.get("analysis") or {}).get("axis_effects") or {}
    keys = {a.key for a in generator.axes}
    scored = [(abs(float(e.get("level", 0.0))), key, float(e.get("level", 0.0)))
              for key, e in effects.items() if key in keys and isinstance(e, dict)]
    if not scored:
        return None
    size, key, effect = max(scored)
    return (key, 1.0 if effect >= 0 else -1.0) if size > 0 else None


def scatter(generator, rng: random.Random, amount: float = SCATTER) -> dict[str, float]:
    """Random offsets from the sliders, ``amount`` of each axis's safe width at most."""
    return {a.key: round(rng.uniform(-amount, amount) * (a.safe_max - a.safe_min), 4) for a in generator.axes}


def position(sliders: dict[str, float], offsets: dict[str, float]) -> dict[str, float]:
    keys = set(sliders) | set(offsets)
    return {k: round(float(sliders.get(k, 0.0)) + float(offsets.get(k, 0.0)), 4) for k in keys}


def render_at(generator, sliders: dict[str, float], seed: int, offsets: dict[str, float], seconds: float,
              level: float = 0.0) -> np.ndarray:
    """The sound of ``seed`` at the sliders plus ``offsets`` (``level``: a further step along the level axis)."""
    axes = position(sliders, offsets)
    found = level_axis(generator) if level else None
    if found:
        key, sign = found
        axis = next(a for a in generator.axes if a.key == key)
        axes[key] = axes.get(key, 0.0) + sign * level * LAYER_REACH * (axis.safe_max - axis.safe_min) / 2
    return generator.generate(seconds=seconds, seed=seed, axes=axes).audio


def layers(generator, audio: np.ndarray) -> list[np.ndarray] | None:
    """Soft, as it is, hard: ``audio`` moved along the level axis through the model (None: no such axis)."""
    found = level_axis(generator)
    if not found:
        return None
    key, sign = found
    axis = next(a for a in generator.axes if a.key == key)
    step = sign * LAYER_REACH * (axis.safe_max - axis.safe_min) / 2
    return [generator.resynthesise(audio, axes={key: -step}).audio, audio,
            generator.resynthesise(audio, axes={key: step}).audio]


def octaves(generator, audio: np.ndarray, span: int = 2) -> dict[int, np.ndarray]:
    """``audio`` moved by -span..span octaves (but 0) and played through the model, by octave."""
    out = {}
    for octave in range(-span, span + 1):
        if octave == 0:
            continue
        moved = resample(audio, 2.0 ** octave)
        if len(moved) < generator.sample_rate * 0.1:  # too short for the model: pitch by playback rate instead
            continue
        out[octave] = generator.resynthesise(moved).audio
    return out


def resample(audio: np.ndarray, ratio: float) -> np.ndarray:
    """``audio`` played ``ratio`` times faster (pitch up by ``ratio``), by linear interpolation."""
    length = max(1, int(len(audio) / ratio))
    return np.interp(np.arange(length) * ratio, np.arange(len(audio)), audio).astype(np.float32)


def write(path: Path, audio: np.ndarray, sample_rate: int) -> Path:
    """``audio`` as a 32-bit float WAV at its own level (peaks above full scale brought down to it)."""
    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        audio = audio / peak
    sf.write(str(path), audio, sample_rate, subtype="FLOAT")
    return Path(path)
