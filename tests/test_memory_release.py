"""A run that ended (finished, failed or cancelled) lets go of its model, optimizer and spectrograms.

A server keeps its runners long after their runs end; if a runner held the
model (through its result, or an error's traceback frames) each run would
leave its memory behind. What the page needs stays: status, figures, paths,
and an error's message.
"""

from __future__ import annotations

import weakref

import pytest
import torch
from helpers import make_tiny_config

import sda.training.dataset as dataset_module
import sda.training.loop as loop_module
from sda.training.metrics import StepMetrics
from sda.training.runner import TrainingRunner


class Tracked:
    """Weak references to every model, optimizer and spectrogram dataset a run makes."""

    def __init__(self) -> None:
        self.refs: dict[str, list[weakref.ref]] = {"model": [], "optimizer": [], "spectrograms": []}

    def alive(self) -> list[str]:
        return [kind for kind, refs in self.refs.items() for ref in refs if ref() is not None]


@pytest.fixture
def tracked(monkeypatch, fast_previews) -> Tracked:
    seen = Tracked()

    def recording(base, kind):
        class Recorded(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                seen.refs[kind].append(weakref.ref(self))

        Recorded.__name__ = base.__name__
        return Recorded

    build_vae = loop_module.build_vae

    def build_and_record(*args, **kwargs):  # the model training builds (not the one its analysis loads after)
        model = build_vae(*args, **kwargs)
        seen.refs["model"].append(weakref.ref(model))
        return model

    monkeypatch.setattr(loop_module, "build_vae", build_and_record)
    monkeypatch.setattr(torch.optim, "AdamW", recording(torch.optim.AdamW, "optimizer"))
    monkeypatch.setattr(
        dataset_module, "AudioTrainingDataset", recording(dataset_module.AudioTrainingDataset, "spectrograms")
    )
    return seen


def _run(runner: TrainingRunner, folder, out, on_event=None, **config) -> None:
    runner.start(make_tiny_config(**config), [folder], out, "cpu", callback=on_event)
    assert runner.wait(timeout=120), "the run ends"
    assert not runner.is_running()


def test_a_finished_run_keeps_its_figures_and_paths_but_not_its_model(shared_sound_folder, tmp_path, tracked):
    runner = TrainingRunner()
    _run(runner, shared_sound_folder, tmp_path / "run", max_epochs=2)
    assert len(tracked.refs["model"]) == 1 and len(tracked.refs["spectrograms"]) == 2  # train and validation sets
    assert tracked.alive() == [], "nothing the run trained with is still reachable"
    result = runner.result()
    assert "model" not in result and "spectrogram" not in result
    assert result["epochs_completed"] == 2 and not result["was_cancelled"]
    assert result["best_checkpoint_path"].is_file() and len(result["metrics_history"].epoch_metrics) == 2


def test_a_failed_run_keeps_its_message_not_its_frames(shared_sound_folder, tmp_path, tracked):
    failed = []

    def fail_once(event):
        if isinstance(event, StepMetrics) and not failed:
            failed.append(event)
            raise RuntimeError("the disk went away during step 1")

    runner = TrainingRunner()
    _run(runner, shared_sound_folder, tmp_path / "run", on_event=fail_once, max_epochs=3)
    error = runner.last_error()
    assert isinstance(error, RuntimeError) and str(error) == "the disk went away during step 1"
    assert error.__traceback__ is None, "a traceback's frames would hold the model and the data"
    details = runner.last_error_details()
    assert "Traceback" in details and "fail_once" in details and "the disk went away" in details
    assert tracked.refs["model"] and tracked.alive() == []
    assert runner.result() is None


def test_a_cancelled_run_lets_go_of_its_model(shared_sound_folder, tmp_path, tracked):
    runner = TrainingRunner()

    def cancel_at_step_2(event):
        if isinstance(event, StepMetrics) and event.step == 2:
            runner.cancel()

    _run(runner, shared_sound_folder, tmp_path / "run", on_event=cancel_at_step_2, max_epochs=5, batch_size=1)
    result = runner.result()
    assert result["was_cancelled"] and result["last_checkpoint_path"].is_file()
    assert "model" not in result
    assert tracked.refs["model"] and tracked.alive() == []


def test_a_run_that_fails_before_training_lets_go_too(tmp_path, tracked):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "lyrics.wav").write_text("not audio\n" * 50)
    runner = TrainingRunner()
    _run(runner, tmp_path / "bad", tmp_path / "run")
    assert "lyrics.wav" in str(runner.last_error()) and runner.last_error().__traceback__ is None
    assert tracked.refs["model"] and tracked.alive() == []
