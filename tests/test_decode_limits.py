"""Decode bombs: files are measured by their header before decoding, and decoded in blocks.

A small compressed file can claim (and hold) hours of many-channel audio.
Such a file is refused before any audio is decoded when it passes the
per-file or the dataset's total limit; everything else is decoded block by
block, mixed and resampled as it goes, giving the same audio as decoding the
whole file at once, with memory near the size of the mono 48 kHz result.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_files import GOOD_FORMATS, texture, write_signal, write_texture
from helpers import assert_user_error, sda
from scipy.signal import resample_poly

from sda.audio import io as audio_io
from sda.audio.io import SAMPLE_RATE, AudioTooLongError, load_audio
from sda.audio.resampling import StreamingResampler, fit_length, output_length, rate_ratio
from sda.audio.validation import DurationLimits, decode_dataset

_TOTAL_SAMPLES_BITS = (1 << 36) - 1


def set_flac_length(path: Path, frames: int) -> Path:
    """Rewrite the total-samples field of a FLAC's STREAMINFO (0 = "unknown", as streaming encoders write)."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"fLaC" and data[4] & 0x7F == 0, "STREAMINFO comes first"
    packed = int.from_bytes(data[18:26], "big")
    data[18:26] = ((packed & ~_TOTAL_SAMPLES_BITS) | frames).to_bytes(8, "big")
    path.write_bytes(bytes(data))
    return path


def claimed_bomb(path: Path, minutes: float = 10.0, channels: int = 8, sr: int = 192000) -> Path:
    """A tiny FLAC whose header says it lasts `minutes` (the decoded size a bomb would have)."""
    write_signal(path, texture(0.2, sr), sr, channels=channels, format="FLAC")
    return set_flac_length(path, int(minutes * 60 * sr))


def whole_file_reference(path: Path) -> np.ndarray:
    """Decoding as it was done before blocks: read everything, mix, resample once."""
    frames, sr = sf.read(str(path), dtype="float32", always_2d=True)
    mono = frames.mean(axis=1, dtype=np.float32) if frames.shape[1] > 1 else frames[:, 0]
    if sr == SAMPLE_RATE:
        return mono
    up, down = rate_ratio(sr, SAMPLE_RATE)
    return fit_length(resample_poly(mono, up, down).astype(np.float32), output_length(len(mono), sr, SAMPLE_RATE))


@pytest.fixture
def no_full_decode(monkeypatch):
    """Fail the test if any audio is decoded (the header must be enough)."""

    def decode(*args, **kwargs):
        raise AssertionError("the file was decoded")

    monkeypatch.setattr(audio_io, "_decode_mono", decode)


def test_a_file_whose_header_passes_the_limit_is_refused_before_decoding(tmp_path, no_full_decode):
    bomb = claimed_bomb(tmp_path / "long_take.flac")
    assert bomb.stat().st_size < 1_000_000 and sf.info(str(bomb)).duration == pytest.approx(600)
    started = time.perf_counter()
    with pytest.raises(AudioTooLongError) as refused:
        load_audio(bomb, max_seconds=300)
    assert time.perf_counter() - started < 1.0
    message = str(refused.value)
    assert "lasts 10 min 00 s" in message and "up to 5 min 00 s" in message and "shorter files" in message
    assert str(tmp_path) not in message


def test_a_long_file_in_a_dataset_is_named_with_its_duration_and_the_others_are_kept(tmp_path):
    claimed_bomb(tmp_path / "long_take.flac", minutes=12)
    for i in range(3):
        write_texture(tmp_path / f"good_{i}.wav", seconds=0.5, seed=i)
    dataset = decode_dataset(tmp_path, limits=DurationLimits(max_file_s=600))
    assert sorted(c.path.name for c in dataset.clips) == ["good_0.wav", "good_1.wav", "good_2.wav"]
    [issue] = dataset.issues
    assert Path(issue.path).name == "long_take.flac" and issue.over_limit
    assert "lasts 12 min 00 s" in issue.reason and "up to 10 min 00 s" in issue.reason
    assert "long_take.flac: too long" in str(issue)


def test_files_past_the_total_limit_are_left_out_in_order_saying_why(tmp_path, monkeypatch):
    for i in range(4):
        write_texture(tmp_path / f"take_{i}.wav", seconds=1.0, seed=i)
    decodes = []
    real_decode = audio_io._decode_mono
    monkeypatch.setattr(audio_io, "_decode_mono", lambda *a, **k: decodes.append(1) or real_decode(*a, **k))
    dataset = decode_dataset(tmp_path, limits=DurationLimits(max_file_s=600, max_total_s=2.5))
    assert [c.path.name for c in dataset.clips] == ["take_0.wav", "take_1.wav"]
    assert len(decodes) == 2, "the files left out were judged by their header, not decoded"
    assert dataset.total_duration_s <= 2.5
    reasons = {Path(i.path).name: i.reason for i in dataset.issues}
    assert set(reasons) == {"take_2.wav", "take_3.wav"}
    assert "lasts 1.0 s" in reasons["take_2.wav"] and "2.5 s limit for all files together" in reasons["take_2.wav"]
    assert "2.0 s already used" in reasons["take_2.wav"]


