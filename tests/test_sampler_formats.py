"""The SFZ and SF2 writers on sounds made here (no model): choke groups cut a sounding hat in FluidSynth, and
hi-hat-like sounds are told from kicks and held notes."""

from __future__ import annotations

import numpy as np
from sampler_helpers import level_db, render, require_fluidsynth, write_midi

from sda.audio.sampler_zones import Zone, sfz_text, velocity_ranges
from sda.audio.sf2 import sf2_bytes, sf2_velocity_slice
from sda.generation.sample_measures import is_hat_like, shift_semitones

RATE = 48000


def _noise(seconds: float, decay: float, seed: int) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    noise = np.random.default_rng(seed).standard_normal(len(t))
    bright = np.diff(noise, prepend=0.0)  # high-passed: hat-like
    return (0.5 * bright / np.max(np.abs(bright)) * np.exp(-t / decay)).astype(np.float32)


def _kick(seconds: float = 0.8) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.9 * np.sin(2 * np.pi * (50 * t + 60 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.25)).astype(np.float32)


def test_hat_like_sounds_are_short_bright_and_noisy():
    assert is_hat_like(_noise(0.5, 0.05, 1), RATE)
    assert not is_hat_like(_kick(), RATE)
    assert not is_hat_like(_noise(2.0, 1.0, 2), RATE)  # a long wash is no hat


def test_velocity_ranges_cover_every_velocity_once_and_round_robins_slice_them():
    for layers in range(1, 9):
        ranges = velocity_ranges(layers)
        assert ranges[0][0] == 1 and ranges[-1][1] == 127
        assert all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))
    zone = Zone("a.wav", 36, 36, 36, 43, 85, seq_position=2, seq_length=2)
    assert sf2_velocity_slice(zone) == (64, 85)
    assert sf2_velocity_slice(Zone("a.wav", 36, 36, 36, 43, 85, 1, 2)) == (43, 63)


def test_a_choke_group_cuts_the_sounding_hat_in_fluidsynth(tmp_path):
    require_fluidsynth()
    open_hat, closed_hat = _noise(2.0, 5.0, 3), _noise(0.1, 0.02, 4)
    samples = {"open.wav": open_hat, "closed.wav": closed_hat}
    levels = {}
    for choke in (0, 1):
        zones = [Zone("open.wav", 46, 46, 46, choke=choke, release=0.01),
                 Zone("closed.wav", 42, 42, 42, choke=choke, release=0.01)]
        text = sfz_text(zones, "hats")
        assert ("group=1 off_by=1" in text) == bool(choke)
        sf2 = tmp_path / f"hats{choke}.sf2"
        sf2.write_bytes(sf2_bytes("hats", zones, samples, RATE))
        write_midi(tmp_path / "hats.mid", [(0.3, 46, 100, 1.5), (0.8, 42, 100, 0.1)])
        audio = render(sf2, tmp_path / "hats.mid", tmp_path / f"hats{choke}.wav")
        levels[choke] = (level_db(audio, 0.5, 0.2), level_db(audio, 1.1, 0.3))
    assert levels[0][1] > levels[0][0] - 6  # without a choke group the open hat rings on ...
    assert levels[1][1] < levels[1][0] - 30  # ... with one the closed hat cuts it


def test_a_semitone_shift_moves_the_pitch_and_the_length():
    t = np.arange(RATE) / RATE
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    up = shift_semitones(tone, RATE, 12)
    assert len(up) == RATE // 2
    spectrum = np.abs(np.fft.rfft(up * np.hanning(len(up))))
    assert abs(np.fft.rfftfreq(len(up), 1 / RATE)[spectrum.argmax()] - 880) < 5
