"""Regenerate the bundled demo sounds in assets/demo/ (deterministic).

    .venv/bin/python scripts/make_demo_sounds.py

Writes 16 short mono one-shots (48 kHz OGG Vorbis, 0.3-1.5 s each) made with
sda.bench.synth, so the app can train on something with nothing uploaded.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from sda.bench.synth import KINDS, make_sound  # noqa: E402

DEMO_DIR = ROOT / "assets" / "demo"
SEED = 2024
SAMPLE_RATE = 48000
MIN_SECONDS, MAX_SECONDS = 0.3, 1.5
# Every kind once, plus a second take of the kinds a beat is usually built from.
DEMO_KINDS = KINDS + ("kick", "snare", "hat", "pluck")


def demo_sound(index: int) -> np.ndarray:
    """The index-th demo sound: redrawn until it is long enough, then cut to MAX_SECONDS."""
    for attempt in range(100):
        audio = make_sound(DEMO_KINDS[index], np.random.default_rng([SEED, index, attempt]), SAMPLE_RATE)
        if len(audio) >= MIN_SECONDS * SAMPLE_RATE:
            break
    keep = min(len(audio), int(MAX_SECONDS * SAMPLE_RATE))
    audio = audio[:keep].copy()
    fade = int(0.05 * SAMPLE_RATE)  # a cut tail fades out instead of clicking
    audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return audio


def _ogg_crc(page: bytes) -> int:
    """Ogg page checksum: CRC-32, polynomial 0x04C11DB7, not reflected, initial value 0."""
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def pin_ogg_serial(path: Path, serial: int = 0x5DA) -> None:
    """Replace the Ogg stream serial number, which libsndfile picks at random.

    With it pinned, regenerating the demo set gives byte-identical files, so
    the repository does not see spurious changes.
    """
    data, pos = bytearray(path.read_bytes()), 0
    while pos < len(data):
        if data[pos : pos + 4] != b"OggS":
            raise ValueError(f"{path}: not an Ogg page at byte {pos}")
        segments = data[pos + 26]
        length = 27 + segments + sum(data[pos + 27 : pos + 27 + segments])
        data[pos + 14 : pos + 18] = struct.pack("<I", serial)
        data[pos + 22 : pos + 26] = bytes(4)  # checksum is computed with its own field zeroed
        data[pos + 22 : pos + 26] = struct.pack("<I", _ogg_crc(bytes(data[pos : pos + length])))
        pos += length
    path.write_bytes(bytes(data))


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for old in DEMO_DIR.glob("*.ogg"):
        old.unlink()
    takes: dict[str, int] = {}
    written = []
    for index, kind in enumerate(DEMO_KINDS):
        takes[kind] = takes.get(kind, 0) + 1
        path = DEMO_DIR / f"{kind}_{takes[kind]:02d}.ogg"
        sf.write(path, demo_sound(index), SAMPLE_RATE, format="OGG", subtype="VORBIS")
        pin_ogg_serial(path)
        written.append(path)
    total = 0
    for path in written:
        audio, sr = sf.read(path, dtype="float32")  # check it decodes
        size = path.stat().st_size
        total += size
        print(f"{path.name:14s} {len(audio) / sr:5.2f} s  {sr} Hz  {size / 1024:6.1f} KiB")
    print(f"{len(written)} files, {total / 1024:.1f} KiB total in {DEMO_DIR}")


if __name__ == "__main__":
    main()
