"""Checkpoints are safe to load and survive crashes: plain data only, atomic writes, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from helpers import REPO_ROOT, SUBPROCESS_ENV, assert_user_error, make_tiny_config, sda

from sda.runs.checkpoints import (
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_summary,
    resolve_checkpoint,
)
from sda.training import CheckpointError, CheckpointEvent, StepMetrics, TrainingConfig, TrainingRunner, train
from sda.training.metrics_log import read_events

pytestmark = pytest.mark.usefixtures("fast_previews")


# ---------------------------------------------------------------------------
# (a) Every checkpoint sda writes loads with weights_only=True.

@pytest.fixture(scope="module")
def checkpoints_of_every_kind(fast_previews, shared_sound_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("kinds") / "run"
    events = []
    runner = TrainingRunner()

    def first(event):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step == 2:
            runner.request_checkpoint()

    config = make_tiny_config(max_epochs=3, batch_size=2, checkpoint_interval=1, keep_checkpoints=20)
    runner.start(config, [shared_sound_folder], out, "cpu", callback=first)
    assert runner.wait(timeout=120) and runner.last_error() is None
    resumed_at = {}

    def second(event):
        events.append(event)
        if isinstance(event, StepMetrics) and not resumed_at:
            resumed_at["step"] = event.step
            runner.cancel()

    runner.resume(make_tiny_config(max_epochs=5, batch_size=2, checkpoint_interval=1, keep_checkpoints=20),
                  [shared_sound_folder], out, "cpu", callback=second)
    assert runner.wait(timeout=120) and runner.last_error() is None
    return out, [e for e in events if isinstance(e, CheckpointEvent)]


def test_every_kind_of_checkpoint_loads_with_weights_only(checkpoints_of_every_kind):
    out, saved = checkpoints_of_every_kind
    assert {c.reason for c in saved} == {"interval", "manual", "final", "cancel"}
    for event in saved:
        path = Path(event.path)
        state = torch.load(path, map_location="cpu", weights_only=True)
        assert state["format"] == "sda-checkpoint" and isinstance(state["model_state"], dict)
        assert state["config"]["latent_dim"] == 8
        assert read_checkpoint_summary(path)["reason"] == event.reason
    # And anything else in the folder that looks like a checkpoint.
    for path in (out / "checkpoints").glob("*.pt"):
        torch.load(path, map_location="cpu", weights_only=True)


# ---------------------------------------------------------------------------
# (b) A checkpoint that would run code when unpickled is refused, and runs nothing.

class _RunsCode:
    """Unpickling this object runs a shell command (what a malicious .pt file does)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def write_crafted_checkpoint(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": "sda-checkpoint", "version": 1, "epoch": 1, "step": 1,
               "model_state": {"w": torch.zeros(2)}, "config": {}, "surprise": _RunsCode(marker)}
    torch.save(payload, path)
    return path


def test_crafted_checkpoint_is_refused_without_running_its_code(tmp_path):
    marker = tmp_path / "pwned"
    crafted = write_crafted_checkpoint(tmp_path / "crafted.pt", marker)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(crafted)
    assert "crafted.pt" in str(info.value) and "refused" in str(info.value)
    assert not marker.exists()
    # The file really is dangerous: an unsafe load runs its command.
    torch.load(crafted, weights_only=False)
    assert marker.exists()


def test_cli_reconstruct_refuses_a_crafted_model(tmp_path, shared_sound_folder):
    marker = tmp_path / "pwned"
    crafted = write_crafted_checkpoint(tmp_path / "crafted.pt", marker)
    proc = sda("reconstruct", "--model", crafted, shared_sound_folder / "bursts_a.wav", "--out", tmp_path / "out",
               "--device", "cpu", timeout=120)
    assert_user_error(proc, "crafted.pt", "refused")
    assert not marker.exists()
    assert not list(tmp_path.glob("out/*.wav"))


def test_cli_train_resume_refuses_a_crafted_checkpoint(tmp_path, shared_sound_folder):
    marker = tmp_path / "pwned"
    crafted = write_crafted_checkpoint(tmp_path / "run" / "checkpoints" / "checkpoint_epoch0001.pt", marker)
    proc = sda("train", shared_sound_folder, "--resume", crafted, "--device", "cpu", timeout=120)
    assert_user_error(proc, "checkpoint_epoch0001.pt", "refused")
    assert not marker.exists()
    # Pointing --resume at the run folder finds the same file and refuses it too.
    proc = sda("train", shared_sound_folder, "--resume", tmp_path / "run", "--device", "cpu", timeout=120)
    assert_user_error(proc, "refused")
    assert not marker.exists()


