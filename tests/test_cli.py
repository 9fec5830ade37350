"""`python -m sda ...` as a musician runs it: train, Ctrl-C, resume, reconstruct, bench, and clear errors.

These run the real CLI in a subprocess with the presets' model size (the CLI
has no switch for a smaller model), on datasets of a few seconds of audio.
"""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_files import BAD_FOLDER_GOOD_FILES, GOOD_FORMATS, rms_db, write_all_formats, write_bad_files, write_texture
from helpers import REPO_ROOT, SUBPROCESS_ENV, assert_user_error, make_tiny_config, sda

from sda.audio.io import load_audio
from sda.runs.checkpoints import list_checkpoints, load_checkpoint
from sda.training.metrics import EpochMetrics
from sda.training.metrics_log import read_events

SR = 48000


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("mixed")
    write_all_formats(folder, seconds=0.5)
    bad = write_bad_files(folder)
    return folder, bad


@pytest.fixture(scope="module")
def trained(mixed_folder, tmp_path_factory):
    folder, bad = mixed_folder
    run_dir = tmp_path_factory.mktemp("cli_train") / "run"
    started = time.monotonic()
    proc = sda("train", folder, "--epochs", 2, "--out", run_dir, "--device", "cpu")
    print(f"cli train --epochs 2: {time.monotonic() - started:.1f} s")
    return folder, bad, run_dir, proc


def test_train_reports_preset_skipped_files_and_warnings(trained):
    folder, bad, run_dir, proc = trained
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    usable = len(GOOD_FORMATS) + len(BAD_FOLDER_GOOD_FILES)
    assert f"{usable} usable files" in out
    assert "Preset: conservative" in out and f"{usable} files is a small dataset" in out
    for name, reason in bad.items():
        lines = [line for line in out.splitlines() if "skipped" in line.lower() and name in line]
        assert lines, f"{name} is not reported as skipped"
        assert any(reason in line for line in lines), (name, reason, lines)
    assert "WARNING:" in out
    assert "epoch 1/2" in out and "epoch 2/2" in out
    assert "Traceback" not in proc.stderr


def test_train_writes_a_complete_run_folder(trained):
    folder, bad, run_dir, proc = trained
    assert proc.returncode == 0, proc.stderr
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "completed" and info["epochs_done"] == 2
    assert info["config"]["max_epochs"] == 2 and info["config"]["preset"] == "conservative"
    files = info["dataset"]["files"]
    assert len(files) == len(GOOD_FORMATS) + len(BAD_FOLDER_GOOD_FILES)
    assert {Path(f["path"]).name for f in files} == set(GOOD_FORMATS) | {Path(p).name for p in BAD_FOLDER_GOOD_FILES}
    assert all(len(f["sha256"]) == 64 and f["split"] in ("train", "val") for f in files)
    issues = {Path(i["path"]).name: i["reason"] for i in info["dataset"]["issues"]}
    assert set(issues) == set(bad)
    for name, reason in bad.items():
        assert reason in issues[name]
    events, _ = read_events(run_dir)
    assert [e.epoch for e in events if isinstance(e, EpochMetrics)] == [1, 2]
    checkpoints = list_checkpoints(run_dir / "checkpoints")
    assert checkpoints and load_checkpoint(checkpoints[-1])["epoch"] == 2
    previews = list((run_dir / "previews").glob("*.wav"))
    assert previews and all(sf.info(str(p)).samplerate == SR for p in previews)


def test_train_on_a_missing_path_is_one_clear_error(tmp_path):
    missing = tmp_path / "no_such_folder"
    proc = sda("train", missing, "--epochs", 1, "--out", tmp_path / "run", "--device", "cpu")
    assert_user_error(proc, str(missing), "does not exist")
    assert not (tmp_path / "run").exists()


