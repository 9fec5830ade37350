"""The training orchestrator: data, model, epochs, previews, checkpoints, events.

``train()`` is the entry point. It owns the run directory (run.json,
metrics.jsonl, checkpoints/, previews/) and reports everything through one
callback. Cancel saves a checkpoint at once, mid-epoch if need be; resume
restores model, optimizer, scheduler, KL schedule, history, epoch and step.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from sda.audio.spectrogram import AudioSpectrogram, SpectrogramConfig
from sda.audio.validation import DatasetError, DurationLimits, require_usable
from sda.generation.run_analysis import analyse_finished_run
from sda.models.build import build_vae, vae_architecture
from sda.models.losses import get_kl_weight, is_warmup_over
from sda.runs import folder as rundir
from sda.runs.device import choose_dtype, device_memory_gb, resolve_device
from sda.training.checkpoint import (
    check_compatible,
    checkpoint_name,
    get_best_checkpoint,
    get_latest_checkpoint,
    load_checkpoint,
    manage_checkpoints,
    resolve_checkpoint,
    save_checkpoint,
)
from sda.training.config import TrainingConfig, get_effective_preview_interval
from sda.training.dataset import prepare_data
from sda.training.epoch import EpochProgress, StepContext, overfitting_gap, train_epoch, validate_epoch
from sda.training.inversion_phase import inversion_budget, learn_inversion
from sda.training.metrics import (
    CheckpointEvent,
    EpochMetrics,
    MetricsHistory,
    PreviewEvent,
    StatusEvent,
    TrainingCompleteEvent,
    WarningEvent,
)
from sda.training.metrics_log import MetricsLog
from sda.training.monitor import TrainingMonitor
from sda.training.preview import generate_preview, generate_reconstruction_preview

__all__ = ["train", "train_epoch", "validate_epoch"]

EARLY_PREVIEW_SECONDS = 4.0  # first preview this soon after training starts, even mid-epoch


class TrainingSession:
    """One call of ``train()``: set up, run epochs, and always leave a consistent run directory."""

    def __init__(self, config: TrainingConfig | None, file_paths, output_dir: Path, device="cpu",
                 callback: Callable[[Any], None] | None = None, cancel_event: threading.Event | None = None,
                 resume_checkpoint: Path | None = None, save_event: threading.Event | None = None, decoded=None,
                 release_audio: bool | None = None, limits: DurationLimits = DurationLimits()) -> None:
        self.output_dir = Path(output_dir)
        self.device = resolve_device(device)
        self.callback = callback
        self.cancel_event = cancel_event or threading.Event()
        self.save_event = save_event or threading.Event()
        self.file_paths = [Path(p).absolute() for p in ([file_paths] if isinstance(file_paths, (str, Path))
                                                        else file_paths)]
        self.decoded = decoded
        self.release_audio = release_audio
        self.limits = limits
        self.resume_state: dict | None = None
        self.resume_path: Path | None = None
        if resume_checkpoint is not None:
            self.resume_path = resolve_checkpoint(Path(resume_checkpoint))
            self.resume_state = load_checkpoint(self.resume_path)
            if config is None:
                config = TrainingConfig.from_dict(self.resume_state["config"])
        if config is None:
            raise ValueError("A TrainingConfig is needed to start training (or a checkpoint to resume).")
        config.validate()
        self.config = config
        self.spec_config = SpectrogramConfig()
        self.history = MetricsHistory()
        self.log: MetricsLog | None = None
        self.monitor = TrainingMonitor()
        self.last_checkpoint: Path | None = None

    # -- events ------------------------------------------------------------
    def emit(self, event: Any) -> None:
        self.history.add(event)
        if self.log is not None:
            self.log.append(event)
        if self.callback is not None:
            self.callback(event)

    def _progress(self, phase: str, fraction: float, message: str) -> None:
        self.emit(StatusEvent(phase=phase, message=message, progress=fraction))

    # -- setup -------------------------------------------------------------
    def _setup(self) -> None:
        config, out = self.config, self.output_dir
        (out / rundir.CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        (out / rundir.PREVIEW_DIR).mkdir(parents=True, exist_ok=True)
        self.log = MetricsLog(out)
        info = rundir.read_run_info(out)
        self.dtype = choose_dtype(self.device, config.precision)
        rundir.update_run_info(
            out, run_id=out.name, created_at=info.get("created_at", time.time()), status="preparing",
            config=config.to_dict(), device=str(self.device), dtype=str(self.dtype).replace("torch.", ""),
            error=None, epochs_done=info.get("epochs_done", 0),
        )
        if self.resume_state is not None:
            where = f"{self.resume_path.name} (epoch {self.resume_state['epoch']})"
            self.emit(StatusEvent("resuming", f"Resuming from {where}."))

        with torch.random.fork_rng(devices=[]):  # the same seed gives the same starting weights
            torch.manual_seed(config.seed)
            architecture = vae_architecture(config.latent_dim, self.spec_config.n_mels, config.hidden_channels)
            self.model = build_vae(architecture, config.regularization.dropout)
        self.model.to(self.device)
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.learning_rate,
                                           weight_decay=config.regularization.weight_decay,
                                           fused=self.device.type in ("cpu", "cuda"))
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=config.max_epochs,
                                                                    eta_min=config.learning_rate * 0.05)
        self.start_epoch, self.step, self.elapsed_before = 0, 0, 0.0
        self.partial = EpochProgress()
        state = self.resume_state
        if state is not None:
            check_compatible(state, self.model.architecture(), self.spec_config, self.resume_path)
            self.model.load_state_dict(state["model_state"])
            self.optimizer.load_state_dict(state["optimizer_state"])
            self.scheduler.load_state_dict(state["scheduler_state"])
            self.scheduler.T_max = config.max_epochs  # the user may have extended the run
            self.history.load_state_dict(state.get("metrics_history", {}), self.output_dir)
            self.monitor.load_state_dict(state.get("warning_state", {}))
            self.start_epoch, self.step = int(state["epoch"]), int(state["step"])
            self.elapsed_before = float(state.get("elapsed_seconds", 0.0))
            self.partial = EpochProgress.from_state(state.get("epoch_progress"))
        self.spectrogram = AudioSpectrogram(self.spec_config, self.device)
        normalization = self.resume_state["normalization"] if self.resume_state is not None else None
        self.data = prepare_data(self.file_paths, config, self.spectrogram, progress=self._progress,
                                 decoded=self.decoded, normalization=normalization, release_audio=self.release_audio,
                                 limits=self.limits)
        source = self.file_paths[0] if len(self.file_paths) == 1 else "the dataset"
        require_usable(self.data.decoded, str(source))
        for issue in self.data.issues:
            self.emit(WarningEvent(0, "file_skipped", f"Skipped {Path(issue.path).name}: {issue.reason}"))
        if len(self.data.train_loader.dataset) == 0:
            raise DatasetError("No training audio is left after the validation split. Add more files.")
        manifest = self.data.manifest()
        for entry in manifest["files"] + manifest["issues"]:
            entry["path"] = rundir.to_run_relative(out, entry["path"])
        inputs = [rundir.to_run_relative(out, p) for p in self.file_paths]
        rundir.update_run_info(out, dataset=manifest, data_inputs=inputs)

        self.recon_examples = self.data.preview_audio

    # -- checkpoints -------------------------------------------------------
    def _save(self, epochs_done: int, reason: str, val_loss: float | None, train_loss: float | None) -> Path:
        mid_epoch = self.partial.batches_done > 0
        path = self.output_dir / rundir.CHECKPOINT_DIR / checkpoint_name(epochs_done, self.step if mid_epoch else None)
        if not mid_epoch and path.exists() and reason in ("cancel", "manual"):
            # Same epoch boundary, same state: the checkpoint already on disk is this one.
            self.last_checkpoint = path
            self.emit(CheckpointEvent(epochs_done, str(path), reason))
            return path
        elapsed = self.elapsed_before + (time.time() - self.session_start)
        state = {
            "model_state": self.model.state_dict(),
            "model_architecture": self.model.architecture(),
            "optimizer_state": self.optimizer.state_dict(),
            "scheduler_state": self.scheduler.state_dict(),
            "epoch": epochs_done,
            "step": self.step,
            "epoch_progress": self.partial.state_dict(),
            "kl_weight": get_kl_weight(max(epochs_done - 1, 0), self.config.max_epochs,
                                       self.config.kl_warmup_fraction, self.config.kl_weight_max),
            "config": self.config.to_dict(),
            "spectrogram_config": self.spec_config.to_dict(),
            "normalization": self.spectrogram.normalization_state(),
            "metrics_history": self.history.state_dict(self.output_dir),
            "warning_state": self.monitor.state_dict(),
            "elapsed_seconds": elapsed,
            "train_loss": train_loss,
            "val_loss": val_loss,
        }
        summary = {"epoch": epochs_done, "step": self.step, "mid_epoch": mid_epoch, "reason": reason,
                   "train_loss": train_loss, "val_loss": None if mid_epoch else val_loss,
                   "elapsed_seconds": elapsed, "saved_at": time.time()}
        save_checkpoint(path, state, summary)
        manage_checkpoints(path.parent, self.config.keep_checkpoints)
        self.last_checkpoint = path
        best = get_best_checkpoint(path.parent)
        rundir.update_run_info(self.output_dir, last_checkpoint=rundir.to_run_relative(self.output_dir, path),
                              best_checkpoint=rundir.to_run_relative(self.output_dir, best) if best else None)
        self.emit(CheckpointEvent(epochs_done, str(path), reason))
        return path

    # -- the loop ------------------------------------------------------------
    def run(self) -> dict:
        self.session_start = time.time()
        try:
            self._setup()
            return self._train()
        except BaseException as exc:
            message = str(exc) or type(exc).__name__
            if self.log is not None:
                self.emit(TrainingCompleteEvent(float("nan"), float("nan"), self.history.best_val_loss, None,
                                                self.config.max_epochs, time.time() - self.session_start,
                                                error=message, last_checkpoint_path=self._last_checkpoint_text()))
                rundir.update_run_info(self.output_dir, status="failed", error=message)
                self.log.close()
            raise

    def _train(self) -> dict:
        config, device = self.config, self.device
        loader = self.data.train_loader
        preview_every = get_effective_preview_interval(config)
        total_steps = len(loader) * config.max_epochs
        rundir.update_run_info(self.output_dir, status="training")
        dtype = str(self.dtype).replace("torch.", "")
        self.emit(StatusEvent("training", f"Training on {len(loader.dataset)} chunks ({len(self.data.train_files)} "
                                          f"files), validating on {len(self.data.val_files)} files, {device} {dtype}."))
        cancelled = False
        epochs_this_session, train_seconds = 0, 0.0
        loop_start = time.time()  # ETA from epoch times only, not decoding and setup
        for epoch in range(self.start_epoch, config.max_epochs):
            kl_weight = get_kl_weight(epoch, config.max_epochs, config.kl_warmup_fraction, config.kl_weight_max)
            loader.set_epoch(epoch)
            context = StepContext(epoch + 1, total_steps, config.seed, step=self.step,
                                  should_pause=lambda: self._pause_due(loop_start))
            while True:
                result = train_epoch(self.model, loader, self.optimizer, self.spectrogram, kl_weight, device,
                                     config.regularization.gradient_clip_norm, callback=self.emit,
                                     cancel_event=self.cancel_event, free_bits=config.free_bits, dtype=self.dtype,
                                     progress=self.partial, context=context)
                self.step = context.step
                if not result["interrupted"]:
                    break
                if self.cancel_event.is_set() or self._time_up():
                    cancelled = True
                    break
                if self._early_preview_due(loop_start):
                    self._previews(0)  # "epoch 0": heard before the first epoch ends
                if self.save_event.is_set():
                    self.save_event.clear()
                    self._save(epoch, "manual", None, result["train_loss"])
            if cancelled:
                self._save(epoch, "time_limit" if self._time_up() else "cancel", None, result["train_loss"])
                break
            train_seconds += self.partial.seconds
            val = validate_epoch(self.model, self.data.val_loader, self.spectrogram, kl_weight, device,
                                 free_bits=config.free_bits, dtype=self.dtype)
            if not math.isfinite(val["val_loss"]):  # no validation files: judge by training loss
                val = {**val, "val_loss": result["train_loss"], "val_recon_loss": result["recon_loss"],
                       "val_kl_loss": result["kl_loss"]}
            self.scheduler.step()
            epochs_this_session += 1
            elapsed = self.elapsed_before + time.time() - self.session_start
            session_epoch_time = (time.time() - loop_start) / epochs_this_session
            metrics = EpochMetrics(
                epoch=epoch + 1, total_epochs=config.max_epochs, train_loss=result["train_loss"],
                val_loss=val["val_loss"], val_recon_loss=val["val_recon_loss"], val_kl_loss=val["val_kl_loss"],
                kl_divergence=val["kl_divergence"],
                overfitting_gap=overfitting_gap(result["train_loss"], val["val_loss"]),
                learning_rate=self.optimizer.param_groups[0]["lr"],
                eta_seconds=session_epoch_time * (config.max_epochs - epoch - 1), elapsed_seconds=elapsed,
                train_recon_loss=result["recon_loss"], train_kl_loss=result["kl_loss"], kl_weight=kl_weight,
                skipped_steps=result["skipped_steps"], step=self.step,
                chunks_per_second=self.partial.chunks / max(self.partial.seconds, 1e-9),
                device_memory_gb=device_memory_gb(device),
            )
            self.partial = EpochProgress()
            self.emit(metrics)
            warmup_over = is_warmup_over(epoch, config.max_epochs, config.kl_warmup_fraction)
            for warning in self.monitor.check(metrics, warmup_over):
                self.emit(warning)
            rundir.update_run_info(self.output_dir, epochs_done=epoch + 1, best_val_loss=self.history.best_val_loss)

            number, last = epoch + 1, epoch + 1 == config.max_epochs
            if number == 1 or number % preview_every == 0 or last:
                self._previews(number)
            if number % config.checkpoint_interval == 0 or last:
                self._save(number, "final" if last else "interval", val["val_loss"], result["train_loss"])
            if (self.cancel_event.is_set() or self._time_up()) and not last:
                cancelled = True
                self._save(number, "time_limit" if self._time_up() else "cancel", val["val_loss"], result["train_loss"])
                break
        return self._finish(cancelled or self._learn_inversion(cancelled), train_seconds)

    def _learn_inversion(self, cancelled: bool) -> bool:
        """After the last epoch, the model's own mel-to-audio inversion (True: cancelled during it)."""
        seconds = inversion_budget(self.config, self.elapsed_before + time.time() - self.session_start)
        return not cancelled and learn_inversion(self.output_dir, self.model, self.spectrogram,
                                                 self.data.inversion_audio, seconds, self.device, self.dtype,
                                                 self.emit, self.cancel_event, self.config.seed)

    def _last_checkpoint_text(self) -> str | None:
        return str(self.last_checkpoint) if self.last_checkpoint else None

    def _pause_due(self, loop_start: float) -> bool:
        """Stop mid-epoch: a checkpoint asked for, the first preview due, or the time limit reached."""
        return self.save_event.is_set() or self._early_preview_due(loop_start) or self._time_up()

    def _time_up(self) -> bool:
        """The run has trained its ``max_training_minutes`` (all sessions together)."""
        limit = self.config.max_training_minutes
        return bool(limit) and self.elapsed_before + time.time() - self.session_start >= limit * 60

    def _early_preview_due(self, loop_start: float) -> bool:
        """A long first epoch (a large dataset) gets a preview after a few seconds, not at its end."""
        return not self.history.previews and time.time() - loop_start > EARLY_PREVIEW_SECONDS

    def _previews(self, epoch: int) -> None:
        previews_dir = self.output_dir / rundir.PREVIEW_DIR
        for path in generate_preview(self.model, self.spectrogram, previews_dir, epoch, self.device,
                                     num_samples=self.config.num_preview_samples, seed=self.config.seed,
                                     data_mels=self._data_mels()):
            self.emit(PreviewEvent(epoch, str(path), "sample", self.spec_config.sample_rate))
        for path in generate_reconstruction_preview(self.model, self.spectrogram, self.recon_examples, previews_dir,
                                                    epoch, self.device):
            self.emit(PreviewEvent(epoch, str(path), "reconstruction", self.spec_config.sample_rate))

    def _data_mels(self) -> list[torch.Tensor]:
        """The training and validation files' normalised spectrograms (not their pitch-shifted copies)."""
        return self.data.train_loader.dataset.mels[: len(self.data.train_files)] + self.data.val_loader.dataset.mels

    def _analyse(self, checkpoint: Path | None, epoch: int) -> None:
        """Find the model's axes and data prior for generation (a failure only costs a warning)."""
        if checkpoint is None:
            return
        self.emit(StatusEvent("analysing", "Finding the model's axes for generation..."))
        try:
            analyse_finished_run(self.output_dir, Path(checkpoint), self._data_mels())
        except Exception as exc:  # the model is still usable; generation analyses again on first use
            self.emit(WarningEvent(epoch, "analysis_failed", f"Could not analyse the model for generation ({exc})."))

    def _finish(self, cancelled: bool, train_seconds: float) -> dict:
        timed_out = cancelled and self._time_up() and not self.cancel_event.is_set()
        if timed_out:
            self.emit(StatusEvent("time_limit", f"Stopped after {self.config.max_training_minutes:g} min of training, "
                                                "the most this run may train. The last checkpoint is kept."))
        epochs = self.history.epoch_metrics
        last = epochs[-1] if epochs else None
        best = get_best_checkpoint(self.output_dir / rundir.CHECKPOINT_DIR)
        done = last.epoch if last else self.start_epoch
        if self.last_checkpoint is None:  # resumed a run that had already finished
            self.last_checkpoint = get_latest_checkpoint(self.output_dir / rundir.CHECKPOINT_DIR)
        self._analyse(best or self.last_checkpoint, done)
        self.emit(TrainingCompleteEvent(
            final_train_loss=last.train_loss if last else float("nan"),
            final_val_loss=last.val_loss if last else float("nan"),
            best_val_loss=self.history.best_val_loss, best_checkpoint_path=str(best) if best else None,
            total_epochs=self.config.max_epochs, total_time=self.elapsed_before + time.time() - self.session_start,
            was_cancelled=cancelled, last_checkpoint_path=self._last_checkpoint_text(),
            epochs_completed=done,
        ))
        status = "time_limit" if timed_out else "cancelled" if cancelled else "completed"
        rundir.update_run_info(self.output_dir, status=status, epochs_done=done,
                               best_checkpoint=rundir.to_run_relative(self.output_dir, best) if best else None)
        self.log.close()
        return {
            "model": self.model, "metrics_history": self.history, "output_dir": self.output_dir,
            "best_checkpoint_path": best, "last_checkpoint_path": self.last_checkpoint,
            "was_cancelled": cancelled, "epochs_completed": done, "train_seconds": train_seconds,
            "spectrogram": self.spectrogram,
        }