def test_truncated_or_foreign_files_are_refused_with_a_reason(tmp_path, checkpoints_of_every_kind):
    out, saved = checkpoints_of_every_kind
    good = Path(saved[0].path).read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="could not be read"):
        load_checkpoint(cut)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(CheckpointError, match="not an sda checkpoint"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


# ---------------------------------------------------------------------------
# (c) SIGKILL at any moment leaves a run that loads and resumes.

TRAINER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import torch
    torch.set_num_threads(1)
    from sda.training import TrainingConfig, RegularizationConfig, train

    run_dir, data_dir, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    if mode == "slow-fsync":
        # Announce each fsync (the moment a temp file is complete but not yet renamed) and linger there.
        real_fsync = os.fsync
        def slow_fsync(fd):
            try:
                name = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                name = "?"
            print("FSYNC", name, flush=True)
            time.sleep(0.4)
            real_fsync(fd)
        os.fsync = slow_fsync
    config = TrainingConfig(hidden_channels=32, latent_dim=8, batch_size=8, max_epochs=200, checkpoint_interval=1,
                            keep_checkpoints=3, preview_interval=1000, preview_interval_short=1000,
                            num_preview_samples=1, precision="fp32",
                            regularization=RegularizationConfig(augmentation_expansion=0))
    resume = run_dir if list((run_dir / "checkpoints").glob("checkpoint_*.pt")) else None
    print("STARTED", flush=True)
    train(config, [data_dir], run_dir, "cpu", resume_checkpoint=resume)
""")


def _latest_epoch(run_dir: Path) -> int:
    epochs = [read_checkpoint_summary(p).get("epoch", -1) for p in list_checkpoints(run_dir / "checkpoints")]
    return max(epochs, default=-1)


def _check_run_is_intact(run_dir: Path, data: Path, phase: str) -> None:
    ckpt_dir = run_dir / "checkpoints"
    found = sorted(ckpt_dir.glob("checkpoint_*.pt"))
    assert found, phase
    for path in found:
        state = load_checkpoint(path)  # raises CheckpointError if torn
        assert state["model_state"], (phase, path)
    assert all(not p.name.startswith(".") for p in list_checkpoints(ckpt_dir)), "temp files are not checkpoints"
    json.loads((run_dir / "run.json").read_text())  # run.json is never half-written
    read_events(run_dir)  # a torn last line of metrics.jsonl is skipped, not fatal

    # Resume from the run folder and train one more epoch.
    state = load_checkpoint(resolve_checkpoint(run_dir))
    config = TrainingConfig.from_dict(state["config"])
    config.max_epochs = int(state["epoch"]) + 1
    result = train(config, [data], run_dir, "cpu", resume_checkpoint=run_dir)
    assert result["epochs_completed"] == config.max_epochs and not result["was_cancelled"], phase
    assert load_checkpoint(resolve_checkpoint(run_dir))["epoch"] == config.max_epochs


def _start(script: Path, run_dir: Path, data: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), str(run_dir), str(data), mode], cwd=REPO_ROOT,
                            env=SUBPROCESS_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stdout.close()


def test_sigkill_at_random_moments_never_leaves_a_broken_run(tmp_path, shared_sound_folder):
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    run_dir = tmp_path / "run"
    rng = random.Random(20240229)

    # Random moments: after a checkpoint exists, wait 0-300 ms, kill.
    for attempt in range(3):
        before = _latest_epoch(run_dir) if run_dir.exists() else -1
        proc = _start(script, run_dir, shared_sound_folder, "normal")
        deadline = time.monotonic() + 120
        try:
            while _latest_epoch(run_dir) <= before:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "no checkpoint appeared"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            _kill(proc)
        _check_run_is_intact(run_dir, shared_sound_folder, f"random kill {attempt}")

    # A chosen moment: a checkpoint's temp file is complete but not yet renamed.
    proc = _start(script, run_dir, shared_sound_folder, "slow-fsync")
    try:
        deadline = time.monotonic() + 120
        for line in proc.stdout:
            assert time.monotonic() < deadline
            if line.startswith("FSYNC") and ".checkpoint_epoch" in line and line.rstrip().endswith(".tmp"):
                break
        else:
            pytest.fail("the trainer ended without writing a checkpoint")
    finally:
        _kill(proc)
    leftovers = list((run_dir / "checkpoints").glob(".checkpoint_*.tmp"))
    assert leftovers, "killed while a checkpoint was being written: its temp file is left behind"
    _check_run_is_intact(run_dir, shared_sound_folder, "kill mid-write")


def test_leftover_temp_files_are_not_taken_for_checkpoints(checkpoints_of_every_kind, shared_sound_folder, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(checkpoints_of_every_kind[0], out)
    ckpt_dir = out / "checkpoints"
    newest = resolve_checkpoint(out)
    # What a crash mid-write leaves: hidden temp files whose names hold a later epoch.
    (ckpt_dir / ".checkpoint_epoch9999.pt.a1b2c3.tmp").write_bytes(b"\x00" * 1000)
    (ckpt_dir / ".checkpoint_epoch9999.meta.json.d4e5.tmp").write_text("{")
    assert resolve_checkpoint(out) == newest
    assert all(".tmp" not in p.name for p in list_checkpoints(ckpt_dir))
    state = load_checkpoint(newest)
    config = TrainingConfig.from_dict(state["config"])
    config.max_epochs = int(state["epoch"]) + 1
    result = train(config, [shared_sound_folder], out, "cpu", resume_checkpoint=out)
    assert result["epochs_completed"] == config.max_epochs


def test_newest_checkpoint_is_found_even_if_its_sidecar_was_not_written(checkpoints_of_every_kind, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(checkpoints_of_every_kind[0], out)
    ckpt_dir = out / "checkpoints"
    boundary = [p for p in list_checkpoints(ckpt_dir) if "_step" not in p.name]
    newest = boundary[-1]
    # Keep only epoch-boundary checkpoints, then lose the newest one's sidecar.
    for path in list_checkpoints(ckpt_dir):
        if path not in boundary:
            path.unlink()
            path.with_suffix(".meta.json").unlink()
    newest.with_suffix(".meta.json").unlink()
    assert resolve_checkpoint(out) == newest
