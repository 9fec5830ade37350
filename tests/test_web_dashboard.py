"""Dashboard logic without a browser: incremental reads, settings form, training cap and queue."""

from __future__ import annotations

import time

import pytest
from web_helpers import FakeRunner

from sda.server.sessions import TrainingJob, TrainingManager
from sda.training.config import ConfigError
from sda.training.metrics import (
    CheckpointEvent,
    EpochMetrics,
    PreviewEvent,
    StepMetrics,
    TrainingCompleteEvent,
    WarningEvent,
)
from sda.training.metrics_log import MetricsLog
from sda.ui.train import config_form
from sda.ui.train.dashboard import MAX_STEP_POINTS, RunView, format_duration, plain_error


def _epoch(n: int, train: float = 1.0, val: float = 1.1) -> EpochMetrics:
    return EpochMetrics(
        epoch=n, total_epochs=10, train_loss=train, val_loss=val, val_recon_loss=val * 0.9, val_kl_loss=val * 0.1,
        kl_divergence=2.0, overfitting_gap=0.1, learning_rate=1e-3, eta_seconds=30.0, elapsed_seconds=10.0 * n,
        train_recon_loss=train * 0.9, train_kl_loss=train * 0.1, step=n * 4,
    )


def _step(step: int, epoch: int = 1) -> StepMetrics:
    return StepMetrics(epoch, step, 40, 1.0 / step, 0.9, 0.1, 0.01, 1e-3, 0.1, device_memory_gb=0.5)


@pytest.fixture
def log(tmp_path):
    metrics = MetricsLog(tmp_path)
    yield metrics
    metrics.close()


def test_poll_reads_only_new_lines_and_says_what_changed(tmp_path, log):
    view = RunView(tmp_path)
    assert not view.poll().any

    log.append(_step(1))
    log.append(_step(2))
    changes = view.poll()
    assert changes.steps and not changes.epochs
    assert view.next_offset == (tmp_path / "metrics.jsonl").stat().st_size, "read up to the end, no further"

    unchanged = view.poll()
    assert not unchanged.any and not unchanged.steps, "nothing new: nothing to send"

    log.append(_epoch(1))
    log.append(PreviewEvent(1, str(tmp_path / "previews" / "preview_epoch0001_00.wav")))
    changes = view.poll()
    assert changes.epochs and not changes.steps
    assert changes.previews == [str(tmp_path / "previews" / "preview_epoch0001_00.wav")]
    assert view.next_offset == (tmp_path / "metrics.jsonl").stat().st_size
    assert list(view.loss_frame()["series"]) == ["train", "validation"]


def test_frames_have_numeric_columns_even_when_empty(tmp_path):
    view = RunView(tmp_path)
    for frame in (view.loss_frame(), view.step_frame(), view.kl_frame(), view.lr_frame(), view.parts_frame()):
        assert len(frame) == 0
        assert str(frame.iloc[:, 0].dtype) == "int64" and str(frame.iloc[:, 1].dtype) == "float64"


def test_a_long_run_plots_at_most_max_step_points_and_always_the_newest(tmp_path, log):
    for step in range(1, 3 * MAX_STEP_POINTS):
        log.append(_step(step))
    view = RunView(tmp_path)
    view.poll()
    assert len(view.step_points) <= MAX_STEP_POINTS
    assert view.step_points[-1][0] == 3 * MAX_STEP_POINTS - 1, "the newest step is always shown"


def test_a_resume_from_an_earlier_checkpoint_replaces_replayed_epochs(tmp_path, log):
    for n in (1, 2, 3):
        log.append(_epoch(n, train=1.0 / n))
    log.append(_step(20, epoch=4))
    log.append(TrainingCompleteEvent(0.3, 0.4, 0.4, None, 10, 30.0, was_cancelled=True))
    view = RunView(tmp_path)
    view.poll()
    assert view.complete is not None

    log.append(_step(9, epoch=3))  # resumed from the end of epoch 2
    log.append(_epoch(3, train=0.2))
    view.poll()
    assert [m.epoch for m in view.epochs] == [1, 2, 3] and view.epochs[-1].train_loss == 0.2
    assert view.step_points[-1][0] == 9 and all(step <= 9 for step, _ in view.step_points)
    assert view.complete is None, "training again: the old end no longer holds"


def test_warnings_show_the_latest_of_each_kind_newest_first(tmp_path, log):
    view = RunView(tmp_path)
    view.poll()
    assert view.warnings_markdown() == "No warnings so far."
    log.append(WarningEvent(3, "overfitting", "Validation loss is 30% above training loss."))
    log.append(WarningEvent(4, "posterior_collapse", "KL divergence fell to 0.1."))
    log.append(WarningEvent(5, "overfitting", "Epoch 5: Validation loss is 40% above training loss."))
    assert view.poll().warnings
    text = view.warnings_markdown()
    assert text.index("Overfitting") < text.index("Posterior collapse")
    assert "40%" in text and "30%" not in text and "(2 times)" in text
    assert "at epoch 5 (2 times): Validation loss" in text, "no second 'Epoch 5:' in the line"


def test_progress_line_has_epoch_step_time_and_memory(tmp_path, log):
    log.append(_step(7))
    log.append(_epoch(2))
    log.append(CheckpointEvent(2, "x.pt", "manual"))
    view = RunView(tmp_path)
    view.poll()
    text = view.progress_markdown()
    for part in ("Epoch 2 of 10", "step 7 of 40", "trained 20 s", "about 30 s left", "memory 0.50 GB"):
        assert part in text
    assert view.checkpoint.reason == "manual" and len(view.manual_checkpoints) == 1