def test_train_on_a_folder_of_only_bad_files_is_one_clear_error(tmp_path):
    folder = tmp_path / "bad"
    bad = write_bad_files(folder)
    for good in BAD_FOLDER_GOOD_FILES:
        (folder / good).unlink()
    proc = sda("train", folder, "--epochs", 1, "--out", tmp_path / "run", "--device", "cpu")
    assert_user_error(proc, "No usable audio", str(folder))
    assert len(bad) >= 10


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(tmp_path):
    folder = tmp_path / "sounds"
    for i in range(5):
        write_texture(folder / f"s{i}.wav", seconds=0.6, seed=i)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sda", "train", str(folder), "--epochs", "50", "--out", str(run_dir), "--device", "cpu"],
        cwd=REPO_ROOT,
        env=SUBPROCESS_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines, first_epoch = [], threading.Event()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("epoch 1/"):
                first_epoch.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert first_epoch.wait(timeout=240), "".join(lines) + proc.stderr.read()
        interrupted = time.monotonic()
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    stopped = time.monotonic() - interrupted
    reader.join(timeout=10)
    out, err = "".join(lines), proc.stderr.read()
    assert rc == 0, (out, err)
    assert "Traceback" not in out + err
    assert "Cancelled. Checkpoint saved" in out and f"--resume {run_dir}" in out
    assert stopped < 60, f"took {stopped:.0f} s to stop"
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "cancelled"
    assert list_checkpoints(run_dir / "checkpoints")

    # The printed command works (with a short --epochs so the test stays short).
    resumed = sda("train", "--resume", run_dir, "--epochs", info["epochs_done"] + 1, "--device", "cpu")
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming" in resumed.stdout
    assert json.loads((run_dir / "run.json").read_text())["epochs_done"] == info["epochs_done"] + 1


def write_inputs(folder: Path) -> list[Path]:
    """A 48 kHz mono WAV and a 44.1 kHz stereo FLAC the model has never heard."""
    return [write_texture(folder / "f1.wav", seconds=1.3, seed=7),
            write_texture(folder / "f2.flac", seconds=0.77, sr=44100, channels=2, seed=8, format="FLAC")]


def reconstruct(model: Path, inputs: list[Path], out_dir: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Run `sda reconstruct`; {output name: (decoded input, output audio)}."""
    proc = sda("reconstruct", "--model", model, *inputs, "--out", out_dir, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(p.stem + ".wav" for p in inputs)
    pairs = {}
    for source in inputs:
        audio, rate = sf.read(str(out_dir / (source.stem + ".wav")), dtype="float32")
        assert rate == SR and audio.ndim == 1
        assert np.isfinite(audio).all()
        pairs[source.stem + ".wav"] = (load_audio(source).audio, audio)
    return pairs


def test_reconstruct_writes_one_wav_per_input_with_the_same_length(trained, tmp_path):
    _, _, run_dir, proc = trained
    assert proc.returncode == 0, proc.stderr
    for name, (original, audio) in reconstruct(run_dir, write_inputs(tmp_path / "in"), tmp_path / "out").items():
        assert len(audio) == len(original), name


@pytest.fixture(scope="module")
def textures_model(fast_previews, tmp_path_factory) -> Path:
    """A small model trained in-process for 10 epochs on noise-burst textures (the CLI run above
    trains the preset model for 2 epochs on pure tones, too little to judge reconstruction level)."""
    from sda.training import train

    folder = tmp_path_factory.mktemp("textures")
    for i in range(6):
        write_texture(folder / f"t{i}.wav", seconds=1.5, seed=i)
    run_dir = tmp_path_factory.mktemp("textures_run") / "run"
    train(make_tiny_config(max_epochs=10, latent_dim=16), [folder], run_dir, "cpu")
    return run_dir


def test_reconstruct_follows_the_input_level(textures_model, tmp_path):
    for name, (original, audio) in reconstruct(textures_model, write_inputs(tmp_path / "in"), tmp_path / "out").items():
        assert len(audio) == len(original), name
        assert abs(rms_db(audio) - rms_db(original)) < 10, (name, rms_db(audio), rms_db(original))


def test_bench_prints_one_json_line_of_figures(mixed_folder, tmp_path):
    data = tmp_path / "bench_data"
    for i in range(4):
        write_texture(data / f"b{i}.wav", seconds=0.8, seed=20 + i)
    heldout = tmp_path / "heldout"
    write_texture(heldout / "unseen.wav", seconds=1.0, seed=30)
    proc = sda("bench", data, "--epochs", 1, "--heldout", heldout, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    figures = json.loads(lines[0])
    for key in ("chunks_per_s", "s_per_epoch", "first_preview_s", "peak_rss_mb", "mel_l1_db", "lsd_db", "mrstft",
                "attack_db", "ceiling_mrstft", "ceiling_attack_db", "inversion_best_lsd_db", "inversion_realtime_x",
                "inversion_best_realtime_x"):
        assert isinstance(figures[key], (int, float)) and math.isfinite(figures[key]) and figures[key] > 0, key
    assert figures["ceiling_mel_l1_db"] < figures["mel_l1_db"]  # the model only adds to what inversion loses
    assert figures["inversion_best_mel_l1_db"] < figures["ceiling_mel_l1_db"]
    assert figures["device"] == "cpu" and figures["dtype"] in ("float32", "bfloat16")
