"""A picture of a dataset: one small waveform per file, drawn with numpy and PIL.

It lets a musician see at a glance what they gave: one-shots or loops,
quiet or loud files, silence at the start. No plotting library needed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLUMNS = 4
MAX_TILES = 24
TILE_W, TILE_H, LABEL_H, GAP = 236, 64, 16, 8
BACKGROUND = (250, 250, 252)
TILE = (238, 240, 246)
WAVE = (249, 115, 22)
TEXT = (55, 65, 81)


def envelope(audio: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel minimum and maximum of ``audio`` over ``width`` columns."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        return np.zeros(width), np.zeros(width)
    edges = np.linspace(0, audio.size, width + 1).astype(int)
    edges[1:] = np.maximum(edges[1:], edges[:-1] + 1)  # at least one sample per column
    edges = np.minimum(edges, audio.size)
    lows = np.minimum.reduceat(audio, edges[:-1])
    highs = np.maximum.reduceat(audio, edges[:-1])
    return lows, highs


def dataset_picture(clips: list, max_tiles: int = MAX_TILES) -> Image.Image | None:
    """Waveform tiles of the first ``max_tiles`` clips (objects with .audio and .path)."""
    if not clips:
        return None
    shown = clips[:max_tiles]
    rows = -(-len(shown) // COLUMNS)
    width = COLUMNS * TILE_W + (COLUMNS + 1) * GAP
    height = rows * (TILE_H + LABEL_H + GAP) + GAP + (LABEL_H if len(clips) > max_tiles else 0)
    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for index, clip in enumerate(shown):
        x = GAP + (index % COLUMNS) * (TILE_W + GAP)
        y = GAP + (index // COLUMNS) * (TILE_H + LABEL_H + GAP)
        draw.text((x + 2, y), _short(Path(clip.path).name), fill=TEXT, font=font)
        top = y + LABEL_H
        draw.rectangle([x, top, x + TILE_W - 1, top + TILE_H - 1], fill=TILE)
        lows, highs = envelope(clip.audio, TILE_W)
        peak = max(float(np.max(np.abs(clip.audio))) if clip.audio.size else 0.0, 1e-6)
        middle, half = top + TILE_H / 2, TILE_H / 2 - 2
        for column, (low, high) in enumerate(zip(lows, highs)):
            # Drawn at true level (not normalised): quiet files look quiet.
            draw.line([(x + column, middle - high * half), (x + column, middle - low * half)], fill=WAVE)
        if peak < 0.05:
            draw.text((x + 4, top + 2), "very quiet", fill=TEXT, font=font)
    if len(clips) > max_tiles:
        draw.text((GAP, height - LABEL_H), f"... and {len(clips) - max_tiles} more files", fill=TEXT, font=font)
    return image


def _short(name: str, limit: int = 36) -> str:
    return name if len(name) <= limit else name[: limit - 3] + "..."
