"""``python -m sda invert``: each sound's mel back to audio with no model in between, by every method."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from audio_files import rms_db, write_bad_files, write_sound_folder
from helpers import assert_user_error, sda

from sda.audio.inversion_methods import INVERSION_METHODS
from sda.audio.io import load_audio
from sda.audio.scores import mel_l1_db


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    return write_sound_folder(tmp_path_factory.mktemp("sounds"))


def test_a_folder_comes_back_as_one_wav_and_sidecar_per_sound(sounds, tmp_path):
    proc = sda("invert", sounds[0].parent, "--out", tmp_path / "out", "--method", "fast")
    assert proc.returncode == 0, proc.stderr
    for path in sounds:
        original = load_audio(path).audio  # mono, 48 kHz: what the mel was made from
        audio, rate = sf.read(tmp_path / "out" / f"{path.stem}.wav", dtype="float32")
        assert rate == 48000 and audio.shape == original.shape, path.name
        assert mel_l1_db(original, audio) < 4.5, path.name  # the same sound, through the representation only
        assert abs(rms_db(audio) - rms_db(original)) < 1.5, path.name  # at the input's level
        sidecar = json.loads((tmp_path / "out" / f"{path.stem}.json").read_text())
        assert sidecar["settings"]["method"] == "fast" and sidecar["settings"]["kind"] == "inversion"
        assert sidecar["settings"]["source_file"] == str(path.absolute())
        assert sidecar["settings"]["spectrogram"]["n_mels"] == 128
    assert str(sounds[0]) in proc.stdout and "real time" in proc.stdout


@pytest.mark.parametrize("method", sorted(INVERSION_METHODS))
def test_every_method_inverts_named_files(sounds, tmp_path, method):
    picked = [p for p in sounds if p.name == "short.flac"]  # 0.3 s: every method, quickly
    proc = sda("invert", *picked, "--out", tmp_path, "--method", method)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == sorted(f"{p.stem}.wav" for p in picked)
    for path in picked:
        audio, _ = sf.read(tmp_path / f"{path.stem}.wav")
        assert len(audio) == len(load_audio(path).audio) and np.abs(audio).max() > 1e-3


def test_existing_files_are_kept_unless_forced(sounds, tmp_path):
    for _ in range(2):
        assert sda("invert", sounds[0], "--out", tmp_path, "--method", "pghi").returncode == 0
    assert sorted(p.name for p in tmp_path.glob("*.wav")) == [f"{sounds[0].stem}-2.wav", f"{sounds[0].stem}.wav"]
    assert sda("invert", sounds[0], "--out", tmp_path, "--method", "pghi", "--force").returncode == 0
    assert len(list(tmp_path.glob("*.wav"))) == 2


def test_the_models_spectrogram_and_inversion_are_used(kit_run, tmp_path):
    kit = sorted((kit_run.parent / "kit").glob("*.wav"))[:2]
    proc = sda("invert", *kit, "--out", tmp_path, "--model", kit_run, "--method", "gl-fast")
    assert proc.returncode == 0, proc.stderr
    sidecar = json.loads((tmp_path / f"{kit[0].stem}.json").read_text())
    assert sidecar["settings"]["model_id"] and sidecar["settings"]["method"] == "gl-fast"
    learned = sda("invert", kit[0], "--out", tmp_path / "learned", "--model", kit_run, "--method", "learned")
    assert_user_error(learned, "learned", "this model has none")
    assert not (tmp_path / "learned").exists()


def test_an_unreadable_file_is_named_and_nothing_is_written(sounds, tmp_path):
    bad = tmp_path / "bad"
    write_bad_files(bad)
    proc = sda("invert", sounds[0], bad / "corrupt.wav", "--out", tmp_path / "out")
    assert_user_error(proc, "corrupt.wav")
    assert not (tmp_path / "out").exists()
    # inside a folder, unreadable files are listed and the rest inverted
    proc = sda("invert", bad, "--out", tmp_path / "out", "--method", "fast")
    assert proc.returncode == 0, proc.stderr
    assert "skipped" in proc.stdout and "corrupt.wav" in proc.stdout
    written = {p.name for p in (tmp_path / "out").glob("*.wav")}
    assert {"good.wav", "good_in_sub.wav"} <= written and "corrupt.wav" not in written


@pytest.mark.parametrize("args, words", [
    (["invert", "missing.wav", "--out", "{tmp}/o"], ["missing.wav", "does not exist"]),
    (["invert", "{sound}", "--out", "{tmp}/o", "--method", "learned"], ["learned", "--model"]),
    (["invert", "{sound}", "--out", "{sound}"], ["--out", "is a file"]),
    (["invert", "{sound}", "--out", "{tmp}/o", "--model", "{tmp}/nomodel"], ["nomodel", "does not exist"]),
])
def test_bad_input_gets_one_clear_line(sounds, tmp_path, args, words):
    filled = [a.format(tmp=tmp_path, sound=sounds[0]) for a in args]
    assert_user_error(sda(*filled), *words)
    assert not (tmp_path / "o").exists()


def test_an_unknown_method_is_refused_with_the_choices(sounds, tmp_path):
    proc = sda("invert", sounds[0], "--out", tmp_path / "o", "--method", "magic")
    assert proc.returncode == 2 and "invalid choice: 'magic'" in proc.stderr and "gl-best" in proc.stderr
    assert not (tmp_path / "o").exists()
