"""What a user sees while a model trains: metrics, previews, checkpoints, warnings, data handling, cancel."""

from __future__ import annotations

import json
import math
import time
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from audio_files import texture, write_texture
from helpers import make_tiny_config

from sda.audio.io import load_audio
from sda.audio.spectrogram import AudioSpectrogram
from sda.audio.validation import DatasetError, decode_dataset
from sda.models.losses import get_kl_weight, vae_loss
from sda.models.vae import ConvVAE
from sda.runs.checkpoints import load_checkpoint, read_checkpoint_summary
from sda.runs.folder import from_run_relative, read_run_info
from sda.training import (
    CheckpointEvent,
    EpochMetrics,
    PreviewEvent,
    StepMetrics,
    TrainingCompleteEvent,
    TrainingRunner,
    WarningEvent,
    get_adaptive_config,
    get_effective_preview_interval,
    train,
    train_epoch,
)
from sda.training.config import OverfittingPreset
from sda.training.dataset import AudioTrainingDataset, ChunkLoader, prepare_data, split_files
from sda.training.metrics_log import read_events
from sda.training.monitor import TrainingMonitor

SR = 48000

pytestmark = pytest.mark.usefixtures("fast_previews")


def run_training(config, data, out, **kwargs):
    events: list = []
    result = train(config, [data], out, "cpu", callback=events.append, **kwargs)
    return result, events


def of_type(events, cls):
    return [e for e in events if isinstance(e, cls)]


# ---------------------------------------------------------------------------
# A short run (5 epochs) with real validation: metrics, short-run previews, KL schedule.

@pytest.fixture(scope="module")
def short_run(fast_previews, shared_sound_folder, tmp_path_factory):
    config = make_tiny_config(max_epochs=5, preview_interval=10, preview_interval_short=2,
                              kl_warmup_fraction=0.6, kl_weight_max=0.01, checkpoint_interval=1000)
    out = tmp_path_factory.mktemp("short_run") / "run"
    result, events = run_training(config, shared_sound_folder, out)
    return config, out, result, events


def _assert_finite_fields(event) -> None:
    for f in fields(event):
        value = getattr(event, f.name)
        assert value is not None, f"{type(event).__name__}.{f.name} missing"
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert math.isfinite(value), f"{type(event).__name__}.{f.name} = {value}"


