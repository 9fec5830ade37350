"""One training epoch (each step readable top to bottom) and one validation pass.

Determinism: every random draw (shuffle, augmentation, dropout, latent noise)
is seeded from (seed, epoch, step), so a run resumed from any checkpoint,
even one saved mid-epoch, continues exactly where it would have gone.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from sda.audio.spectrogram import AudioSpectrogram
from sda.models.losses import compute_kl_divergence, vae_loss
from sda.runs.device import autocast, device_memory_gb
from sda.training.metrics import StepMetrics


@dataclass
class EpochProgress:
    """Running sums of one epoch, kept in checkpoints so a mid-epoch resume keeps its averages."""

    batches_done: int = 0
    steps_counted: int = 0
    loss_sum: float = 0.0
    recon_sum: float = 0.0
    kl_sum: float = 0.0
    skipped: int = 0
    chunks: int = 0
    seconds: float = 0.0

    def averages(self) -> dict:
        n = max(self.steps_counted, 1)
        return {
            "train_loss": self.loss_sum / n if self.steps_counted else float("nan"),
            "recon_loss": self.recon_sum / n if self.steps_counted else float("nan"),
            "kl_loss": self.kl_sum / n if self.steps_counted else float("nan"),
            "skipped_steps": self.skipped,
        }

    def state_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_state(cls, state: dict | None) -> EpochProgress:
        return cls(**(state or {}))


@dataclass
class StepContext:
    """Where a step stands in the run (for seeding and for its StepMetrics), and when to pause."""

    epoch: int
    total_steps: int
    seed: int
    step: int = 0  # global step counter, advanced by train_epoch
    should_pause: Callable[[], bool] = field(default=lambda: False)


def train_epoch(
    model: torch.nn.Module,
    train_loader,
    optimizer: torch.optim.Optimizer,
    spectrogram: AudioSpectrogram,
    kl_weight: float,
    device: torch.device,
    gradient_clip_norm: float,
    callback: Callable | None = None,
    cancel_event: threading.Event | None = None,
    *,
    free_bits: float = 0.0,
    dtype: torch.dtype = torch.float32,
    progress: EpochProgress | None = None,
    context: StepContext | None = None,
) -> dict:
    """Train over ``train_loader`` from ``progress.batches_done`` on.

    The loader yields normalised log-mels, computed once by ``spectrogram``
    before training (see ``sda.training.dataset``).

    Stops early (returning ``interrupted=True``) when ``cancel_event`` is set
    or ``context.should_pause()`` says so; the caller saves and may call
    again with the same ``progress`` to continue.
    """
    progress = progress or EpochProgress()
    ctx = context or StepContext(0, len(train_loader), 0)
    model.train()
    interrupted = False
    for batch in train_loader.iter_from(progress.batches_done):
        if (cancel_event is not None and cancel_event.is_set()) or ctx.should_pause():
            interrupted = True
            break
        started = time.perf_counter()
        # Seed per step: dropout and latent noise repeat exactly after a resume.
        torch.manual_seed(ctx.seed * 1_000_003 + ctx.step)
        mel = batch.to(device, non_blocking=True)
        with autocast(device, dtype):
            recon, mu, logvar = model(mel)
        total, recon_loss, kl_loss = vae_loss(recon, mel, mu, logvar, kl_weight, free_bits=free_bits)

        skipped = not bool(torch.isfinite(total))
        if not skipped:
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=gradient_clip_norm)
            skipped = not bool(torch.isfinite(grad_norm))
            if skipped:  # inf/NaN gradients: drop them rather than poison the weights
                optimizer.zero_grad(set_to_none=True)
            else:
                optimizer.step()

        values = (float(total.detach()), float(recon_loss.detach()), float(kl_loss.detach()))
        progress.batches_done += 1
        progress.chunks += batch.shape[0]
        progress.seconds += time.perf_counter() - started
        if skipped:
            progress.skipped += 1
        else:
            progress.steps_counted += 1
            progress.loss_sum += values[0]
            progress.recon_sum += values[1]
            progress.kl_sum += values[2]
        ctx.step += 1
        if callback is not None:
            callback(StepMetrics(
                epoch=ctx.epoch, step=ctx.step, total_steps=ctx.total_steps,
                train_loss=values[0], recon_loss=values[1], kl_loss=values[2],
                kl_weight=kl_weight, learning_rate=optimizer.param_groups[0]["lr"],
                step_time=time.perf_counter() - started, skipped=skipped,
                device_memory_gb=device_memory_gb(device) if device.type != "cpu" else 0.0,
            ))
    return {**progress.averages(), "interrupted": interrupted, "batches_done": progress.batches_done}


@torch.no_grad()
def validate_epoch(
    model: torch.nn.Module,
    val_loader,
    spectrogram: AudioSpectrogram,
    kl_weight: float,
    device: torch.device,
    *,
    free_bits: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> dict:
    """Losses on the validation chunks (no augmentation, no dropout, latent mean)."""
    model.eval()
    sums = {"val_loss": 0.0, "val_recon_loss": 0.0, "val_kl_loss": 0.0, "kl_divergence": 0.0}
    count = 0
    for batch in val_loader:
        mel = batch.to(device)
        with autocast(device, dtype):
            recon, mu, logvar = model(mel)
        total, recon_loss, kl_loss = vae_loss(recon, mel, mu, logvar, kl_weight, free_bits=free_bits)
        weight = batch.shape[0]
        for key, value in zip(sums, (total, recon_loss, kl_loss, compute_kl_divergence(mu, logvar))):
            sums[key] += float(value) * weight
        count += weight
    model.train()
    if count == 0:
        return {key: float("nan") for key in sums}
    return {key: value / count for key, value in sums.items()}


def overfitting_gap(train_loss: float, val_loss: float) -> float:
    """(val - train) / train; 0 when either is unusable."""
    if not (math.isfinite(train_loss) and math.isfinite(val_loss)) or abs(train_loss) < 1e-12:
        return 0.0
    return (val_loss - train_loss) / abs(train_loss)