def train(config: TrainingConfig | None, file_paths, output_dir: Path, device="cpu", callback=None,
          cancel_event: threading.Event | None = None, resume_checkpoint: Path | None = None,
          save_event: threading.Event | None = None, decoded=None, release_audio: bool | None = None,
          limits: DurationLimits = DurationLimits()) -> dict:
    """Train a ConvVAE (then its learned inversion) on ``file_paths``, writing a run directory at ``output_dir``.

    ``config`` may be None when resuming (the checkpoint's config is used). ``cancel_event`` stops training
    after saving a checkpoint at once; ``save_event`` saves one and goes on. ``decoded`` is an already decoded
    dataset (then ``file_paths`` only labels it); ``release_audio`` lets training drop its audio once the
    spectrograms exist (default: only when training decoded it); ``limits`` bound the audio it decodes (longer
    files are skipped with a reason). Returns a dict with ``model``, ``metrics_history``, ``output_dir``,
    ``best_checkpoint_path``, ``last_checkpoint_path``, ``was_cancelled`` and ``epochs_completed``.
    """
    try:
        session = TrainingSession(config, file_paths, output_dir, device, callback=callback, cancel_event=cancel_event,
                                  resume_checkpoint=resume_checkpoint, save_event=save_event, decoded=decoded,
                                  release_audio=release_audio, limits=limits)
    except Exception as exc:  # bad settings or checkpoint: say so in run.json too, for a UI that re-attaches later
        if Path(output_dir).is_dir():
            rundir.update_run_info(Path(output_dir), status="failed", error=str(exc) or type(exc).__name__)
        raise
    return session.run()
