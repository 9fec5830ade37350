"""How many bytes an action will write, estimated before it runs (for the workspace quota).

Every estimate is an upper bound: sound files are counted as uncompressed
PCM at the asked rate and bit depth (FLAC, OGG and MP3 are never larger,
bar a small margin), plus their sidecar and picture. A file handed to the
browser is copied once more into Gradio's cache (serving.py), and that copy
counts too, so the estimates of things the page shows or offers are
doubled.
"""

from __future__ import annotations

import math

from sda.audio.io import SAMPLE_RATE

SAMPLE_BYTES = {"16": 2, "24": 3, "32f": 4}  # bytes per sample of each bit depth
HEADER_BYTES = 4096  # a sound file's header and tags
MARGIN = 1.02  # a compressed format's frames can cost a little more than raw PCM on noise
SIDECAR_BYTES = 64 * 1024  # one JSON sidecar, at most
PICTURE_BYTES = 512 * 1024  # one sound's picture (PNG), at most
ZIP_ENTRY_BYTES = 1024  # a zip's own record of one file
SERVED_COPIES = 2  # the file itself and its copy in Gradio's cache


def audio_bytes(seconds: float, sample_rate: int = SAMPLE_RATE, bit_depth: str = "24", channels: int = 1) -> int:
    """One sound file: seconds x rate x bytes per sample x channels, uncompressed (a safe upper bound)."""
    samples = math.ceil(max(float(seconds), 0.0) * int(sample_rate)) * max(int(channels), 1)
    return int(samples * SAMPLE_BYTES.get(str(bit_depth), 4) * MARGIN) + HEADER_BYTES


def history_bytes(seconds: list[float]) -> int:
    """Sounds filed in the Play history (48 kHz 24-bit WAV, sidecar, picture), each shown in the browser."""
    return sum(SERVED_COPIES * (audio_bytes(s) + PICTURE_BYTES) + SIDECAR_BYTES for s in seconds)


def export_bytes(seconds: float, sample_rate: int, bit_depth: str) -> int:
    """One sound exported with its sidecar, both offered for download."""
    return SERVED_COPIES * (audio_bytes(seconds, sample_rate, bit_depth) + SIDECAR_BYTES)


def pack_bytes(count: int, seconds: float, sample_rate: int, bit_depth: str) -> int:
    """A sample pack: its zip (each sound, its sidecar), offered for download, and the one sound being written."""
    one = audio_bytes(seconds, sample_rate, bit_depth) + SIDECAR_BYTES
    return SERVED_COPIES * (int(count) * (one + 2 * ZIP_ENTRY_BYTES) + SIDECAR_BYTES) + one


def download_bytes(size: int) -> int:
    """A file of ``size`` bytes written for download (a model file), and its served copy."""
    return SERVED_COPIES * int(size)
