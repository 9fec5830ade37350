"""The learned inversion's phase: after the VAE's epochs, learn what 128 mel bands hide of this dataset's sounds.

The network (``sda.models.inversion.InversionNet``) learns, from the run's
own training audio, the linear log-magnitude spectrum behind each mel frame:
both the true mels and the VAE's reconstructions of them (what generation
will give it), against the true spectrum. Each clip's spectra are computed
once; a step is the network on a batch of frame windows and nothing else,
so a few minutes on a CPU go a long way.

It is then judged on the validation files (the training files when there
are none) against the standard inversion, both through the same phase
retrieval, by multi-resolution STFT distance and log-spectral distance; it
is kept (``inversion.pt`` in the run folder) only when it is closer on both,
and run.json records which inversion the model uses and why.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from sda.audio.scores import lsd_db, mrstft
from sda.audio.spectrogram import AudioSpectrogram
from sda.generation.inversion_store import remove_inversion, write_inversion
from sda.generation.inverter import Inverter, baseline_log_magnitude, log_floor
from sda.generation.reconstruct import reconstruct_mel
from sda.models.inversion import InversionNet, inversion_architecture
from sda.runs import folder as rundir
from sda.runs.device import autocast
from sda.training.metrics import StatusEvent

WINDOW_FRAMES, BATCH = 32, 16
LEARNING_RATE, WARMUP_STEPS, MAX_STEPS = 2e-3, 50, 50_000
REFINE_CHOICES = (0, 1, 2)  # fitting steps back onto the mel after the network: the check keeps the closer
SC_WEIGHT = 1.0
MIN_GAIN = 0.01  # the learned inversion must be at least 1% closer by MR-STFT (and closer by LSD)
PHASE = "inversion"
SHARE, FLOOR_SECONDS = 0.5, 10.0  # at most half the model's own training time, but at least 10 s


def inversion_budget(config, spent_seconds: float) -> tuple[float, str]:
    """(seconds for the learned inversion, why none when 0): the setting, at most half the time the model
    trained (at least 10 s), never past the run's training-minutes limit."""
    if config.inversion_seconds <= 0:
        return 0.0, "learning one is turned off (setting 'inversion seconds' is 0)"
    seconds = min(config.inversion_seconds, max(FLOOR_SECONDS, SHARE * spent_seconds))
    if config.max_training_minutes:
        seconds = min(seconds, config.max_training_minutes * 60 - spent_seconds)
    return max(0.0, seconds), "the run's training-minutes limit left no time for learning one"


def learn_inversion(run_dir: Path, model, spectrogram: AudioSpectrogram, audio: tuple[list, list],
                    budget: tuple[float, str], device: torch.device, dtype: torch.dtype, emit: Callable,
                    cancel: threading.Event,
                    seed: int = 0) -> bool:
    """Train, judge, keep or refuse; record the outcome in run.json. Returns True when cancelled."""
    train_audio, val_audio = audio
    seconds = budget[0]
    if seconds <= 0 or not train_audio:
        why = budget[1] if seconds <= 0 else "no training audio was kept for learning one"
        _record(run_dir, {"kind": "standard", "reason": f"Standard inversion: {why}."}, emit)
        return False
    emit(StatusEvent(PHASE, "Learning the model's own sound (mel-to-audio inversion)...", 0.0))
    started = time.time()
    fitted = fit_inversion(train_audio, model, spectrogram, seconds, device, dtype, emit, cancel, seed)
    if fitted is None:
        emit(StatusEvent(PHASE, "The learned inversion was cancelled; the model's checkpoints are kept.", None))
        return True
    net, steps = fitted
    emit(StatusEvent(PHASE, "Comparing the learned inversion with the standard one...", 1.0))
    judged_on = "validation" if val_audio else "training"
    outcome = judge_inversion(net, model, spectrogram, val_audio or train_audio, device)
    outcome.update(steps=steps, seconds=round(time.time() - started, 1), judged_on=f"{judged_on} files")
    learned, standard = outcome["learned"], outcome["standard"]
    figures = (f"MR-STFT {learned['mrstft']:.3f} vs {standard['mrstft']:.3f}, "
               f"LSD {learned['lsd_db']:.2f} vs {standard['lsd_db']:.2f} dB on {len(val_audio or train_audio)} "
               f"{judged_on} files")
    if _closer(learned, standard):
        outcome.update(kind="learned", reason=f"Learned inversion: closer to the originals than the standard one "
                                              f"({figures}).")
        inverter = Inverter(spectrogram, net.cpu(), outcome["refine_steps"], _plain(outcome))
        write_inversion(run_dir, inverter)
    else:
        outcome.update(kind="standard", reason=f"Standard inversion: the learned one was not closer ({figures}).")
        remove_inversion(run_dir)
    _record(run_dir, outcome, emit)
    return False


