"""`python -m sda generate | axes | analyse | vary | morph | reconstruct --set | export-model`, as a musician
runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from helpers import assert_user_error, sda


@pytest.fixture(scope="module")
def model_file(kit_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "kit.sdamodel"
    proc = sda("export-model", kit_run, "--out", out, "--name", "Kit", "--description", "tiny")
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout and out.is_file()
    return out


def test_generate_writes_exact_lengths_with_sidecars_and_repeats_itself(kit_run, tmp_path):
    out = tmp_path / "out"
    args = ["generate", "--model", kit_run, "--out", out, "--count", 2, "--seconds", 1.25, "--seed", 7,
            "--set", "1=0.5", "--format", "flac", "--sample-rate", 44100, "--bit-depth", 16]
    proc = sda(*args)
    assert proc.returncode == 0, proc.stderr
    files = sorted(out.glob("*.flac"))
    assert len(files) == 2
    for path in files:
        info = sf.info(path)
        assert info.samplerate == 44100 and info.frames == round(1.25 * 44100) and info.subtype == "PCM_16"
        record = json.loads(path.with_suffix(".json").read_text())
        assert record["settings"]["seconds"] == 1.25 and record["export"]["format"] == "flac"
        assert record["settings"]["seed"] in (7, 8) and len(record["settings"]["axes"]) == 1
    again = sda(*args, "--force")
    assert again.returncode == 0 and sorted(out.glob("*.flac")) == files
    assert np.array_equal(sf.read(files[0])[0], sf.read(files[0])[0])
    renamed = sda(*args)  # without --force: new names, nothing overwritten
    assert renamed.returncode == 0 and len(list(out.glob("*.flac"))) == 4


def test_same_seed_gives_the_same_file(kit_run, tmp_path):
    for name in ("a", "b"):
        proc = sda("generate", "--model", kit_run, "--out", tmp_path / name, "--seconds", 0.6, "--seed", 3)
        assert proc.returncode == 0, proc.stderr
    (a,), (b,) = list((tmp_path / "a").glob("*.wav")), list((tmp_path / "b").glob("*.wav"))
    assert np.array_equal(sf.read(a)[0], sf.read(b)[0])


def test_axes_are_listed_and_unknown_ones_refused(kit_run, tmp_path):
    proc = sda("axes", "--model", kit_run, "--json")
    assert proc.returncode == 0, proc.stderr
    axes = json.loads(proc.stdout)["axes"]
    assert axes and {"index", "key", "label", "share", "safe_min", "safe_max"} <= set(axes[0])
    text = sda("axes", "--model", kit_run)
    assert all(f"{a['key']} " in text.stdout and f"{a['low']} <-> {a['high']}" in text.stdout for a in axes)
    bad = sda("generate", "--model", kit_run, "--out", tmp_path, "--set", "sparkle=1")
    assert_user_error(bad, "sparkle", axes[0]["key"])


def test_a_model_file_works_everywhere_a_model_is_accepted(kit_run, model_file, tmp_path):
    sound = kit_run.parent / "kit" / sorted(p.name for p in (kit_run.parent / "kit").glob("*.wav"))[0]
    other = sorted((kit_run.parent / "kit").glob("*.wav"))[3]
    commands = {
        "gen": ["generate", "--model", model_file, "--out", tmp_path / "gen", "--seconds", 0.5],
        "vary": ["vary", "--model", model_file, sound, "--out", tmp_path / "vary", "--count", 2, "--amount", 0.3],
        "morph": ["morph", "--model", model_file, sound, other, "--out", tmp_path / "morph", "--steps", 3],
        "morph1": ["morph", "--model", model_file, sound, other, "--out", tmp_path / "morph1", "--seconds", 2.5],
        "rec": ["reconstruct", "--model", model_file, sound, "--out", tmp_path / "rec", "--set", "1=1.0"],
        "axes": ["axes", "--model", model_file],
        "analyse": ["analyse", model_file, "--data", kit_run.parent / "kit"],
    }
    for name, args in commands.items():
        proc = sda(*args)
        assert proc.returncode == 0, (name, proc.stderr)
    source_len = sf.info(sound).frames * 48000 // sf.info(sound).samplerate
    assert [sf.info(p).frames for p in sorted((tmp_path / "vary").glob("*.wav"))] == [source_len] * 2
    assert len(list((tmp_path / "morph").glob("*.wav"))) == 3
    (continuous,) = list((tmp_path / "morph1").glob("*.wav"))
    assert sf.info(continuous).frames == 2.5 * 48000
    assert len(list((tmp_path / "rec").glob("*.wav"))) == 1


def test_analyse_recomputes_and_stores_the_axes_of_a_run(kit_run_copy):
    before = (kit_run_copy / "analysis.json").stat().st_mtime_ns
    proc = sda("analyse", kit_run_copy)
    assert proc.returncode == 0, proc.stderr
    assert "stored in" in proc.stdout and (kit_run_copy / "analysis.json").stat().st_mtime_ns > before


@pytest.mark.parametrize("args, words", [
    (["generate", "--model", "no/such/run", "--out", "{tmp}"], ["no/such/run", "does not exist"]),
    (["generate", "--model", "{run}", "--out", "{tmp}", "--seconds", 61], ["61", "0.1 to 60"]),
    (["generate", "--model", "{run}", "--out", "{tmp}", "--format", "aac"], ["format", "wav"]),
    (["generate", "--model", "{run}", "--out", "{tmp}", "--set", "brightness"], ["brightness", "AXIS=VALUE"]),
    (["vary", "--model", "{run}", "{tmp}/missing.wav", "--out", "{tmp}"], ["missing.wav"]),
    (["generate", "--model", "{tmp}/fake.sdamodel", "--out", "{tmp}"], ["fake.sdamodel"]),
])
def test_bad_input_gets_one_clear_line(kit_run, tmp_path, args, words):
    (tmp_path / "fake.sdamodel").write_text("not a model")
    filled = [str(a).replace("{tmp}", str(tmp_path)).replace("{run}", str(kit_run)) for a in args]
    assert_user_error(sda(*filled), *words)


def test_a_lone_checkpoint_is_analysed_with_its_sounds_and_then_generates(kit_run, tmp_path):
    import shutil

    from sda.runs.checkpoints import get_latest_checkpoint

    lone = tmp_path / "kit.pt"
    shutil.copy(get_latest_checkpoint(kit_run / "checkpoints"), lone)
    refused = sda("generate", "--model", lone, "--out", tmp_path / "out")
    assert_user_error(refused, "kit.pt", "analyse")
    assert sda("analyse", lone, "--data", kit_run.parent / "kit").returncode == 0
    proc = sda("generate", "--model", lone, "--out", tmp_path / "out", "--seconds", 0.3)
    assert proc.returncode == 0, proc.stderr
