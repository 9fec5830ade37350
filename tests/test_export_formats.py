"""Exported files are what their settings say: format, rate, depth, length, level, tags; never clipped."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from sda.audio.export import (
    BIT_DEPTHS,
    EXPORT_FORMATS,
    EXPORT_RATES,
    ExportSettings,
    export_audio,
    export_audio_report,
    resample,
)
from sda.audio.resampling import true_peak
from sda.bench.synth import make_sound

SR = 48000
EXPECTED_TYPE = {"wav": "WAV", "flac": "FLAC", "ogg": "OGG", "mp3": "MP3"}
EXPECTED_SUBTYPE = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
MP3_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # MPEG-1 Layer III
MP3_RATES = {0: 44100, 1: 48000, 2: 32000}


def _valid_settings() -> list[ExportSettings]:
    out = []
    for fmt in EXPORT_FORMATS:
        for rate in EXPORT_RATES:
            for depth in BIT_DEPTHS if fmt in ("wav", "flac") else ("24",):
                settings = ExportSettings(fmt, rate, depth, normalise=True)
                try:
                    settings.validate()
                except ValueError:
                    continue
                out.append(settings)
    return out


@pytest.fixture(scope="module")
def drum() -> np.ndarray:
    """A realistic one-shot (0.7 s snare) at a model-like level, peak about -13 dBFS."""
    sound = make_sound("snare", np.random.default_rng(3), SR)[: int(0.7 * SR)]
    return (0.22 * sound / np.max(np.abs(sound))).astype(np.float32)


def _dbfs(x: np.ndarray) -> float:
    return 20 * np.log10(np.max(np.abs(x)))


def _tone_level_db(x: np.ndarray, rate: int, freq: float) -> float:
    """Level of one frequency (dB re full-scale sine), Blackman-Harris window to keep leakage far down."""
    from scipy.signal.windows import blackmanharris

    w = blackmanharris(len(x))
    spectrum = np.abs(np.fft.rfft(x * w)) * 2 / w.sum()
    k = int(round(freq * len(x) / rate))
    return 20 * np.log10(spectrum[max(k - 3, 0) : k + 4].max() + 1e-30)


@pytest.mark.parametrize("settings", _valid_settings(), ids=lambda s: f"{s.format}-{s.sample_rate}-{s.bit_depth}")
def test_written_file_has_the_format_rate_depth_length_and_level_asked_for(tmp_path, drum, settings):
    written = export_audio(tmp_path / "sound.wav", drum, SR, settings, {"title": "snare"})
    info = sf.info(str(written))
    assert written.suffix == "." + settings.format and written.exists()
    assert info.format == EXPECTED_TYPE[settings.format]
    if settings.format in ("wav", "flac"):
        assert info.subtype == EXPECTED_SUBTYPE[settings.bit_depth]
    else:
        assert info.subtype == {"ogg": "VORBIS", "mp3": "MPEG_LAYER_III"}[settings.format]
    assert info.samplerate == settings.sample_rate
    assert abs(info.frames - len(drum) * settings.sample_rate / SR) <= 1

    audio, _ = sf.read(str(written), dtype="float64")
    if settings.format in ("wav", "flac"):
        assert _dbfs(audio) == pytest.approx(-1.0, abs=0.01)
    else:  # lossy: the decoder adds a little; the level still reads as -1 dBFS and nothing clips
        assert -1.6 < _dbfs(audio) < -0.05
    assert np.max(np.abs(audio)) < 0.999


def test_bad_settings_are_refused_naming_the_setting_and_what_is_allowed(tmp_path, drum):
    cases = [
        (ExportSettings(format="aiff"), ["format", "wav, flac, ogg, mp3"]),
        (ExportSettings(sample_rate=22050), ["sample rate", "44100, 48000, 96000"]),
        (ExportSettings(bit_depth="8"), ["bit depth", "16, 24, 32f"]),
        (ExportSettings(format="flac", bit_depth="32f"), ["32f", "FLAC", "24"]),
        (ExportSettings(format="mp3", sample_rate=96000), ["96000", "MP3", "44100 or 48000"]),
    ]
    for settings, words in cases:
        with pytest.raises(ValueError) as err:
            export_audio(tmp_path / "x.wav", drum, SR, settings)
        for word in words:
            assert word in str(err.value), (settings, str(err.value))
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a temp file


def test_settings_accept_cli_spellings_and_round_trip_through_a_sidecar():
    settings = ExportSettings(format="FLAC", sample_rate="96000", bit_depth=16, normalise=False)
    settings.validate()
    assert (settings.format, settings.sample_rate, settings.bit_depth) == ("flac", 96000, "16")
    assert ExportSettings.from_dict(settings.to_dict()) == settings
    assert ExportSettings("mp3", 44100).to_dict()["bit_depth"] is None  # MP3 has no bit depth
    assert ExportSettings.from_dict(ExportSettings("mp3", 44100).to_dict()).format == "mp3"


def test_a_tone_near_20_khz_survives_48k_to_44k1():
    t = np.arange(SR) / SR
    out = resample(0.5 * np.sin(2 * np.pi * 19500 * t), SR, 44100)
    assert len(out) == 44100
    assert _tone_level_db(out, 44100, 19500) == pytest.approx(
        _tone_level_db(0.5 * np.sin(2 * np.pi * 19500 * t), SR, 19500), abs=0.1
    )


def test_content_above_the_new_nyquist_does_not_alias_into_the_audible_band():
    t = np.arange(SR) / SR
    out = resample(0.9 * np.sin(2 * np.pi * 23000 * t), SR, 44100)  # would fold to 21.1 kHz
    spectrum_db = 20 * np.log10(
        np.abs(np.fft.rfft(out * np.hanning(len(out)))) * 2 / np.hanning(len(out)).sum() + 1e-30
    )
    freqs = np.fft.rfftfreq(len(out), 1 / 44100)
    assert spectrum_db[freqs <= 22050].max() < -95  # the 23 kHz tone is gone, not moved
    # scipy's default filter lets the fold-back through at a level anyone would hear in a quiet passage
    from scipy.signal import resample_poly

    naive = resample_poly(0.9 * np.sin(2 * np.pi * 23000 * t), 147, 160)
    assert _tone_level_db(naive, 44100, 21100) > -70


def test_upsampling_to_96k_adds_no_images_above_the_source_band():
    t = np.arange(SR) / SR
    out = resample(0.5 * np.sin(2 * np.pi * 15000 * t), SR, 96000)
    assert len(out) == 96000
    assert _tone_level_db(out, 96000, 15000) == pytest.approx(-6.02, abs=0.1)
    assert _tone_level_db(out, 96000, 33000) < -100  # the image at 48 - 15 kHz


def test_mp3_is_320_kbps_constant_bitrate_in_every_frame(tmp_path, drum):
    for rate in (44100, 48000):
        data = export_audio(tmp_path / "s", drum, SR, ExportSettings("mp3", rate)).read_bytes()
        pos, frames = 0, 0
        while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] & 0xE0 == 0xE0:
            version, layer = (data[pos + 1] >> 3) & 3, (data[pos + 1] >> 1) & 3
            bitrate, rate_index, padding = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 3, (data[pos + 2] >> 1) & 1
            assert (version, layer) == (3, 1)  # MPEG-1, Layer III
            assert MP3_BITRATES_KBPS[bitrate] == 320 and MP3_RATES[rate_index] == rate
            pos += 144 * 320000 // rate + padding
            frames += 1
        assert frames >= len(drum) * rate / SR / 1152  # walked the whole stream
        assert data[pos:pos + 3] in (b"TAG", b"")  # only the ID3v1 tag follows the frames


def test_ogg_vorbis_is_written_at_a_high_quality(tmp_path, drum):
    def nominal_bitrate(path) -> int:
        data = path.read_bytes()
        at = data.index(b"\x01vorbis") + 7
        return struct.unpack("<IBIiii", data[at : at + 21])[4]

    ours = nominal_bitrate(export_audio(tmp_path / "q", drum, SR, ExportSettings("ogg", 48000)))
    buffer = tmp_path / "default.ogg"
    sf.write(str(buffer), drum, SR, format="OGG", subtype="VORBIS")  # libsndfile's default quality
    assert ours >= 150_000 and ours > 1.5 * nominal_bitrate(buffer)


def test_keep_level_keeps_the_models_level(tmp_path, drum):
    for fmt in ("wav", "flac"):
        written = export_audio(tmp_path / "k", drum, SR, ExportSettings(fmt, 48000, "24", normalise=False))
        audio, _ = sf.read(str(written))
        assert _dbfs(audio) == pytest.approx(_dbfs(drum), abs=0.01)


def test_by_default_the_level_is_kept_and_a_model_gain_applied_never_past_the_ceiling(tmp_path, drum):
    assert not ExportSettings().normalise, "normalising each sound on its own is an option, off by default"
    for gain in (-6.0, 6.0):
        result = export_audio_report(tmp_path / f"g{gain}", drum, SR, ExportSettings("wav", 48000, "24"), gain_db=gain)
        audio, _ = sf.read(str(result.path))
        assert _dbfs(audio) == pytest.approx(_dbfs(drum) + gain, abs=0.01) and not result.limited
    loud = export_audio_report(tmp_path / "g20", drum, SR, ExportSettings("wav", 48000, "24"), gain_db=20.0)
    audio, _ = sf.read(str(loud.path))
    assert loud.limited and true_peak(audio) <= 10 ** (-0.1 / 20) + 1e-4 and _dbfs(audio) > -1.0, (
        "a sound past the ceiling is brought down just enough, not normalised"
    )


def test_too_loud_audio_is_scaled_down_never_clipped(tmp_path, drum):
    loud = drum * 12.0  # peaks near +8 dBFS
    for fmt in ("wav", "flac", "ogg", "mp3"):
        depth = "32f" if fmt == "wav" else "24"
        result = export_audio_report(tmp_path / "loud", loud, SR, ExportSettings(fmt, 44100, depth, normalise=False))
        audio, _ = sf.read(str(result.path))
        assert result.limited and result.gain_db < -7
        assert np.max(np.abs(audio)) < 0.999
        # the shape is kept: scaled, not squashed
        assert np.corrcoef(audio[: len(audio) // 2], resample(loud, SR, 44100)[: len(audio) // 2])[0, 1] > 0.99


def test_peaks_between_samples_are_kept_under_full_scale(tmp_path):
    # A quarter-rate sine sampled at 45 degrees: samples at 0.707, the waveform itself reaches 1.0 (+3 dB).
    n = np.arange(SR // 2)
    tricky = (np.sin(np.pi / 2 * n + np.pi / 4) * np.hanning(len(n))).astype(np.float32)
    assert true_peak(tricky) > 1.3 * np.max(np.abs(tricky))
    result = export_audio_report(tmp_path / "isp", tricky, SR, ExportSettings("wav", 48000, "32f"))
    audio, _ = sf.read(str(result.path))
    assert result.limited
    assert true_peak(audio) <= 10 ** (-0.1 / 20) + 1e-4
    assert _dbfs(audio) < -2.5  # the samples sit lower so the waveform between them does not clip


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_tags_carry_title_model_and_seed(tmp_path, drum, fmt):
    tags = {"title": "new sound 3", "model": "3f2a9c", "seed": "17"}
    written = export_audio(tmp_path / "t", drum, SR, ExportSettings(fmt, 48000), tags)
    with sf.SoundFile(str(written)) as handle:
        assert handle.title == "new sound 3"
        assert "model: 3f2a9c" in handle.comment and "seed: 17" in handle.comment


def test_export_replaces_a_file_atomically_and_names_it_for_its_format(tmp_path, drum):
    target = tmp_path / "kick.seed3"
    first = export_audio(target, drum, SR, ExportSettings("flac", 48000, "16"))
    assert first.name == "kick.seed3.flac"  # a non-audio suffix is kept, the format's appended
    again = export_audio(tmp_path / "kick.seed3.wav", drum * 0.5, SR, ExportSettings("flac", 96000, "24"))
    assert again == first
    assert sf.info(str(first)).samplerate == 96000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kick.seed3.flac"]  # no temp files left


def test_nan_samples_are_cleaned_stereo_keeps_two_channels_and_silence_stays_silent(tmp_path, drum):
    damaged = drum.copy()
    damaged[100:200] = np.nan
    audio, _ = sf.read(str(export_audio(tmp_path / "nan", damaged, SR, ExportSettings(normalise=True))))
    assert np.isfinite(audio).all() and _dbfs(audio) == pytest.approx(-1.0, abs=0.01)
    stereo = np.stack([drum, -0.5 * drum], axis=1)
    written = export_audio(tmp_path / "st", stereo, SR, ExportSettings("flac", 44100, "24"))
    info = sf.info(str(written))
    assert info.channels == 2 and abs(info.frames - len(drum) * 44100 / SR) <= 1
    silent = export_audio(tmp_path / "silence", np.zeros(4800, np.float32), SR, ExportSettings(normalise=True))
    assert np.max(np.abs(sf.read(str(silent))[0])) == 0.0