def fit_inversion(clips: list[np.ndarray], model, spectrogram: AudioSpectrogram, seconds: float, device, dtype,
                  emit: Callable, cancel: threading.Event, seed: int = 0) -> tuple[InversionNet, int] | None:
    """A network trained for ``seconds`` on ``clips`` (and ``model``'s reconstructions of them), in eval mode,
    with its step count; None when cancelled."""
    if model is not None:
        model.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = InversionNet(inversion_architecture(spectrogram.config.n_mels, spectrogram.config.n_fft,
                                                  spectrogram.config.hop_length)).to(device)
    steps = _train(net, _material(clips, model, spectrogram, device), seconds, device, dtype, emit, cancel, seed)
    return None if steps is None else (net.eval(), steps)


def _closer(learned: dict, standard: dict) -> bool:
    return learned["mrstft"] < standard["mrstft"] * (1 - MIN_GAIN) and learned["lsd_db"] < standard["lsd_db"]


def _record(run_dir: Path, outcome: dict, emit: Callable) -> None:
    rundir.update_run_info(run_dir, inversion=_plain(outcome))
    emit(StatusEvent(PHASE, outcome["reason"], 1.0))


def _plain(outcome: dict) -> dict:
    return {k: v for k, v in outcome.items() if isinstance(v, (str, int, float, dict))}


@torch.no_grad()
def _material(clips: list[np.ndarray], model, spec: AudioSpectrogram, device: torch.device) -> list[tuple]:
    """Per clip: (normalised mel, baseline, target log-magnitude, floor), for the true mel and the VAE's."""
    out = []
    least = (WINDOW_FRAMES - 1) * spec.config.hop_length
    for audio in clips:
        wave = torch.from_numpy(np.pad(audio, (0, max(0, least - len(audio))))).to(device)[None]
        magnitude = spec._stft(wave).abs()
        floor = log_floor(float(magnitude.max()))
        target = magnitude.clamp_min(math.exp(floor)).log()
        mel = spec.waveform_to_mel(wave)
        inputs = [mel] + ([reconstruct_mel(model, mel).float()] if model is not None else [])
        for item in inputs:
            power = torch.pow(10.0, spec.mel_to_db(item).clamp(max=40.0) / 10.0)
            out.append((item[0], baseline_log_magnitude(spec, power)[0], target[0], floor))
    return out


