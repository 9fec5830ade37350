"""``python -m sda bench``: train on a folder and measure speed, memory and fidelity.

Figures (one dict, printed as one JSON line by the CLI):
- chunks_per_s: 1-second training chunks per second of time spent in
  training steps (mel, forward, backward, optimizer step);
- s_per_epoch: wall time per epoch including validation, previews and
  checkpoints;
- first_preview_s: from the start of training (decoding included) to the
  first preview on disk;
- peak_rss_mb: the process's peak resident memory;
- model_gflop_per_chunk and achieved_tflops (counted by torch's FLOP
  counter on one real step), against peak_matmul_tflops (a 2048^3 matmul in
  the same dtype on the same device);
- with a held-out folder: mrstft, lsd_db, mel_l1_db and attack_db
  (``sda.audio.scores.inversion_scores``) of reconstructing the unseen files
  (best checkpoint, ``sda.generation.reconstruct.reconstruct_audio`` with the
  "fast" inversion) and recon_realtime_x; the same scores for the inversion
  alone, no model in between (the representation's ceiling: ceiling_* with
  the "fast" inversion, as the model's figures, and inversion_best_* with
  the "best" one), and inversion_realtime_x / inversion_best_realtime_x.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from sda.audio.validation import decode_dataset, require_usable
from sda.bench.fidelity import inversion_scores
from sda.models.losses import vae_loss
from sda.runs.device import autocast, choose_dtype, resolve_device
from sda.runs.folder import dataset_files, read_run_info
from sda.training.config import get_adaptive_config
from sda.training.loop import train
from sda.training.metrics import EpochMetrics, PreviewEvent, StepMetrics


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_peak_matmul_tflops(device: torch.device, dtype: torch.dtype, size: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e12


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def count_step_flops(
    model: torch.nn.Module, spectrogram, batch: torch.Tensor, device: torch.device, dtype: torch.dtype
) -> float:
    """FLOPs of one training step's forward and backward (model only) per chunk."""
    mel = spectrogram.waveform_to_mel(batch.to(device))
    counter = FlopCounterMode(display=False)
    with counter:
        with autocast(device, dtype):
            recon, mu, logvar = model(mel)
        total, _, _ = vae_loss(recon, mel, mu, logvar, 0.0)
        total.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / batch.shape[0]


def run_benchmark(data_dir: Path, epochs: int | None = None, heldout: Path | None = None, preset: str = "auto",
                  device: str = "auto", out_dir: Path | None = None, precision: str = "auto",
                  log: Callable[[str], None] = lambda text: None) -> dict:
    dev = resolve_device(device)
    started = time.time()
    decoded = decode_dataset([data_dir])
    require_usable(decoded, str(data_dir))
    config = get_adaptive_config(decoded.file_count, preset)
    config.precision = precision
    if epochs is not None:
        config.max_epochs = epochs
    log(f"bench: {decoded.file_count} files, preset {config.preset}, {config.max_epochs} epochs on {dev}")

    first_preview = {}
    step_seconds = [0.0]  # time inside training steps (the history thins step events)

    def on_event(event) -> None:
        if isinstance(event, PreviewEvent) and "t" not in first_preview:
            first_preview["t"] = time.time() - started
        elif isinstance(event, StepMetrics):
            step_seconds[0] += event.step_time
        elif isinstance(event, EpochMetrics):
            if event.epoch % 25 == 0 or event.epoch == event.total_epochs:
                log(f"bench: epoch {event.epoch}: train {event.train_loss:.4f} val {event.val_loss:.4f} "
                    f"({event.chunks_per_second:.0f} chunks/s)")

    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="sda-bench-")
        out_dir = Path(tmp.name)
    train_started = time.time()
    result = train(config, [data_dir], out_dir, dev, callback=on_event, decoded=decoded, release_audio=True)
    wall = time.time() - train_started
    history = result["metrics_history"]
    epochs_done = len(history.epoch_metrics)
    dtype = choose_dtype(dev, precision)

    # Throughput: chunks over time inside training steps, over all epochs.
    n_train_chunks = int(read_run_info(out_dir).get("dataset", {}).get("train_chunks", 0))
    total_chunks = n_train_chunks * epochs_done
    figures = {
        "files": decoded.file_count,
        "train_chunks_per_epoch": n_train_chunks,
        "epochs": epochs_done,
        "preset": config.preset,
        "chunks_per_s": round(total_chunks / max(step_seconds[0], 1e-9), 1),
        "s_per_epoch": round(wall / max(epochs_done, 1), 4),
        "train_wall_s": round(wall, 1),
        "first_preview_s": round(first_preview.get("t", float("nan")), 2),
        "device": str(dev),
        "dtype": str(dtype).replace("torch.", ""),
        "final_train_loss": round(history.epoch_metrics[-1].train_loss, 4) if epochs_done else None,
        "best_val_loss": round(history.best_val_loss, 4),
    }

    model, spectrogram = result["model"], result["spectrogram"]
    flops = count_step_flops(
        model, spectrogram, torch.zeros(8, int(config.chunk_seconds * 48000)).uniform_(-0.1, 0.1), dev, dtype
    )
    peak = measure_peak_matmul_tflops(dev, dtype)
    figures.update({
        "model_params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "model_gflop_per_chunk": round(flops / 1e9, 3),
        "achieved_tflops": round(flops * figures["chunks_per_s"] / 1e12, 3),
        "peak_matmul_tflops": round(peak, 3),
    })
    if heldout is not None:
        figures.update(_fidelity(result, Path(heldout), dev, log))
        figures.update(_generation(out_dir, decoded, Path(heldout), log))
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if tmp is not None:
        tmp.cleanup()
    return figures


