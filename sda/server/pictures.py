"""Pictures of sounds, drawn with matplotlib (Agg, no display needed).

- ``dataset_picture``: one small waveform per file, so a musician sees at a
  glance what they gave (one-shots or loops, quiet or loud files, silence at
  the start). Drawn at true level: quiet files look quiet.
- ``sound_picture``: a generated sound's waveform above its spectrogram.

Both return a PIL image; callers save it where they want it. Figures are
made with the Agg canvas directly, not pyplot: pyplot keeps global state,
and the server draws for several pages at once.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

COLUMNS = 4
MAX_TILES = 24
WAVE = "#f97316"
TILE = "#eef0f6"
TEXT = "#374151"
DPI = 100


def envelope(audio: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and maximum of ``audio`` over ``width`` columns."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        return np.zeros(width), np.zeros(width)
    edges = np.linspace(0, audio.size, width + 1).astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)  # at least one sample per column
    edges = np.minimum(edges, audio.size - 1)
    lows = np.minimum.reduceat(audio, edges[:-1])
    highs = np.maximum.reduceat(audio, edges[:-1])
    return lows, highs


def _draw_wave(ax, audio: np.ndarray, width: int = 400) -> None:
    lows, highs = envelope(audio, width)
    x = np.arange(width)
    ax.fill_between(x, lows, highs, color=WAVE, linewidth=0.6, edgecolor=WAVE)
    ax.set_xlim(0, width - 1)
    ax.set_ylim(-1.0, 1.0)


def _to_image(fig: Figure) -> Image.Image:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def dataset_picture(clips: list, max_tiles: int = MAX_TILES) -> Image.Image | None:
    """Waveform tiles of the first ``max_tiles`` clips (objects with .audio and .path)."""
    if not clips:
        return None
    shown = clips[:max_tiles]
    rows = -(-len(shown) // COLUMNS)
    fig = Figure(figsize=(10, 0.95 * rows + 0.3), dpi=DPI, facecolor="#fafafc")
    axes = fig.subplots(rows, COLUMNS, squeeze=False)
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if index >= len(shown):
            ax.set_visible(False)
            continue
        clip = shown[index]
        ax.set_facecolor(TILE)
        _draw_wave(ax, clip.audio, 236)
        ax.set_title(_short(Path(clip.path).name), fontsize=7, color=TEXT, loc="left", pad=2)
        peak = float(np.max(np.abs(clip.audio))) if clip.audio.size else 0.0
        if peak < 0.05:
            ax.text(0.02, 0.85, "very quiet", transform=ax.transAxes, fontsize=6, color=TEXT)
    if len(clips) > max_tiles:
        fig.text(0.01, 0.005, f"... and {len(clips) - max_tiles} more files", fontsize=7, color=TEXT)
    fig.subplots_adjust(
        left=0.01,
        right=0.99,
        top=1 - 0.25 / (0.95 * rows + 0.3),
        bottom=0.2 / (0.95 * rows + 0.3),
        hspace=0.45,
        wspace=0.04,
    )
    return _to_image(fig)


def log_spectrogram(
    audio: np.ndarray, sample_rate: int, n_fft: int = 1024, hop: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude in dB (frequencies x frames, floored at -90 dB) and the bin frequencies."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size < n_fft:
        audio = np.pad(audio, (0, n_fft - audio.size))
    # At most ~1200 frames whatever the length: a 60 s sound stays quick to draw.
    hop = max(hop, (audio.size - n_fft) // 1200 + 1)
    starts = np.arange(0, audio.size - n_fft + 1, hop)
    frames = np.lib.stride_tricks.sliding_window_view(audio, n_fft)[starts] * np.hanning(n_fft).astype(np.float32)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
    db = 20 * np.log10(np.maximum(magnitude, 1e-9) / (n_fft / 4))
    return np.maximum(db, -90.0), np.fft.rfftfreq(n_fft, 1.0 / sample_rate)


def sound_picture(audio: np.ndarray, sample_rate: int, title: str = "") -> Image.Image:
    """Waveform (true level) above a spectrogram with a log frequency axis."""
    audio = np.asarray(audio, dtype=np.float32)
    seconds = audio.size / sample_rate
    fig = Figure(figsize=(8, 3.6), dpi=DPI, facecolor="white")
    wave_ax, spec_ax = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 2]})
    lows, highs = envelope(audio, 800)
    t = np.linspace(0, seconds, 800)
    wave_ax.fill_between(t, lows, highs, color=WAVE, linewidth=0.5, edgecolor=WAVE)
    wave_ax.set_xlim(0, max(seconds, 1e-3))
    wave_ax.set_ylim(-1, 1)
    wave_ax.set_yticks([-1, 0, 1])
    wave_ax.tick_params(labelsize=7, labelbottom=False)
    if title:
        wave_ax.set_title(title, fontsize=8, color=TEXT, loc="left")
    db, freqs = log_spectrogram(audio, sample_rate)
    # Rows on a log frequency scale, as the ear hears pitch: 40 Hz to Nyquist.
    rows = np.geomspace(40.0, freqs[-1], 160)
    image = np.stack([np.interp(rows, freqs, column) for column in db.T], axis=1)
    spec_ax.imshow(
        image,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=-90,
        vmax=0,
        extent=(0, max(seconds, 1e-3), 0, len(rows)),
    )
    ticks = [f for f in (100, 1000, 10000) if rows[0] <= f <= rows[-1]]
    spec_ax.set_yticks([np.interp(np.log(f), np.log(rows), np.arange(len(rows))) for f in ticks])
    spec_ax.set_yticklabels([f"{f / 1000:g}k" if f >= 1000 else str(f) for f in ticks])
    spec_ax.set_ylabel("Hz", fontsize=7)
    spec_ax.set_xlabel("seconds", fontsize=7)
    spec_ax.tick_params(labelsize=7)
    fig.tight_layout(pad=0.4)
    return _to_image(fig)


def _short(name: str, limit: int = 36) -> str:
    return name if len(name) <= limit else name[: limit - 3] + "..."