def test_step_metrics_are_complete_finite_and_count_every_step(short_run):
    config, out, result, events = short_run
    steps = of_type(events, StepMetrics)
    train_chunks = read_run_info(out)["dataset"]["train_chunks"]
    per_epoch = -(-train_chunks // config.batch_size)  # every training chunk, every epoch
    assert per_epoch >= 2
    assert len(steps) == per_epoch * config.max_epochs
    assert [s.step for s in steps] == list(range(1, len(steps) + 1)), "global step counts 1, 2, 3, ... across epochs"
    for s in steps:
        _assert_finite_fields(s)
        assert not s.skipped
        assert s.total_steps == len(steps)
        assert s.train_loss > 0 and s.recon_loss > 0 and s.kl_loss >= 0
        assert s.learning_rate > 0 and s.step_time > 0
        assert s.kl_weight == pytest.approx(get_kl_weight(s.epoch - 1, 5, 0.6, 0.01))
        # total = recon + weight * kl, as the loss is defined
        assert s.train_loss == pytest.approx(s.recon_loss + s.kl_weight * s.kl_loss, rel=1e-5)
    assert sorted({s.epoch for s in steps}) == [1, 2, 3, 4, 5]


def test_epoch_metrics_are_complete_finite_and_consistent(short_run):
    config, out, result, events = short_run
    epochs = of_type(events, EpochMetrics)
    assert [e.epoch for e in epochs] == [1, 2, 3, 4, 5]
    steps = of_type(events, StepMetrics)
    for e in epochs:
        _assert_finite_fields(e)
        assert e.total_epochs == 5
        assert e.train_loss > 0 and e.val_loss > 0 and e.val_recon_loss > 0 and e.kl_divergence > 0
        assert e.overfitting_gap == pytest.approx((e.val_loss - e.train_loss) / e.train_loss, rel=1e-6)
        assert e.skipped_steps == 0 and e.chunks_per_second > 0
        assert e.step == max(s.step for s in steps if s.epoch == e.epoch)
        # The epoch's train loss is the mean of its steps.
        assert e.train_loss == pytest.approx(np.mean([s.train_loss for s in steps if s.epoch == e.epoch]), rel=1e-6)
    assert [e.elapsed_seconds for e in epochs] == sorted(e.elapsed_seconds for e in epochs)
    assert epochs[-1].eta_seconds == 0.0 and epochs[0].eta_seconds > 0
    # Cosine schedule: the learning rate only goes down.
    lrs = [e.learning_rate for e in epochs]
    assert all(a > b for a, b in zip(lrs, lrs[1:])) and lrs[0] < config.learning_rate
    # The model learns something in five epochs.
    assert epochs[-1].val_recon_loss < epochs[0].val_recon_loss
    # Everything the callback saw is in metrics.jsonl too, so a UI can re-attach.
    logged, _ = read_events(out)
    assert [e.epoch for e in logged if isinstance(e, EpochMetrics)] == [1, 2, 3, 4, 5]
    assert of_type(logged, EpochMetrics)[-1].val_loss == epochs[-1].val_loss
    assert len(of_type(logged, StepMetrics)) == len(steps)


def test_kl_weight_warms_up_linearly_then_holds(short_run):
    _, _, _, events = short_run
    weights = [e.kl_weight for e in of_type(events, EpochMetrics)]
    # warm-up over 0.6 * 5 = 3 epochs, to 0.01
    assert weights == pytest.approx([0.01 / 3, 0.02 / 3, 0.01, 0.01, 0.01])


def test_get_kl_weight_is_linear_over_the_warmup_fraction():
    w = [get_kl_weight(e, 100, 0.3, 0.5) for e in range(100)]
    assert w[0] == pytest.approx(0.5 / 30)
    assert np.allclose(np.diff(w[:30]), 0.5 / 30)
    assert w[29] == pytest.approx(0.5) and all(x == pytest.approx(0.5) for x in w[29:])
    assert get_kl_weight(0, 10, 0.0, 0.2) == pytest.approx(0.2)  # no warm-up


def test_short_runs_preview_at_the_short_interval(short_run):
    config, out, _, events = short_run
    assert get_effective_preview_interval(config) == 2
    expected = [1, 2, 4, 5]  # first, every 2nd, and last
    previews = of_type(events, PreviewEvent)
    assert sorted({p.epoch for p in previews}) == expected
    for epoch in expected:
        assert (out / "previews" / f"preview_epoch{epoch:04d}_00.wav").is_file()
        assert (out / "previews" / f"recon_epoch{epoch:04d}_00.wav").is_file()
    assert not list((out / "previews").glob("*epoch0003*"))


def test_long_runs_preview_at_the_preview_interval_and_short_runs_at_the_short_one():
    long = make_tiny_config(max_epochs=100, preview_interval=10, preview_interval_short=2)
    short = make_tiny_config(max_epochs=20, preview_interval=10, preview_interval_short=2)
    assert get_effective_preview_interval(long) == 10
    assert get_effective_preview_interval(short) == 2


# ---------------------------------------------------------------------------
# A longer run with scripted validation losses: interval previews, checkpoints, retention.

SCRIPTED_VAL = [5.0, 1.0, 4.0, 3.0, 2.5, 2.4, 2.3, 2.2, 2.1, 2.05, 2.02]  # best at epoch 2


@pytest.fixture(scope="module")
def interval_run(fast_previews, shared_sound_folder, tmp_path_factory):
    import sda.training.loop as loop

    real_validate = loop.validate_epoch
    calls = []

    def scripted_validate(*args, **kwargs):
        val = real_validate(*args, **kwargs)
        loss = SCRIPTED_VAL[len(calls)]
        calls.append(loss)
        return {**val, "val_loss": loss}

    config = make_tiny_config(max_epochs=11, checkpoint_interval=2, keep_checkpoints=3,
                              preview_interval=2, preview_interval_short=1)
    out = tmp_path_factory.mktemp("interval_run") / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop, "validate_epoch", scripted_validate)
        result, events = run_training(config, shared_sound_folder, out)
    assert len(calls) == 11
    return config, out, result, events


def test_long_runs_preview_every_n_epochs(interval_run):
    config, out, _, events = interval_run
    assert get_effective_preview_interval(config) == 2
    expected = [1, 2, 4, 6, 8, 10, 11]
    assert sorted({p.epoch for p in of_type(events, PreviewEvent)}) == expected
    for epoch in expected:
        sample = out / "previews" / f"preview_epoch{epoch:04d}_00.wav"
        info = sf.info(str(sample))
        assert info.samplerate == SR and info.frames == 2 * SR
        audio, _ = sf.read(str(sample))
        assert np.isfinite(audio).all()
        recon = out / "previews" / f"recon_epoch{epoch:04d}_00.wav"
        assert sf.info(str(recon)).frames == SR
    assert not list((out / "previews").glob("*epoch0003*"))