def _generation(run_dir: Path, decoded, heldout: Path, log, count: int = 64, seconds: float = 10.0) -> dict:
    """Generated sounds against the training set (and unseen real sounds as the reference), and speed."""
    from sda.bench.quality import Embedding, features, manifold_figures
    from sda.generation import load_generator

    gen = load_generator(run_dir, "cpu")
    train = [clip.audio for clip in decode_dataset([str(p) for p in _train_files(run_dir)]).clips]
    unseen = [clip.audio for clip in decode_dataset([heldout]).clips]
    embed = Embedding(features(gen.spectrogram, train))
    reference = embed(features(gen.spectrogram, train))
    generated = manifold_figures(
        reference, embed(features(gen.spectrogram, [gen.generate(2.0, s).audio for s in range(count)]))
    )
    real = manifold_figures(reference, embed(features(gen.spectrogram, unseen)))
    gen.generate(seconds, 0)
    t0 = time.perf_counter()
    gen.generate(seconds, 1)
    elapsed = time.perf_counter() - t0
    log(f"bench: generation measured on {count} sounds against {len(train)} training files")
    return {
        "gen_precision": round(generated["precision"], 3), "gen_recall": round(generated["recall"], 3),
        "gen_coverage": round(generated["coverage"], 3), "gen_copies": round(generated["copies"], 3),
        "gen_realtime_x": round(seconds / max(elapsed, 1e-9), 1),
        "unseen_precision": round(real["precision"], 3), "unseen_recall": round(real["recall"], 3),
        "unseen_coverage": round(real["coverage"], 3), "unseen_copies": round(real["copies"], 3),
    }


def _train_files(run_dir: Path) -> list[Path]:
    return [Path(f["path"]) for f in dataset_files(run_dir) if f.get("split") == "train"]


def _fidelity(result: dict, heldout: Path, device: torch.device, log) -> dict:
    from sda.generation.inversion import inversion_for
    from sda.generation.loader import load_source
    from sda.generation.reconstruct import reconstruct_audio

    source = load_source(result["best_checkpoint_path"] or result["last_checkpoint_path"])
    model, spectrogram = source.model.to(device).eval(), source.spectrogram.to(device)

    def reconstruct(audio: np.ndarray) -> np.ndarray:  # "fast", like the ceiling, so the two compare
        return reconstruct_audio(model, spectrogram, audio, quality="fast")

    ways = {"": reconstruct, "ceiling_": inversion_for(spectrogram, "fast", source).audio,
            "inversion_best_": inversion_for(spectrogram, "best", source).audio}
    unseen = decode_dataset([heldout])
    require_usable(unseen, str(heldout))
    scores = {prefix: [] for prefix in ways}
    seconds = {prefix: 0.0 for prefix in ways}
    audio_seconds = sum(clip.duration_s for clip in unseen.clips)
    for prefix, way in ways.items():
        way(unseen.clips[0].audio)  # steady-state speed: the first call sets up kernels
        for clip in unseen.clips:
            t0 = time.perf_counter()
            out = way(clip.audio)
            _sync(device)
            seconds[prefix] += time.perf_counter() - t0
            assert len(out) == len(clip.audio)
            scores[prefix].append(inversion_scores(clip.audio, out))
    log(f"bench: fidelity on {len(unseen.clips)} unseen files")
    figures = {"heldout_files": len(unseen.clips)}
    for prefix, rows in scores.items():
        figures.update({f"{prefix}{key}": round(float(np.mean([r[key] for r in rows])), 3) for key in rows[0]})
    speed = {prefix: round(audio_seconds / max(t, 1e-9), 1) for prefix, t in seconds.items()}
    figures.update({"recon_realtime_x": speed[""], "inversion_realtime_x": speed["ceiling_"],
                    "inversion_best_realtime_x": speed["inversion_best_"]})
    return figures