def _train(net: InversionNet, material: list[tuple], seconds: float, device, dtype, emit, cancel,
           seed: int) -> int | None:
    optimizer = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    start, last_report, step = time.time(), time.time(), 0
    net.train()
    while step < MAX_STEPS and (elapsed := time.time() - start) < seconds:
        if cancel.is_set():
            return None
        picks = rng.integers(len(material), size=BATCH)
        mels, bases, targets, floors = [], [], [], []
        for index in picks:
            mel, base, target, floor = material[index]
            first = int(rng.integers(0, mel.shape[-1] - WINDOW_FRAMES + 1))
            window = slice(first, first + WINDOW_FRAMES)
            mels.append(mel[:, window])
            bases.append(base[:, window])
            targets.append(target[:, window])
            floors.append(floor)
        fraction = elapsed / seconds
        for group in optimizer.param_groups:  # warm-up, then cosine to 5% over the time budget
            group["lr"] = LEARNING_RATE * min(1.0, (step + 1) / WARMUP_STEPS) * (0.05 + 0.95 * 0.5 * (
                1 + math.cos(math.pi * fraction)))
        with autocast(device, dtype):
            predicted = net(torch.stack(mels), torch.stack(bases))
        loss = _loss(predicted.float(), torch.stack(targets), torch.tensor(floors, device=device)[:, None, None])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
        step += 1
        if time.time() - last_report > 2.0:
            last_report = time.time()
            emit(StatusEvent(PHASE, f"Learning the model's own sound: step {step}, "
                                    f"{max(0.0, seconds - elapsed):.0f} s left", min(1.0, fraction)))
    return step


def _loss(predicted: torch.Tensor, target: torch.Tensor, floor: torch.Tensor) -> torch.Tensor:
    """Log-magnitude L1 + L2 (the dB error a listener and LSD weigh) plus spectral convergence (linear
    magnitudes: the mean of log-magnitudes alone sits under a noisy spectrum's level, and this pulls it up)."""
    error = torch.maximum(predicted, floor) - target
    linear = predicted.exp() - target.exp()
    convergence = linear.square().sum(dim=(1, 2)).sqrt() / target.exp().square().sum(dim=(1, 2)).sqrt().clamp_min(1e-8)
    return error.abs().mean() + 0.5 * error.square().mean() + SC_WEIGHT * convergence.mean()


def _scores(ref: torch.Tensor, est: torch.Tensor) -> dict[str, list[float]]:
    """Per sound of a (B, samples) batch, the scores every inversion is measured by (sda.audio.scores)."""
    pairs = list(zip(ref.double().numpy(), est.double().numpy()))
    return {"mrstft": [mrstft(r, e) for r, e in pairs], "lsd_db": [lsd_db(r, e) for r, e in pairs]}


@torch.no_grad()
def judge_inversion(net: InversionNet, model, spec: AudioSpectrogram, clips: list[np.ndarray], device) -> dict:
    """Mean scores of the standard and the best learned variant, on the sounds and after the model."""
    candidates = {"standard": Inverter(spec)} | {refine: Inverter(spec, net, refine) for refine in REFINE_CHOICES}
    scores: dict = {key: {"mrstft": [], "lsd_db": []} for key in candidates}
    after: dict = {key: {"mrstft": [], "lsd_db": []} for key in candidates}
    for audio in clips:
        wave = torch.from_numpy(audio).to(device)[None]
        mel = spec.waveform_to_mel(wave)
        recon = reconstruct_mel(model, mel).float() if model is not None else None
        for key, inverter in candidates.items():
            for table, source in ((scores, mel), (after, recon)):
                if source is None:
                    continue
                result = _scores(wave.cpu(), inverter(source, wave.shape[-1]).cpu())
                for name, values in result.items():
                    table[key][name] += values
    mean = {key: {name: float(np.mean(v)) if v else float("nan") for name, v in table.items()}
            for key, table in scores.items()}
    mean_after = {key: {name: float(np.mean(v)) if v else float("nan") for name, v in table.items()}
                  for key, table in after.items()}
    standard = mean["standard"]
    closer = [r for r in REFINE_CHOICES if _closer(mean[r], standard)]
    best = min(closer or REFINE_CHOICES, key=lambda refine: mean[refine]["mrstft"])
    return {"learned": mean[best], "standard": standard, "refine_steps": best,
            "variants": {f"refine_{r}": mean[r] for r in REFINE_CHOICES},
            "after_model": {"learned": mean_after[best], "standard": mean_after["standard"]}}
