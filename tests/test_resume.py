"""Resume: stopping and continuing gives the run the user would have had without stopping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import assert_user_error, make_tiny_config, sda

from sda.runs.folder import read_run_info
from sda.training import CheckpointError, EpochMetrics, StepMetrics, train
from sda.training.checkpoint import load_checkpoint, resolve_checkpoint, save_checkpoint
from sda.training.metrics import CheckpointEvent
from sda.training.metrics_log import read_events

pytestmark = pytest.mark.usefixtures("fast_previews")

EPOCHS = 4


def resume_config():
    # Dropout, augmentation and latent noise all on: resume must replay every random draw.
    return make_tiny_config(max_epochs=EPOCHS, batch_size=2, dropout=0.1, augmentation_strength=0.5,
                            checkpoint_interval=1000, precision="fp32")


def run(out, data, cancel_when=None, resume=None, config=None):
    """train() collecting events; ``cancel_when(event)`` True sets the cancel event right after that event."""
    import threading

    cancel = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if cancel_when is not None and cancel_when(event):
            cancel.set()

    # train() does not seed the model's initial weights (see test_two_fresh_runs_with_one_seed_are_identical),
    # so seed them here: the comparisons below are about resume, not initialisation.
    torch.manual_seed(0)
    result = train(config or resume_config(), [data], out, "cpu", callback=on_event, cancel_event=cancel,
                   resume_checkpoint=resume)
    return result, events


def epoch_losses(events):
    return [
        (e.epoch, e.train_loss, e.val_loss, e.learning_rate, e.kl_divergence)
        for e in events
        if isinstance(e, EpochMetrics)
    ]


def steps(events):
    return [e for e in events if isinstance(e, StepMetrics)]


@pytest.fixture(scope="module")
def straight(fast_previews, shared_sound_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    result, events = run(out, shared_sound_folder)
    return out, result, events


@pytest.fixture(scope="module")
def after_epoch_resume(fast_previews, shared_sound_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("epoch_resume") / "run"
    first, first_events = run(
        out, shared_sound_folder, cancel_when=lambda e: isinstance(e, EpochMetrics) and e.epoch == 2
    )
    second, second_events = run(out, shared_sound_folder, resume=out)
    return out, first, first_events, second, second_events


@pytest.fixture(scope="module")
def mid_epoch_resume(fast_previews, straight, shared_sound_folder, tmp_path_factory):
    _, _, straight_events = straight
    per_epoch = len(steps(straight_events)) // EPOCHS
    assert per_epoch >= 3, "need several steps per epoch to stop in the middle of one"
    stop_at = per_epoch + 2  # second step of epoch 2
    out = tmp_path_factory.mktemp("mid_resume") / "run"
    first, first_events = run(
        out, shared_sound_folder, cancel_when=lambda e: isinstance(e, StepMetrics) and e.step == stop_at
    )
    second, second_events = run(out, shared_sound_folder, resume=out)
    return out, stop_at, first, first_events, second, second_events


# Tolerance: exact. On CPU in fp32 with per-step seeding, every random draw (shuffle,
# augmentation, dropout, latent noise) and every optimizer/scheduler value is restored,
# so the resumed run computes bit-identical numbers (we check == on floats, and
# torch.equal on the final weights). Measured: 0.0 difference.
def test_resume_after_epoch_2_matches_a_straight_run_exactly(straight, after_epoch_resume):
    _, straight_result, straight_events = straight
    _, first, first_events, second, second_events = after_epoch_resume
    assert first["was_cancelled"] and first["epochs_completed"] == 2
    assert epoch_losses(first_events) == epoch_losses(straight_events)[:2]
    assert epoch_losses(second_events) == epoch_losses(straight_events)[2:]
    assert not second["was_cancelled"] and second["epochs_completed"] == EPOCHS
    for a, b in zip(straight_result["model"].state_dict().values(), second["model"].state_dict().values()):
        assert torch.equal(a, b)


def test_resume_after_a_mid_epoch_cancel_matches_a_straight_run_exactly(straight, mid_epoch_resume):
    _, straight_result, straight_events = straight
    out, stop_at, first, first_events, second, second_events = mid_epoch_resume
    saved = [e for e in first_events if isinstance(e, CheckpointEvent)]
    assert [c.reason for c in saved] == ["cancel"] and "_step" in Path(saved[0].path).name
    assert json.loads(Path(saved[0].path).with_suffix(".meta.json").read_text())["mid_epoch"] is True
    assert epoch_losses(first_events) == epoch_losses(straight_events)[:1]
    # Epoch 2 was half done before the stop; its average still covers all its steps.
    assert epoch_losses(second_events) == epoch_losses(straight_events)[1:]
    straight_steps = [(s.step, s.train_loss) for s in steps(straight_events)]
    resumed_steps = [(s.step, s.train_loss) for s in steps(first_events) + steps(second_events)]
    assert resumed_steps == straight_steps, "every step runs once, with the same loss"
    for a, b in zip(straight_result["model"].state_dict().values(), second["model"].state_dict().values()):
        assert torch.equal(a, b)


def test_two_fresh_runs_with_one_seed_are_identical(shared_sound_folder, tmp_path):
    losses = []
    for name, noise in (("a", 1), ("b", 2)):
        torch.manual_seed(noise)  # whatever the caller did with the global RNG before
        result = train(make_tiny_config(max_epochs=1), [shared_sound_folder], tmp_path / name, "cpu")
        losses.append(result["metrics_history"].epoch_metrics[-1].train_loss)
    assert losses[0] == losses[1]


def test_resume_continues_the_step_counter_and_history(after_epoch_resume):
    out, first, first_events, second, second_events = after_epoch_resume
    last_step = steps(first_events)[-1].step
    assert steps(second_events)[0].step == last_step + 1
    assert [s.step for s in steps(second_events)] == list(
        range(last_step + 1, last_step + 1 + len(steps(second_events)))
    )
    assert steps(second_events)[0].epoch == 3
    history = second["metrics_history"]
    assert [m.epoch for m in history.epoch_metrics] == [1, 2, 3, 4], "the curves keep the epochs from before the stop"
    assert [m.train_loss for m in history.epoch_metrics[:2]] == [e[1] for e in epoch_losses(first_events)]
    assert history.step_metrics[0].step == 1


def test_resume_restores_optimizer_and_scheduler(straight, after_epoch_resume):
    straight_out, _, straight_events = straight
    out, _, _, _, second_events = after_epoch_resume
    # The learning rate of the first resumed step is the straight run's, not the initial one.
    straight_lr = {s.step: s.learning_rate for s in steps(straight_events)}
    first_resumed = steps(second_events)[0]
    assert first_resumed.learning_rate == straight_lr[first_resumed.step] < resume_config().learning_rate
    final_straight = load_checkpoint(resolve_checkpoint(straight_out))
    final_resumed = load_checkpoint(resolve_checkpoint(out))
    opt_a, opt_b = final_straight["optimizer_state"], final_resumed["optimizer_state"]
    assert opt_a["param_groups"][0]["lr"] == opt_b["param_groups"][0]["lr"]
    for key, state in opt_a["state"].items():
        other = opt_b["state"][key]
        assert torch.equal(torch.as_tensor(state["step"]), torch.as_tensor(other["step"]))
        assert torch.equal(state["exp_avg"], other["exp_avg"]) and torch.equal(state["exp_avg_sq"], other["exp_avg_sq"])
    assert final_straight["scheduler_state"]["last_epoch"] == final_resumed["scheduler_state"]["last_epoch"] == EPOCHS


def test_resume_writes_into_the_same_run_folder(after_epoch_resume):
    out, first, _, second, _ = after_epoch_resume
    assert second["output_dir"] == out
    logged, _ = read_events(out)
    assert [e.epoch for e in logged if isinstance(e, EpochMetrics)] == [1, 2, 3, 4]
    logged_steps = [e.step for e in logged if isinstance(e, StepMetrics)]
    assert logged_steps == list(range(1, len(logged_steps) + 1))
    info = read_run_info(out)
    assert info["status"] == "completed" and info["epochs_done"] == EPOCHS
    assert sorted(p.name for p in (out / "checkpoints").glob("*.pt")) == [
        "checkpoint_epoch0002.pt",
        "checkpoint_epoch0004.pt",
    ]
    assert not any(p.name != "run" for p in out.parent.iterdir()), "no second run folder"


@pytest.mark.parametrize("change", [{"latent_dim": 16}, {"hidden_channels": 48}])
def test_resume_refuses_a_checkpoint_of_another_model_shape(after_epoch_resume, shared_sound_folder, tmp_path, change):
    out = after_epoch_resume[0]
    checkpoint = resolve_checkpoint(out)
    other = make_tiny_config(max_epochs=EPOCHS, **change)
    before = sorted(p.name for p in (out / "checkpoints").iterdir())
    with pytest.raises(CheckpointError) as info:
        train(other, [shared_sound_folder], tmp_path / "other", "cpu", resume_checkpoint=checkpoint)
    message = str(info.value)
    (key, value), = change.items()
    assert key.replace("_", " ") in message and str(value) in message and checkpoint.name in message
    assert "\n" not in message and "Traceback" not in message
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == before


def test_cli_resume_refuses_a_checkpoint_with_another_spectrogram_in_one_line(after_epoch_resume, shared_sound_folder,
                                                                            tmp_path):
    out = after_epoch_resume[0]
    state = load_checkpoint(resolve_checkpoint(out))
    state["spectrogram_config"] = {**state["spectrogram_config"], "n_fft": 1024, "hop_length": 256}
    state = {k: v for k, v in state.items() if k not in ("format", "version")}
    run_dir = tmp_path / "altered" / "run"
    altered = save_checkpoint(run_dir / "checkpoints" / "checkpoint_epoch0004.pt", state,
                              {"epoch": EPOCHS, "step": state["step"], "mid_epoch": False, "val_loss": 1.0})
    proc = sda("train", shared_sound_folder, "--resume", altered, "--out", run_dir, "--epochs", 5, timeout=120)
    assert_user_error(proc, "spectrogram", altered.name, "Start a new run")
    assert not list(run_dir.glob("checkpoints/*epoch0005*"))