def test_checkpoints_every_n_epochs_keep_three_recent_plus_best(interval_run):
    config, out, result, events = interval_run
    saved = of_type(events, CheckpointEvent)
    assert [(c.epoch, c.reason) for c in saved] == [(2, "interval"), (4, "interval"), (6, "interval"),
                                                    (8, "interval"), (10, "interval"), (11, "final")]
    ckpt_dir = out / "checkpoints"
    on_disk = sorted(p.name for p in ckpt_dir.glob("*.pt"))
    assert on_disk == [f"checkpoint_epoch{e:04d}.pt" for e in (2, 8, 10, 11)], "3 most recent + the best (epoch 2)"
    sidecars = sorted(p.name for p in ckpt_dir.glob("*.meta.json"))
    assert sidecars == [f"checkpoint_epoch{e:04d}.meta.json" for e in (2, 8, 10, 11)], (
        "deleted checkpoints lose their sidecar too"
    )
    for epoch in (2, 8, 10, 11):
        meta = json.loads((ckpt_dir / f"checkpoint_epoch{epoch:04d}.meta.json").read_text())
        assert meta["epoch"] == epoch and meta["mid_epoch"] is False
        assert meta["val_loss"] == SCRIPTED_VAL[epoch - 1]
        assert meta["reason"] == ("final" if epoch == 11 else "interval")
        assert math.isfinite(meta["train_loss"]) and meta["elapsed_seconds"] > 0
        assert meta["file"] == f"checkpoint_epoch{epoch:04d}.pt"
        state = load_checkpoint(ckpt_dir / meta["file"])
        assert state["epoch"] == epoch
    best = ckpt_dir / "checkpoint_epoch0002.pt"
    assert Path(result["best_checkpoint_path"]) == best
    assert from_run_relative(out, read_run_info(out)["best_checkpoint"]) == best  # stored relative to the run
    complete = of_type(events, TrainingCompleteEvent)[-1]
    assert Path(complete.best_checkpoint_path) == best and complete.best_val_loss == 1.0
    assert not complete.was_cancelled and complete.epochs_completed == 11
    assert read_run_info(out)["status"] == "completed"


# ---------------------------------------------------------------------------
# NaN / inf losses and gradient clipping.