def test_errors_are_one_plain_line():
    trace = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: Setting \'epochs\' is 0'
    assert plain_error(trace) == "ValueError: Setting 'epochs' is 0"
    assert plain_error("Out of memory\nmore") == "Out of memory"
    assert len(plain_error("x" * 1000)) == 300
    assert format_duration(3725) == "1 h 02 min" and format_duration(75) == "1 min 15 s"


# ------------------------------------------------------------------ settings form
def test_blank_fields_keep_the_preset_and_typed_ones_win():
    config = config_form.build_config(12, "Auto", {"epochs": None, "learning_rate": 0.005})
    assert config.preset == "conservative" and config.max_epochs == 300
    assert config.learning_rate == 0.005
    assert "12 files" in config.preset_reason

    chosen = config_form.build_config(12, "Aggressive", {"epochs": 7.0, "preview_interval": 5})
    assert chosen.preset == "aggressive" and chosen.max_epochs == 7 and isinstance(chosen.max_epochs, int)
    assert chosen.preview_interval == chosen.preview_interval_short == 5


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [("learning_rate", -1, "learning rate"), ("epochs", 2.5, "epochs"), ("dropout", 1.5, "dropout"),
     ("batch_size", 0, "batch size"), ("latent_size", 0, "latent size")],
)
def test_invalid_values_raise_an_error_naming_the_setting(field, value, named):
    with pytest.raises(ConfigError, match=named):
        config_form.build_config(20, "Balanced", {field: value})


def test_test_mode_makes_a_tiny_model_the_user_can_still_override():
    config = config_form.build_config(20, "Auto", {"epochs": 5}, tiny=True)
    assert config.hidden_channels == 32 and config.latent_dim == 8 and config.preview_interval == 1
    assert config.max_epochs == 5


def test_resume_uses_the_checkpoints_config_unless_a_field_is_filled():
    run_config = config_form.build_config(20, "Balanced", {}).to_dict()
    assert config_form.resume_config(run_config, {"epochs": None}) is None
    longer = config_form.resume_config(run_config, {"epochs": 400})
    assert longer.max_epochs == 400 and longer.preset == "balanced"
    with pytest.raises(ConfigError, match="epochs"):
        config_form.resume_config(run_config, {"epochs": 0})


# ----------------------------------------------------------- cap and queue
def _manager(cap: int):
    runners = []

    def factory():
        runners.append(FakeRunner())
        return runners[-1]

    return TrainingManager(max_concurrent=cap, runner_factory=factory, device_resolver=lambda: "cpu"), runners


def test_over_the_cap_a_run_waits_and_then_starts_by_itself(tmp_path):
    manager, runners = _manager(cap=1)
    first, second = tmp_path / "a", tmp_path / "b"
    assert manager.submit(TrainingJob(first, "alice", None, [])) == 0
    assert manager.submit(TrainingJob(second, "bob", None, [])) == 1
    assert manager.phase(first) == "running" and manager.phase(second) == "queued"
    assert manager.queue_position(second) == 1
    assert manager.is_workspace_busy("bob") and manager.is_workspace_busy("alice")

    runners[0].running = False  # the first training ends
    deadline = time.time() + 5
    while manager.phase(second) != "running" and time.time() < deadline:
        time.sleep(0.05)
    assert manager.phase(second) == "running"
    assert not manager.is_workspace_busy("alice")


def test_cancel_a_queued_run_removes_it_and_cancel_a_running_one_stops_it(tmp_path):
    manager, runners = _manager(cap=1)
    first, second = tmp_path / "a", tmp_path / "b"
    manager.submit(TrainingJob(first, "alice", None, []))
    manager.submit(TrainingJob(second, "bob", None, []))
    assert manager.cancel(second) == "dequeued" and manager.phase(second) == "idle"
    assert manager.request_checkpoint(first) and runners[0].saves == 1
    assert manager.cancel(first) == "cancelling" and runners[0].cancelled.is_set()
    assert manager.cancel(first) == "idle"
    assert not manager.request_checkpoint(first)


def test_a_resumed_job_starts_its_runner_from_the_given_checkpoint(tmp_path):
    manager, runners = _manager(cap=2)
    manager.submit(TrainingJob(tmp_path / "a", "alice", None, [], checkpoint_path=tmp_path / "c.pt"))
    assert runners[0].calls == [("resume", tmp_path / "a", tmp_path / "c.pt")]


def test_a_start_that_fails_at_once_is_reported(tmp_path):
    def broken():
        runner = FakeRunner()
        runner.start = lambda *a: (_ for _ in ()).throw(RuntimeError("no device"))
        return runner

    manager = TrainingManager(max_concurrent=1, runner_factory=broken, device_resolver=lambda: "cpu")
    manager.submit(TrainingJob(tmp_path / "a", "alice", None, []))
    assert manager.start_error(tmp_path / "a") == "no device"
    assert manager.phase(tmp_path / "a") == "idle"


def test_default_cap_is_one_on_cpu():
    class Device:
        type = "cpu"

    assert TrainingManager(device_resolver=Device).max_concurrent == 1


def test_typed_text_is_read_as_numbers_and_nonsense_is_named():
    config = config_form.build_config(
        20, "Balanced", {"epochs": " 12 ", "learning_rate": "0,002", "dropout": "", "batch_size": "1e1"}
    )
    assert config.max_epochs == 12 and config.learning_rate == 0.002 and config.batch_size == 10.0
    with pytest.raises(ConfigError, match="learning rate.*'fast'"):
        config_form.build_config(20, "Balanced", {"learning_rate": "fast"})