def test_a_flac_that_does_not_state_its_length_decodes_and_is_capped_by_counting(tmp_path):
    path = write_signal(tmp_path / "streamed.flac", texture(2.0, 44100), 44100, channels=2, format="FLAC")
    reference = whole_file_reference(path)
    set_flac_length(path, 0)  # as a streaming encoder leaves it
    assert audio_io.header_frames(sf.SoundFile(str(path))) is None
    clip = load_audio(path)
    np.testing.assert_allclose(clip.audio, reference, atol=1e-6)
    with pytest.raises(AudioTooLongError) as refused:
        load_audio(path, max_seconds=1.0)
    assert refused.value.at_least and "lasts at least" in str(refused.value)


def test_mp3_length_comes_from_its_header_and_counting_caps_it_when_unknown(tmp_path, monkeypatch):
    path = write_signal(
        tmp_path / "take.mp3", texture(3.0, 44100), 44100, channels=2, subtype="MPEG_LAYER_III", format="MP3"
    )
    # libsndfile reads the length from the encoder's (Xing/LAME) header.
    assert sf.info(str(path)).frames == pytest.approx(3.0 * 44100, abs=44100 * 0.06)
    with pytest.raises(AudioTooLongError) as refused:
        load_audio(path, max_seconds=2.0)
    assert not refused.value.at_least
    # An MP3 without such a header only has an estimate: counting while decoding is what holds.
    monkeypatch.setattr(audio_io, "header_frames", lambda f: None)
    with pytest.raises(AudioTooLongError) as counted:
        load_audio(path, max_seconds=2.0)
    assert counted.value.at_least and 2.0 < counted.value.seconds < 3.2
    assert len(load_audio(path, max_seconds=10).audio) == pytest.approx(3.0 * SAMPLE_RATE, abs=0.06 * SAMPLE_RATE)


@pytest.mark.parametrize("name", sorted(GOOD_FORMATS))
@pytest.mark.parametrize("block_samples", [3001, audio_io._BLOCK_SAMPLES])
def test_block_decoding_gives_the_same_audio_as_decoding_the_whole_file(tmp_path, monkeypatch, name, block_samples):
    sr, channels, fmt, subtype, _ = GOOD_FORMATS[name]
    path = write_signal(tmp_path / name, texture(1.3, sr, seed=len(name)), sr, channels, subtype, fmt)
    monkeypatch.setattr(audio_io, "_BLOCK_SAMPLES", block_samples)  # 3001: many blocks, odd joins
    clip = load_audio(path)
    reference = whole_file_reference(path)
    assert clip.audio.shape == reference.shape
    np.testing.assert_allclose(clip.audio, reference, atol=1e-6)


@pytest.mark.parametrize("source_sr", [8000, 22050, 44100, 44056, 96000, 192000, 48000])
def test_the_streaming_resampler_joins_blocks_exactly(source_sr):
    rng = np.random.default_rng(source_sr)
    signal = rng.standard_normal(source_sr // 2 + 7).astype(np.float32)
    resampler = StreamingResampler(source_sr, SAMPLE_RATE)
    pieces, start = [], 0
    while start < len(signal):
        size = int(rng.integers(1, 4000))
        pieces.append(resampler.push(signal[start : start + size]))
        start += size
    pieces.append(resampler.finish())
    up, down = rate_ratio(source_sr, SAMPLE_RATE)
    whole = resample_poly(signal, up, down) if up != down else signal
    np.testing.assert_allclose(np.concatenate(pieces), whole, atol=1e-5)


def test_decoding_memory_stays_near_the_mono_48k_result(tmp_path):
    # 10 s of 8-channel 192 kHz audio: 61 MB as float32 all at once, 1.9 MB as mono 48 kHz.
    sr, channels, seconds = 192000, 8, 10.0
    path = write_signal(tmp_path / "wide.wav", texture(seconds, sr), sr, channels=channels)
    tracemalloc.start()
    try:
        clip = load_audio(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    result = clip.audio.nbytes
    whole = int(seconds * sr) * channels * 4
    assert result == int(seconds * SAMPLE_RATE) * 4
    # One block (4 MB) and its resampling, plus the result: far from the whole file as float32.
    assert peak < result + 12_000_000, f"peak {peak / 1e6:.1f} MB for a {result / 1e6:.1f} MB result"
    assert peak < whole / 4


def test_the_cli_refuses_a_file_past_its_default_limit_and_says_how_to_raise_it(tmp_path):
    folder = tmp_path / "takes"
    folder.mkdir()
    claimed_bomb(folder / "long_take.flac", minutes=40)  # the CLI takes files of up to 30 min by default
    proc = sda("train", folder, "--out", tmp_path / "run", "--device", "cpu", timeout=120)
    assert_user_error(proc, "long_take.flac: too long: lasts 40 min 00 s", "up to 30 min 00 s")
    assert proc.stderr.strip().startswith("Error: No usable audio")
    assert "--max-file-minutes" in proc.stdout