def _tiny_parts(chunks: int = 8, batch_size: int = 4, seed: int = 0):
    """A tiny model and a loader of normalised log-mel chunks (what training steps consume)."""
    spectrogram = AudioSpectrogram()
    clips = [texture(1.0, SR, seed=s).astype(np.float32) * (0.2 + 0.1 * s) for s in range(chunks)]
    dbs = [spectrogram.waveform_to_db(torch.from_numpy(c)) for c in clips]
    spectrogram.fit_normalization_db(dbs)
    mels = [spectrogram.normalize_(db) for db in dbs]
    dataset = AudioTrainingDataset(mels, spectrogram.config.frames_for(SR))
    loader = ChunkLoader(dataset, batch_size, shuffle=False)
    torch.manual_seed(seed)
    model = ConvVAE(latent_dim=8, dropout=0.0, n_mels=128, hidden_channels=32)
    return model, loader, spectrogram


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def test_nan_and_inf_losses_skip_the_update_and_leave_weights_untouched(monkeypatch):
    import sda.training.epoch as epoch_module

    model, loader, spectrogram = _tiny_parts()
    before = _params(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    bad = iter([float("nan"), float("inf")])

    def poisoned(*args, **kwargs):
        total, recon, kl = vae_loss(*args, **kwargs)
        return total * next(bad), recon, kl

    monkeypatch.setattr(epoch_module, "vae_loss", poisoned)
    seen = []
    result = train_epoch(model, loader, optimizer, spectrogram, 0.01, torch.device("cpu"), 1.0, callback=seen.append)
    assert len(seen) == 2 and all(s.skipped for s in seen)
    assert result["skipped_steps"] == 2 and not result["interrupted"]
    for a, b in zip(before, model.parameters()):
        assert torch.equal(a, b), "a skipped step must not change the weights"
    assert not optimizer.state, "no optimizer step was taken"


def test_non_finite_gradients_skip_the_update(monkeypatch):
    import sda.training.epoch as epoch_module

    model, loader, spectrogram = _tiny_parts(chunks=4)
    before = _params(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)

    def nan_gradient(recon, target, mu, logvar, *args, **kwargs):
        total, r, k = vae_loss(recon, target, mu, logvar, *args, **kwargs)
        # sqrt at 0: the value stays finite (0) but the gradient is NaN.
        return total + torch.sqrt(mu.sum() * 0.0), r, k

    monkeypatch.setattr(epoch_module, "vae_loss", nan_gradient)
    seen = []
    train_epoch(model, loader, optimizer, spectrogram, 0.01, torch.device("cpu"), 1.0, callback=seen.append)
    assert seen and all(s.skipped for s in seen) and all(math.isfinite(s.train_loss) for s in seen)
    for a, b in zip(before, model.parameters()):
        assert torch.equal(a, b)
        assert torch.isfinite(b).all()


def test_nan_steps_during_training_are_counted_warned_and_survived(shared_sound_folder, tmp_path, monkeypatch):
    import sda.training.epoch as epoch_module

    calls = {"n": 0}

    def sometimes_nan(*args, **kwargs):
        total, recon, kl = vae_loss(*args, **kwargs)
        if torch.is_grad_enabled():  # training steps only, not validation
            calls["n"] += 1
            if calls["n"] in (2, 4):
                total = total * float("nan")
        return total, recon, kl

    monkeypatch.setattr(epoch_module, "vae_loss", sometimes_nan)
    config = make_tiny_config(max_epochs=2)
    result, events = run_training(config, shared_sound_folder, tmp_path / "run")
    steps = of_type(events, StepMetrics)
    assert [s.step for s in steps if s.skipped] == [2, 4]
    epochs = of_type(events, EpochMetrics)
    per_epoch = {e.epoch: sum(1 for s in steps if s.skipped and s.epoch == e.epoch) for e in epochs}
    assert [e.skipped_steps for e in epochs] == [per_epoch[1], per_epoch[2]] and sum(per_epoch.values()) == 2
    for e in epochs:
        assert math.isfinite(e.train_loss) and math.isfinite(e.val_loss)
        # Skipped steps are left out of the epoch's average.
        good = [s.train_loss for s in steps if s.epoch == e.epoch and not s.skipped]
        assert e.train_loss == pytest.approx(np.mean(good), rel=1e-6)
    warnings = [w for w in of_type(events, WarningEvent) if w.kind == "nan_skipped"]
    assert sorted(w.epoch for w in warnings) == sorted(e for e, n in per_epoch.items() if n)
    assert result["epochs_completed"] == 2 and read_run_info(tmp_path / "run")["status"] == "completed"
    for p in result["model"].parameters():
        assert torch.isfinite(p).all()


def test_gradient_clipping_limits_the_update():
    def update_norm(clip: float) -> float:
        model, loader, spectrogram = _tiny_parts(chunks=4, batch_size=4)
        before = _params(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=1.0)  # update = clipped gradient
        train_epoch(model, loader, optimizer, spectrogram, 0.01, torch.device("cpu"), clip)
        return float(torch.sqrt(sum(((a - b.detach()) ** 2).sum() for a, b in zip(before, model.parameters()))))

    unclipped = update_norm(1e9)
    assert unclipped > 1e-2
    assert update_norm(1e-3) == pytest.approx(1e-3, rel=1e-3)


# ---------------------------------------------------------------------------
# Free bits.

def test_free_bits_floor_the_kl_term_per_channel():
    torch.manual_seed(0)
    batch, channels, frames, n_mels, mel_frames = 2, 8, 24, 128, 94
    target = torch.randn(batch, n_mels, mel_frames)
    recon = target.clone()
    floor = 0.25 * channels * frames / (n_mels * mel_frames)
    # A collapsed posterior (q = prior): KL 0 nats, but each channel counts free_bits.
    mu = torch.zeros(batch, channels, frames, requires_grad=True)
    logvar = torch.zeros(batch, channels, frames, requires_grad=True)
    total, recon_loss, kl = vae_loss(recon, target, mu, logvar, 1.0, free_bits=0.25)
    assert kl.item() == pytest.approx(floor)
    total.backward()
    assert mu.grad.abs().max() == 0 and logvar.grad.abs().max() == 0, "nothing to gain below the floor"
    _, _, kl_none = vae_loss(recon, target, mu, logvar, 1.0, free_bits=0.0)
    assert kl_none.item() == 0.0
    # Random posteriors: never below the floor; above it, the raw KL counts.
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        mu_r = torch.randn(batch, channels, frames, generator=g) * (seed / 2)
        lv_r = torch.randn(batch, channels, frames, generator=g) * 0.1
        _, _, kl_fb = vae_loss(recon, target, mu_r, lv_r, 1.0, free_bits=0.25)
        _, _, kl_raw = vae_loss(recon, target, mu_r, lv_r, 1.0, free_bits=0.0)
        assert kl_fb.item() >= floor - 1e-9 and kl_fb.item() >= kl_raw.item() - 1e-9
    big_mu = torch.full((batch, channels, frames), 3.0)
    _, _, kl_big = vae_loss(recon, target, big_mu, torch.zeros_like(big_mu), 1.0, free_bits=0.25)
    _, _, kl_big_raw = vae_loss(recon, target, big_mu, torch.zeros_like(big_mu), 1.0, free_bits=0.0)
    assert kl_big.item() == pytest.approx(kl_big_raw.item())


# ---------------------------------------------------------------------------
# Presets from the file count.

@pytest.mark.parametrize("count, preset", [(5, "conservative"), (60, "balanced"), (300, "aggressive")])
def test_preset_is_chosen_from_the_file_count_with_a_reason(count, preset):
    config = get_adaptive_config(count)
    assert config.preset == preset
    assert str(count) in config.preset_reason and preset.capitalize() in config.preset_reason
    assert get_adaptive_config(count, "auto").preset == preset
    config.validate()


def test_presets_protect_small_datasets_more_and_validation_adapts():
    small, medium, large = (get_adaptive_config(n) for n in (5, 60, 300))
    assert small.regularization.dropout > medium.regularization.dropout > large.regularization.dropout
    assert small.regularization.augmentation_expansion > large.regularization.augmentation_expansion
    assert small.val_fraction >= medium.val_fraction > large.val_fraction
    # Even 5 files keep one out for validation; 300 files do not give up 60 of them.
    train_files, val_files = split_files([f"f{i}.wav" for i in range(5)], small.val_fraction, small.seed)
    assert len(val_files) == 1 and len(train_files) == 4
    _, val_large = split_files([f"f{i}.wav" for i in range(300)], large.val_fraction, large.seed)
    assert len(val_large) == 30
    chosen = get_adaptive_config(300, OverfittingPreset.CONSERVATIVE)
    assert chosen.preset == "conservative" and chosen.val_fraction == large.val_fraction


# ---------------------------------------------------------------------------
# File-level split, chunking, augmentation.

def prepare(inputs, config):
    """The training data exactly as train() builds it, with the spectrogram it was measured with."""
    spectrogram = AudioSpectrogram()
    return prepare_data(inputs, config, spectrogram), spectrogram


def mel_of(spectrogram, audio: np.ndarray) -> torch.Tensor:
    """Normalised log-mel of ``audio`` padded to at least one second (how a clip enters training)."""
    audio = np.pad(audio, (0, max(0, SR - len(audio)))).astype(np.float32)
    return (spectrogram.waveform_to_db(torch.from_numpy(audio)) - spectrogram.mean) / spectrogram.std


def chunk_frames() -> int:
    return AudioSpectrogram().config.frames_for(SR)  # 1 s of audio = 94 frames at hop 512


def test_validation_files_never_train_and_the_split_repeats(short_run, shared_sound_folder, tmp_path):
    config, out, _, _ = short_run
    manifest = read_run_info(out)["dataset"]
    split = {Path(f["path"]).name: f["split"] for f in manifest["files"]}
    assert len(split) == 6 and "val" in split.values() and "train" in split.values()

    data, spectrogram = prepare([shared_sound_folder], config)
    assert {Path(p).name for p in data.val_files} == {n for n, s in split.items() if s == "val"}
    expected = {p.name: mel_of(spectrogram, load_audio(p).audio) for p in sorted(shared_sound_folder.iterdir())}

    def source_of(mel: torch.Tensor) -> str:
        matches = [n for n, m in expected.items() if m.shape == mel.shape and torch.allclose(m, mel, atol=1e-4)]
        assert len(matches) == 1, matches
        return matches[0]

    train_sources = [source_of(m) for m in data.train_loader.dataset.mels]
    val_sources = [source_of(m) for m in data.val_loader.dataset.mels]
    assert sorted(train_sources) == sorted(n for n, s in split.items() if s == "train")
    assert sorted(val_sources) == sorted(n for n, s in split.items() if s == "val")
    assert not set(train_sources) & set(val_sources), "a validation file never contributes a training chunk"
    assert manifest["train_chunks"] == len(data.train_loader.dataset)
    assert manifest["val_chunks"] == len(data.val_loader.dataset)

    # A second run on the same files splits them the same way.
    run_training(make_tiny_config(max_epochs=1), shared_sound_folder, tmp_path / "again")
    again = {Path(f["path"]).name: f["split"] for f in read_run_info(tmp_path / "again")["dataset"]["files"]}
    assert again == split
    # The order the files are given in does not matter either.
    names = [str(shared_sound_folder / n) for n in split]
    assert split_files(names, 0.2, 1234) == split_files(list(reversed(names)), 0.2, 1234)


def test_chunk_windows_short_clips_padded_long_clips_cut_to_the_end():
    frames = chunk_frames()
    short = torch.randn(128, frames)  # a padded short clip is exactly one chunk long
    long = torch.randn(128, int(2.5 * frames))
    exact = torch.randn(128, 2 * frames)
    ds = AudioTrainingDataset([short, long, exact], frames)
    assert len(ds) == 1 + 3 + 2
    chunks = [ds[i] for i in range(len(ds))]
    assert all(c.shape == (128, frames) for c in chunks)
    assert torch.equal(chunks[0], short)
    assert torch.equal(chunks[1], long[:, :frames]) and torch.equal(chunks[2], long[:, frames: 2 * frames])
    assert torch.equal(chunks[3], long[:, -frames:]), "the last chunk is aligned to the end of the clip"
    assert torch.equal(chunks[4], exact[:, :frames]) and torch.equal(chunks[5], exact[:, frames:])


def test_files_on_disk_become_one_second_chunks_of_mono_48k(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    t = np.arange(int(2.5 * SR)) / SR
    left, right = 0.4 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 700 * t)
    sf.write(str(folder / "stereo_long.wav"), np.stack([left, right], axis=1), SR, subtype="FLOAT")
    write_texture(folder / "short_44k.wav", seconds=0.3, sr=44100, seed=5)
    data, spectrogram = prepare([folder], make_tiny_config(val_fraction=0.0, augmentation_strength=0.0))
    assert data.val_files == [] and len(data.train_files) == 2
    stereo, short = load_audio(folder / "stereo_long.wav").audio, load_audio(folder / "short_44k.wav").audio
    assert stereo.ndim == 1
    np.testing.assert_allclose(stereo, ((left + right) / 2).astype(np.float32), atol=1e-6)
    assert len(short) == int(0.3 * SR)

    frames = chunk_frames()
    ds = data.train_loader.dataset
    assert len(ds) == 3 + 1, "2.5 s -> 3 chunks, 0.3 s -> 1 padded chunk"
    chunks = [ds[i] for i in range(len(ds))]
    long_mel = mel_of(spectrogram, stereo)
    short_mel = mel_of(spectrogram, short)
    for want in (long_mel[:, :frames], long_mel[:, frames: 2 * frames], long_mel[:, -frames:], short_mel):
        assert sum(torch.allclose(c, want, atol=1e-4) for c in chunks) == 1
    # The padding after a short sound is silence (the floor), not noise or a repeat.
    tail = short_mel[:, -30:]
    silence = (spectrogram.config.db_floor - spectrogram.mean) / spectrogram.std
    assert torch.allclose(tail, torch.full_like(tail, silence), atol=1e-4)


def test_augmentation_applies_to_training_batches_only(shared_sound_folder):
    config = make_tiny_config(batch_size=4, augmentation_strength=0.8)
    data, _ = prepare([shared_sound_folder], config)
    train_loader, val_loader = data.train_loader, data.val_loader
    assert train_loader.augmentation is not None and val_loader.augmentation is None

    # Validation batches are the chunks exactly as they are.
    val_batches = torch.cat(list(val_loader))
    assert torch.equal(val_batches, val_loader.dataset.batch(torch.arange(len(val_loader.dataset))))

    train_loader.set_epoch(0)
    augmented = list(train_loader)
    pipeline, train_loader.augmentation = train_loader.augmentation, None
    raw = list(train_loader)
    train_loader.augmentation = pipeline
    assert len(raw) == len(augmented) >= 2
    for a, r in zip(augmented, raw):
        assert a.shape == r.shape
        assert not torch.allclose(a, r), "training batches are augmented"
    # Each epoch is augmented differently; the same epoch repeats exactly (for resume).
    train_loader.set_epoch(1)
    epoch1 = list(train_loader)
    train_loader.set_epoch(0)
    assert all(torch.equal(a, b) for a, b in zip(augmented, list(train_loader)))
    assert not all(torch.equal(a, b) for a, b in zip(augmented, epoch1))

    off, _ = prepare([shared_sound_folder], make_tiny_config(batch_size=4, augmentation_strength=0.0))
    assert off.train_loader.augmentation is None
    off.train_loader.set_epoch(0)
    for batch, r in zip(off.train_loader, raw):
        assert torch.equal(batch, r), "strength 0 leaves training batches as they are"


def test_a_decoded_dataset_can_train_twice(shared_sound_folder, tmp_path):
    """Decode once, train twice (e.g. start, then resume or retrain): both runs see the same audio."""
    decoded = decode_dataset([shared_sound_folder])
    config = make_tiny_config(max_epochs=1)
    torch.manual_seed(0)  # train() leaves the initial weights to the global RNG
    first, _ = run_training(config, shared_sound_folder, tmp_path / "one", decoded=decoded)
    torch.manual_seed(0)
    second, _ = run_training(make_tiny_config(max_epochs=1), shared_sound_folder, tmp_path / "two", decoded=decoded)
    one, two = (read_run_info(tmp_path / name)["dataset"] for name in ("one", "two"))
    assert (two["train_chunks"], two["val_chunks"]) == (one["train_chunks"], one["val_chunks"])
    loss_one = first["metrics_history"].epoch_metrics[-1].train_loss
    loss_two = second["metrics_history"].epoch_metrics[-1].train_loss
    assert loss_two == pytest.approx(loss_one, rel=1e-6)


# ---------------------------------------------------------------------------
# Cancel, save-now, errors (through the runner, as the UI and CLI use it).

def test_cancel_saves_a_mid_epoch_checkpoint_at_once(sound_folder, tmp_path):
    runner = TrainingRunner()
    events, stamps = [], {}

    def on_event(event):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step == 3 and "cancel" not in stamps:
            stamps["cancel"] = time.monotonic()
            runner.cancel()

    config = make_tiny_config(batch_size=1, max_epochs=50)
    out = tmp_path / "run"
    runner.start(config, [sound_folder], out, "cpu", callback=on_event)
    assert runner.wait(timeout=60)
    stopped = time.monotonic()
    assert runner.last_error() is None and not runner.is_running()
    assert stopped - stamps["cancel"] < 3.0, "cancel stops training within a couple of seconds"

    steps = of_type(events, StepMetrics)
    assert max(s.step for s in steps) == 3 and {s.epoch for s in steps} == {1}, "stopped mid-epoch, not at its end"
    assert not of_type(events, EpochMetrics)
    saved = of_type(events, CheckpointEvent)
    assert [c.reason for c in saved] == ["cancel"]
    path = Path(saved[0].path)
    assert path.is_file()
    meta = read_checkpoint_summary(path)
    assert meta["mid_epoch"] is True and meta["step"] == 3 and meta["epoch"] == 0 and meta["reason"] == "cancel"
    assert meta["val_loss"] is None
    state = load_checkpoint(path)
    assert state["step"] == 3 and state["epoch_progress"]["batches_done"] == 3
    complete = of_type(events, TrainingCompleteEvent)[-1]
    assert complete.was_cancelled and Path(complete.last_checkpoint_path) == path
    assert runner.result()["was_cancelled"]
    assert read_run_info(out)["status"] == "cancelled"


def test_save_now_writes_a_checkpoint_and_training_goes_on(sound_folder, tmp_path):
    runner = TrainingRunner()
    events = []

    def on_event(event):
        events.append(event)
        if isinstance(event, StepMetrics) and event.step == 2:
            runner.request_checkpoint()

    config = make_tiny_config(batch_size=1, max_epochs=2)
    out = tmp_path / "run"
    runner.start(config, [sound_folder], out, "cpu", callback=on_event)
    assert runner.wait(timeout=60) and runner.last_error() is None
    saved = of_type(events, CheckpointEvent)
    assert [c.reason for c in saved] == ["manual", "final"]
    manual = Path(saved[0].path)
    assert manual.is_file()
    meta = read_checkpoint_summary(manual)
    assert meta["reason"] == "manual" and meta["mid_epoch"] is True and meta["step"] == 2
    assert load_checkpoint(manual)["step"] == 2
    steps = of_type(events, StepMetrics)
    assert [s.step for s in steps] == list(range(1, len(steps) + 1)), "no step lost or repeated around the save"
    assert [e.epoch for e in of_type(events, EpochMetrics)] == [1, 2]
    result = runner.result()
    assert not result["was_cancelled"] and result["epochs_completed"] == 2
    assert read_run_info(out)["status"] == "completed"


@pytest.mark.parametrize("kind", ["missing folder", "only bad files"])
def test_runner_reports_a_bad_dataset_as_last_error(tmp_path, kind):
    if kind == "missing folder":
        data = tmp_path / "does_not_exist"
    else:
        data = tmp_path / "bad"
        data.mkdir()
        (data / "empty.wav").write_bytes(b"")
        (data / "lyrics.wav").write_text("not audio\n" * 50)
    runner = TrainingRunner()
    events = []
    out = tmp_path / "run"
    runner.start(make_tiny_config(), [data], out, "cpu", callback=events.append)
    assert runner.wait(timeout=30)
    assert not runner.is_running()
    error = runner.last_error()
    assert isinstance(error, DatasetError)
    # The message names what is wrong: the missing folder, or each unusable file.
    if kind == "missing folder":
        assert str(data) in str(error)
    else:
        assert "empty.wav" in str(error) and "lyrics.wav" in str(error)
    complete = of_type(events, TrainingCompleteEvent)
    assert complete and complete[-1].error
    info = read_run_info(out)
    assert info["status"] == "failed" and info["error"]
    # The runner can be used again afterwards.
    runner.start(make_tiny_config(max_epochs=1), [data], tmp_path / "run2", "cpu")
    assert runner.wait(timeout=30) and isinstance(runner.last_error(), DatasetError)


# ---------------------------------------------------------------------------
# Warnings: overfitting only when it means something; posterior collapse.

def _epoch(epoch, train, val, kl=5.0, skipped=0):
    return EpochMetrics(epoch=epoch, total_epochs=100, train_loss=train, val_loss=val, val_recon_loss=val,
                        val_kl_loss=0.0, kl_divergence=kl, overfitting_gap=(val - train) / train,
                        learning_rate=1e-3, eta_seconds=1.0, elapsed_seconds=1.0, skipped_steps=skipped)


def _kinds(warnings):
    return [w.kind for w in warnings]


def test_no_overfitting_warning_during_kl_warmup():
    monitor = TrainingMonitor()
    # Val 50 % above train and getting worse, but the KL weight is still rising.
    for epoch in range(1, 20):
        assert "overfitting" not in _kinds(monitor.check(_epoch(epoch, 1.0, 1.5 + 0.01 * epoch), warmup_over=False))


def test_no_overfitting_warning_while_validation_loss_still_falls():
    monitor = TrainingMonitor()
    for epoch in range(1, 30):
        val = 3.0 - 0.05 * epoch  # a large gap, but the validation loss keeps improving
        assert "overfitting" not in _kinds(monitor.check(_epoch(epoch, 1.0, val), warmup_over=True))


def test_overfitting_warning_when_gap_is_large_and_validation_stalls():
    monitor = TrainingMonitor()
    fired = []
    for epoch in range(1, 12):
        val = 2.0 - 0.1 * epoch if epoch <= 5 else 1.6  # improves, then stalls 50 %+ above train
        fired += [(epoch, w.kind) for w in monitor.check(_epoch(epoch, 1.0, val), warmup_over=True)]
    over = [e for e, k in fired if k == "overfitting"]
    assert over and over[0] == 8, fired  # 3 epochs without a new best (6, 7, 8)
    assert len(over) == 1, "not repeated every epoch"
    # A small gap never warns, however long the plateau.
    calm = TrainingMonitor()
    for epoch in range(1, 15):
        assert "overfitting" not in _kinds(calm.check(_epoch(epoch, 1.0, 1.1), warmup_over=True))


def test_posterior_collapse_warning_below_half_a_nat():
    monitor = TrainingMonitor()
    assert "posterior_collapse" not in _kinds(monitor.check(_epoch(1, 1.0, 1.0, kl=0.6), warmup_over=False))
    warnings = monitor.check(_epoch(2, 1.0, 1.0, kl=0.3), warmup_over=False)
    assert "posterior_collapse" in _kinds(warnings)
    message = [w for w in warnings if w.kind == "posterior_collapse"][0].message
    assert "0.30" in message and "latent" in message
    nan_warn = monitor.check(_epoch(3, 1.0, 1.0, kl=2.0, skipped=2), warmup_over=False)
    assert _kinds(nan_warn) == ["nan_skipped"] and "2 step" in nan_warn[0].message


def test_a_long_first_epoch_still_gives_an_early_preview_without_changing_training(
    shared_sound_folder, tmp_path, monkeypatch
):
    """A large dataset's first epoch can take minutes: the user hears a preview after a few seconds anyway,
    and pausing for it changes nothing in what the model learns."""
    import sda.training.loop as loop

    config = make_tiny_config(max_epochs=2, batch_size=1, precision="fp32", preview_interval=10)
    _, plain = run_training(config, shared_sound_folder, tmp_path / "plain")

    monkeypatch.setattr(loop, "EARLY_PREVIEW_SECONDS", 0.0)  # due at the first step: "long" for this tiny set
    _, early = run_training(make_tiny_config(max_epochs=2, batch_size=1, precision="fp32", preview_interval=10),
                         shared_sound_folder, tmp_path / "early")
    previews = of_type(early, PreviewEvent)
    assert previews and previews[0].epoch == 0, "the first preview comes before epoch 1 ends"
    assert Path(previews[0].audio_path).is_file()
    first_epoch_end = next(i for i, e in enumerate(early) if isinstance(e, EpochMetrics))
    assert early.index(previews[0]) < first_epoch_end
    assert not [e for e in of_type(plain, PreviewEvent) if e.epoch == 0], "no early preview when the epoch is short"
    losses = lambda events: [(e.train_loss, e.val_loss) for e in of_type(events, EpochMetrics)]  # noqa: E731
    assert losses(early) == losses(plain)
