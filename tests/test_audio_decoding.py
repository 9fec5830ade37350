"""Decoding a musician's files: every format in, mono 48 kHz out; bad files explained."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_files import (
    BAD_FOLDER_GOOD_FILES,
    GOOD_FORMATS,
    HIDDEN_FILES,
    LOSSY_FORMATS,
    tone,
    write_all_formats,
    write_bad_files,
    write_signal,
    write_texture,
    write_tone,
)

from sda.audio.io import SAMPLE_RATE, AudioLoadError, load_audio, write_wav
from sda.audio.validation import (
    DatasetError,
    decode_dataset,
    find_audio_files,
    require_usable,
    resolve_dataset_paths,
)

SECONDS = 0.5


@pytest.fixture(scope="module")
def good_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("good")
    write_all_formats(folder, seconds=SECONDS, amplitude=0.5)
    return folder


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("bad")
    return folder, write_bad_files(folder)


def spectrum_peak_hz(audio: np.ndarray, sr: int) -> float:
    mags = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / sr)[np.argmax(mags)])


@pytest.mark.parametrize("name", sorted(GOOD_FORMATS))
def test_every_format_decodes_to_mono_48k_with_its_length_and_level(good_dir, name):
    sr, channels, _, subtype, fmt = GOOD_FORMATS[name]
    clip = load_audio(good_dir / name)
    assert clip.audio.dtype == np.float32 and clip.audio.ndim == 1
    assert (clip.format, clip.subtype) == (fmt, subtype)
    assert (clip.source_sample_rate, clip.channels) == (sr, channels)
    expected = round(round(SECONDS * sr) * SAMPLE_RATE / sr)
    lossy = fmt in LOSSY_FORMATS
    # MP3/Vorbis may carry encoder delay or padding; lossless formats are exact.
    assert abs(len(clip.audio) - expected) <= (0.06 * SAMPLE_RATE if lossy else 1)
    assert clip.duration_s == pytest.approx(len(clip.audio) / SAMPLE_RATE)
    # Identical channels averaged to mono keep the 0.5 peak of the tone.
    peak = float(np.max(np.abs(clip.audio)))
    assert peak == pytest.approx(0.5, abs=0.06 if lossy else 0.01)
    assert spectrum_peak_hz(clip.audio, SAMPLE_RATE) == pytest.approx(440, abs=4)


def test_44k_tone_keeps_its_pitch_after_resampling(tmp_path):
    clip = load_audio(write_tone(tmp_path / "a.wav", seconds=2.0, sr=44100, freq=440.0))
    assert len(clip.audio) == 96000
    assert spectrum_peak_hz(clip.audio, SAMPLE_RATE) == pytest.approx(440, abs=0.5)


def test_content_above_48k_nyquist_does_not_alias_into_the_audio(tmp_path):
    # A 30 kHz partial in a 96 kHz file would fold to 18 kHz without filtering.
    sig = tone(1.0, 96000, 1000.0, 0.4) + tone(1.0, 96000, 30000.0, 0.4)
    clip = load_audio(write_signal(tmp_path / "hi.wav", sig, 96000, subtype="FLOAT"))
    mags = np.abs(np.fft.rfft(clip.audio * np.hanning(len(clip.audio))))
    freqs = np.fft.rfftfreq(len(clip.audio), 1 / SAMPLE_RATE)
    alias = mags[np.abs(freqs - 18000) < 50].max()
    assert alias < mags.max() * 1e-2  # at least 40 dB down: inaudible under the music


def test_odd_sample_rate_gives_exact_output_length(tmp_path):
    clip = load_audio(write_texture(tmp_path / "odd.wav", seconds=0.7, sr=44056))
    assert len(clip.audio) == round(round(0.7 * 44056) * SAMPLE_RATE / 44056)


def test_sha256_is_of_the_file_bytes(good_dir):
    path = good_dir / "pcm16_44k_stereo.wav"
    assert load_audio(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_few_nan_samples_are_zeroed_not_fatal(tmp_path):
    sig = tone(0.5, 48000)
    sig[::10] = np.nan
    clip = load_audio(write_signal(tmp_path / "nan.wav", sig, 48000, subtype="FLOAT"))
    assert np.isfinite(clip.audio).all()


def test_every_bad_file_gets_its_own_reason_and_good_files_still_decode(bad_dir):
    folder, expected = bad_dir
    dataset = decode_dataset(folder)
    reasons = {Path(i.path).relative_to(folder).as_posix(): i.reason for i in dataset.issues}
    assert set(reasons) == set(expected)
    for name, keyword in expected.items():
        assert keyword in reasons[name], (name, reasons[name])
    decoded = sorted(c.path.relative_to(folder).as_posix() for c in dataset.clips)
    assert decoded == sorted(BAD_FOLDER_GOOD_FILES)
    # No reason leaks a path, and no codec message leaks a Python object repr.
    assert not any(str(folder) in r or "0x" in r for r in reasons.values())


def test_hidden_files_and_mac_folders_are_skipped_silently(bad_dir):
    folder, _ = bad_dir
    files, issues = find_audio_files(folder)
    listed = {p.relative_to(folder).as_posix() for p in files} | {
        Path(i.path).relative_to(folder).as_posix() for i in issues
    }
    assert not listed & set(HIDDEN_FILES)
    assert files == sorted(files)


def test_load_audio_raises_a_reason_without_the_path(bad_dir):
    folder, _ = bad_dir
    with pytest.raises(AudioLoadError) as err:
        load_audio(folder / "empty.wav")
    assert str(err.value) == "the file is empty (0 bytes)"


def test_missing_folder_raises_with_the_path():
    with pytest.raises(DatasetError, match="/no/such/folder.*does not exist"):
        decode_dataset("/no/such/folder")


def test_only_bad_files_is_a_dataset_error_naming_the_folder(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    write_signal(tmp_path / "silent.wav", np.zeros(4800), 48000)
    dataset = decode_dataset(tmp_path)
    assert dataset.file_count == 0 and len(dataset.issues) == 2
    with pytest.raises(DatasetError, match=f"'{tmp_path}'.*2 files.*Add WAV"):
        require_usable(dataset, str(tmp_path))


def test_empty_folder_says_no_audio_found(tmp_path):
    with pytest.raises(DatasetError, match="No audio files found"):
        require_usable(decode_dataset(tmp_path), str(tmp_path))


def test_files_and_folders_mix_and_duplicates_count_once(good_dir, tmp_path):
    extra = write_texture(tmp_path / "extra.wav", seconds=0.2)
    notes = tmp_path / "notes.md"
    notes.write_text("x")
    files, issues = resolve_dataset_paths([good_dir, good_dir / "u8_8k_mono.wav", str(extra), notes])
    assert len(files) == len(GOOD_FORMATS) + 1
    assert [i.path for i in issues] == [str(notes)]


def test_decoding_counts_progress_per_file_and_summarises_and_lists_the_good_files(bad_dir):
    folder, expected = bad_dir
    calls = []
    dataset = decode_dataset(folder, progress=lambda d, t, name: calls.append((d, t, name)))
    total = len(expected) - 1 + len(BAD_FOLDER_GOOD_FILES)  # notes.txt is never decoded
    assert [c[0] for c in calls] == list(range(1, total + 1)) and calls[-1][1] == total
    summary = dataset.summary()
    assert summary["file_count"] == 2 and summary["formats"] == {"WAV": 1, "FLAC": 1}
    assert summary["total_duration_s"] == pytest.approx(1.0)
    assert len(summary["issues"]) == len(expected)
    record = dataset.manifest()[0]
    assert set(record) == {"path", "sha256", "duration_s", "sample_rate", "channels", "format", "subtype"}


def test_write_wav_round_trips_clipped_16_bit_and_leaves_no_temp_file(tmp_path):
    audio = np.concatenate([tone(0.1, 48000, amplitude=0.5), [1.7, -3.0, np.nan]]).astype(np.float32)
    out = tmp_path / "preview.wav"
    write_wav(out, audio)
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype) == (48000, 1, "PCM_16")
    back, _ = sf.read(str(out), dtype="float32")
    assert np.abs(back[:4800] - audio[:4800]).max() < 1e-4
    assert back[-3] == pytest.approx(1.0, abs=1e-4) and back[-2] == -1.0 and back[-1] == 0.0
    assert [p.name for p in tmp_path.iterdir()] == ["preview.wav"]
