"""Playing an exported instrument in a real sampler: a MIDI file of our own, FluidSynth, onsets and levels."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

TICKS_PER_BEAT = 480
TEMPO_US = 500_000  # 120 bpm: one tick is 1/960 s
FLUIDSYNTH = shutil.which("fluidsynth") or ("/usr/bin/fluidsynth" if Path("/usr/bin/fluidsynth").exists() else None)


def require_fluidsynth() -> None:
    if FLUIDSYNTH is None:
        pytest.skip("fluidsynth is not installed (scripts/setup.sh --dev installs it)")


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def write_midi(path: Path, notes: list[tuple[float, int, int, float]]) -> None:
    """A format-0 MIDI file of (start seconds, note, velocity, length seconds), all on the first channel
    (the exported SoundFont's one preset is bank 0, program 0, which that channel plays)."""
    ticks = TICKS_PER_BEAT * 1_000_000 / TEMPO_US
    events = []
    for start, note, velocity, length in notes:
        events.append((round(start * ticks), 1, bytes([0x90, note, velocity])))
        events.append((round((start + length) * ticks), 0, bytes([0x80, note, 0])))
    events.sort()
    track, now = bytearray(b"\x00\xff\x51\x03" + TEMPO_US.to_bytes(3, "big")), 0
    for tick, _, message in events:
        track += _varlen(tick - now) + message
        now = tick
    track += b"\x00\xff\x2f\x00"
    Path(path).write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_BEAT)
                           + b"MTrk" + struct.pack(">I", len(track)) + bytes(track))


def render(sf2: Path, midi: Path, out: Path, rate: int = 48000) -> np.ndarray:
    """FluidSynth plays ``midi`` through ``sf2`` into ``out``; mono float audio comes back.

    Reverb and chorus are off so that a note's end is the sample's own.
    """
    proc = subprocess.run([FLUIDSYNTH, "-ni", "-R", "0", "-C", "0", "-g", "1.0", "-F", str(out), "-r", str(rate),
                           str(sf2), str(midi)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "error" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr  # the SF2 loads cleanly
    audio, got = sf.read(out, dtype="float32", always_2d=True)
    assert got == rate
    return audio.mean(axis=1)


def onset_near(audio: np.ndarray, at: float, rate: int = 48000, search: float = 0.1) -> float:
    """Time (s) where the sound first rises out of the silence before ``at`` (within ``search`` s of it)."""
    start = max(0, int((at - search) * rate))
    part = np.abs(audio[start : int((at + search) * rate)])
    noise = np.max(np.abs(audio[start : max(start + 1, int((at - search / 2) * rate))]), initial=0.0)
    threshold = max(noise * 4, np.max(part) * 0.05)
    return (start + int(np.argmax(part > threshold))) / rate


def level_db(audio: np.ndarray, at: float, seconds: float = 0.15, rate: int = 48000) -> float:
    part = audio[int(at * rate) : int((at + seconds) * rate)].astype(np.float64)
    return float(10 * np.log10(np.mean(part**2) + 1e-20))
