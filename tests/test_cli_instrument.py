"""`python -m sda instrument` and `python -m sda pack`, as a musician runs them, and the instrument played in
real samplers: FluidSynth plays the SF2 from a MIDI file, sfzlint parses the SFZ."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from helpers import assert_user_error, sda
from sampler_helpers import level_db, onset_near, render, require_fluidsynth, write_midi

from sda.audio.resampling import true_peak

RATE = 48000


@pytest.fixture(scope="module")
def kit_zip(kit_run, tmp_path_factory):
    """A 4-pad kit, 3 velocity layers, 2 round robins, SFZ and SF2, unpacked beside its zip."""
    out = tmp_path_factory.mktemp("instrument") / "kit.zip"
    proc = sda("instrument", "--model", kit_run, "--out", out, "--pads", 4, "--velocity-layers", 3,
               "--round-robins", 2, "--seconds", 0.6, "--seed", 2)
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout and "C2 (note 36)" in proc.stdout
    folder = out.parent / "kit"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(folder)
    return out, folder


def _sfz_regions(path):
    regions = []
    for line in path.read_text().splitlines():
        if line.startswith("<region>"):
            regions.append(dict(re.findall(r"(\w+)=(\S+)", line)))
    return regions


def test_a_kit_holds_samples_sidecars_sfz_sf2_and_a_readme_at_one_gain(kit_zip):
    out, folder = kit_zip
    names = zipfile.ZipFile(out).namelist()
    assert {"run.sfz", "run.sf2", "readme.txt"} <= set(names)
    wavs = sorted(folder.glob("samples/*.wav"))
    assert len(wavs) == 4 * 3 * 2
    gains, peaks = set(), []
    for wav in wavs:
        info = sf.info(wav)
        assert info.samplerate == RATE and info.subtype == "PCM_24" and info.channels == 1
        record = json.loads(wav.with_suffix(".json").read_text())
        gains.add(record["settings"]["instrument_gain_db"])
        peaks.append(true_peak(sf.read(wav, dtype="float32")[0]))
    assert len(gains) == 1  # one gain for the whole instrument ...
    assert 10 ** (-1.1 / 20) < max(peaks) <= 10 ** (-0.9 / 20)  # ... its loudest true peak at -1 dBFS, no clipping
    assert min(peaks) < max(peaks) * 0.7  # and the soft layers stay soft
    readme = (folder / "readme.txt").read_text()
    for note in range(36, 40):
        assert f"(note {note}): pad" in readme
    assert "velocit" in readme and "round robin" in readme.lower()


def test_the_sfz_parses_in_sfzlint_and_names_only_samples_in_the_zip(kit_zip):
    out, folder = kit_zip
    linter = shutil.which("sfzlint") or str(Path(sys.executable).parent / "sfzlint")
    proc = subprocess.run([linter, str(folder / "run.sfz")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr
    regions = _sfz_regions(folder / "run.sfz")
    names = set(zipfile.ZipFile(out).namelist())
    assert len(regions) == 24 and all(r["sample"] in names for r in regions)
    assert {(int(r["lokey"]), int(r["hikey"])) for r in regions} == {(n, n) for n in range(36, 40)}
    assert sorted({(int(r["lovel"]), int(r["hivel"])) for r in regions}) == [(1, 42), (43, 85), (86, 127)]
    text = (folder / "run.sfz").read_text()
    assert "seq_length=2" in text and {r["seq_position"] for r in regions} == {"1", "2"}


def test_fluidsynth_plays_the_sf2_on_time_with_hard_notes_on_the_loud_layers(kit_zip, tmp_path):
    require_fluidsynth()
    _, folder = kit_zip
    notes, at = [], 0.5
    for note in range(36, 40):
        for velocity in (30, 120):  # soft (layer 1) then hard (layer 3)
            notes.append((at, note, velocity, 0.4))
            at += 0.8
    # The boundary between layers 1 and 2: one step of velocity, a whole layer of level.
    notes += [(at, 36, 42, 0.4), (at + 0.8, 36, 43, 0.4)]
    write_midi(tmp_path / "song.mid", notes)
    audio = render(folder / "run.sf2", tmp_path / "song.mid", tmp_path / "song.wav")
    onsets = [onset_near(audio, start) for start, *_ in notes]
    errors = [abs(onset - start) for onset, (start, *_) in zip(onsets, notes)]
    assert max(errors) < 0.015, errors
    levels = [level_db(audio, onset) for onset in onsets]
    for pad in range(4):
        soft, hard = levels[2 * pad], levels[2 * pad + 1]
        assert hard > soft + 6, (pad, soft, hard)
    # Velocity 42 plays layer 1 (its second take's slice), 43 layer 2's first take: the level step is the samples'.
    layer1 = sf.read(folder / "samples" / "pad01_v1_rr2.wav")[0]
    layer2 = sf.read(folder / "samples" / "pad01_v2_rr1.wav")[0]
    sample_step = level_db(layer2, 0.0) - level_db(layer1, 0.0)
    assert sample_step > 1.0
    assert levels[-1] - levels[-2] == pytest.approx(sample_step, abs=1.5)


def test_a_pitched_instrument_plays_each_key_at_its_pitch(kit_run, tmp_path):
    require_fluidsynth()
    out = tmp_path / "keys.zip"
    proc = sda("instrument", "--model", kit_run, "--out", out, "--kind", "pitched", "--format", "sf2",
               "--root", 60, "--span", 12, "--step", 4, "--velocity-layers", 1, "--round-robins", 1,
               "--seconds", 2.0)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert "run.sfz" not in names and "run.sf2" in names
        zf.extractall(tmp_path / "keys")
        readme = zf.read("readme.txt").decode()
    assert "sample at C4 (note 60)" in readme and "sample at C5 (note 72)" in readme
    notes = [(0.5, 60, 100, 0.5), (1.5, 72, 100, 0.5), (2.5, 48, 100, 0.5), (3.5, 62, 100, 0.5)]
    write_midi(tmp_path / "tune.mid", notes)
    audio = render(tmp_path / "keys" / "run.sf2", tmp_path / "tune.mid", tmp_path / "tune.wav")
    onsets = [onset_near(audio, start) for start, *_ in notes]
    assert max(abs(o - s) for o, (s, *_) in zip(onsets, notes)) < 0.015

    def centroid(at):
        part = audio[int(at * RATE) : int((at + 0.4) * RATE)].astype(np.float64)
        power = np.abs(np.fft.rfft(part * np.hanning(len(part)))) ** 2
        return float((power * np.fft.rfftfreq(len(part), 1 / RATE)).sum() / power.sum())

    root, octave_up, octave_down = centroid(onsets[0]), centroid(onsets[1]), centroid(onsets[2])
    assert 1.6 < octave_up / root < 2.4 and 1.6 < root / octave_down < 2.4, (octave_down, root, octave_up)


def _no_zip_left(folder):
    return not folder.exists() or not [p for p in folder.iterdir()]


@pytest.mark.parametrize("args, words", [
    (["--root", 130], ["--root", "0-127"]),
    (["--pads", 20, "--root", 120], ["--pads", "127"]),
    (["--kind", "drums"], ["--kind", "drums"]),
    (["--format", "wav"], ["--format", "sfz"]),
    (["--kind", "pitched", "--root", 120], ["--span", "0-127"]),
    (["--kind", "pitched", "--seconds", 0.15], ["--kind", "too short"]),
])
def test_bad_instrument_settings_are_refused_in_one_sentence_with_nothing_written(kit_run, tmp_path, args, words):
    out = tmp_path / "out"
    proc = sda("instrument", "--model", kit_run, "--out", out / "x.zip", "--pads", 2, *args)
    assert_user_error(proc, *words)
    assert _no_zip_left(out)


def _narrow_level_axis(run, keep_effect: bool):
    """The run's analysis with its level axis's safe range shrunk to almost nothing (or no axis moving level)."""
    from sda.generation.analysis import load_analysis, save_analysis

    analysis = load_analysis(run)
    effects = analysis.info["axis_effects"]
    key = max(effects, key=lambda k: abs(effects[k]["level"]))
    if keep_effect:
        analysis.axes = [replace(a, safe_min=-0.01, safe_max=0.01) if a.key == key else a for a in analysis.axes]
    else:
        for values in effects.values():
            values["level"] = 0.0
    save_analysis(run, analysis)
    return key


def test_more_velocity_layers_than_the_level_axis_tells_apart_are_refused(kit_run_copy, tmp_path):
    key = _narrow_level_axis(kit_run_copy, keep_effect=True)
    proc = sda("instrument", "--model", kit_run_copy, "--out", tmp_path / "out" / "x.zip", "--pads", 2,
               "--velocity-layers", 3)
    assert_user_error(proc, "--velocity-layers", key, "at most")
    assert _no_zip_left(tmp_path / "out")
    one = sda("instrument", "--model", kit_run_copy, "--out", tmp_path / "one.zip", "--pads", 2,
              "--velocity-layers", 1, "--round-robins", 1, "--format", "sfz")
    assert one.returncode == 0, one.stderr


def test_a_model_without_a_level_axis_gets_one_layer_only(kit_run_copy, tmp_path):
    _narrow_level_axis(kit_run_copy, keep_effect=False)
    proc = sda("instrument", "--model", kit_run_copy, "--out", tmp_path / "x.zip", "--pads", 2)
    assert_user_error(proc, "--velocity-layers", "level")
    assert not (tmp_path / "x.zip").exists()


def test_pack_writes_sounds_sidecars_and_their_list(kit_run, tmp_path):
    out = tmp_path / "packs" / "hits.zip"
    proc = sda("pack", "--model", kit_run, "--out", out, "--count", 3, "--random-positions", "--seconds", 0.5,
               "--seed", 4, "--format", "flac", "--bit-depth", 16)
    assert proc.returncode == 0, proc.stderr
    axes = {a["key"]: a for a in json.loads(sda("axes", "--model", kit_run, "--json").stdout)["axes"]}
    with zipfile.ZipFile(out) as zf:
        names = sorted(zf.namelist())
        assert names == ["run_01.flac", "run_01.json", "run_02.flac", "run_02.json", "run_03.flac", "run_03.json",
                         "sounds.txt"]
        records = [json.loads(zf.read(f"run_0{i}.json")) for i in (1, 2, 3)]
        listing = zf.read("sounds.txt").decode()
    assert [r["settings"]["seed"] for r in records] == [4, 5, 6] and "seed 5" in listing
    positions = [r["settings"]["axes"] for r in records]
    assert positions[0] != positions[1]
    for position in positions:
        for key, value in position.items():
            assert axes[key]["safe_min"] - 1e-6 <= value <= axes[key]["safe_max"] + 1e-6
    again = sda("pack", "--model", kit_run, "--out", out, "--count", 1, "--seconds", 0.5, "--set", "1=0.5")
    assert again.returncode == 0 and (tmp_path / "packs" / "hits-2.zip").is_file()  # the first is kept


def test_bad_pack_settings_are_refused_with_nothing_written(kit_run, tmp_path):
    out = tmp_path / "out"
    assert_user_error(sda("pack", "--model", kit_run, "--out", out / "p.zip", "--count", 0), "--count")
    assert_user_error(sda("pack", "--model", kit_run, "--out", out / "p.zip", "--seconds", 99), "99")
    assert_user_error(sda("pack", "--model", kit_run, "--out", out / "p.zip", "--format", "aiff"), "format")
    assert _no_zip_left(out)
