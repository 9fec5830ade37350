"""Learned vs standard inversion on synthetic sets: alone (mel -> audio) and after the model.

Writes a training set and a held-out set of drums, tonal one-shots and
several-second textures (sequences of hits), trains a model on the training
set with the default inversion budget (or --inversion-seconds), then prints
for each kind of sound and both inversions: MR-STFT (512/1024/2048-point,
spectral convergence + log-magnitude L1), LSD (dB), attack error (mean dB
error of the 1-ms RMS envelope from 20 ms before to 40 ms after the onset,
one-shots only) and the inversion's speed (times real time), plus the
training time of the model and of its inversion and the model's throughput.

    PYTHONPATH=. .venv/bin/python scripts/bench_learned_inversion.py [--epochs 60] [--inversion-seconds 150]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from sda.bench.fidelity import lsd_db, mrstft
from sda.bench.synth import make_sound
from sda.generation.inverter import Inverter
from sda.generation.loader import load_source
from sda.generation.reconstruct import reconstruct_mel
from sda.runs.device import choose_dtype
from sda.training.config import get_adaptive_config
from sda.training.dataset import INVERSION_CLIP_SECONDS
from sda.training.inversion_phase import _closer, fit_inversion, judge_inversion
from sda.training.loop import train

SR = 48000
DRUMS = ("kick", "snare", "hat", "clap", "tom", "rim", "cymbal")
TONAL = ("pluck", "bell", "mallet", "bass", "vox")


def texture(rng: np.random.Generator, seconds: float) -> np.ndarray:
    out = np.zeros(int(seconds * SR), dtype=np.float32)
    position = 0
    while position < len(out):
        hit = make_sound(str(rng.choice(DRUMS + TONAL)), rng, SR)[: len(out) - position]
        out[position : position + len(hit)] += hit
        position += int(rng.uniform(0.12, 0.5) * SR)
    return np.clip(out, -1, 1)


def make_sets(root: Path, seed: int) -> tuple[Path, dict[str, list[np.ndarray]]]:
    """Training files on disk; held-out sounds by kind, in memory."""
    folder = root / "train"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(42):
        kind = (DRUMS + TONAL)[i % 12]
        sf.write(folder / f"{kind}_{i:02d}.wav", make_sound(kind, rng, SR), SR, subtype="FLOAT")
    for i in range(4):
        sf.write(folder / f"texture_{i}.wav", texture(rng, 4.0), SR, subtype="FLOAT")
    held = np.random.default_rng(seed + 1)
    sets = {"drums": [make_sound(k, held, SR) for k in DRUMS * 2],
            "tonal": [make_sound(k, held, SR) for k in TONAL * 2],
            "textures": [texture(held, 4.0) for _ in range(3)]}
    return folder, sets


def attack_db(ref: np.ndarray, est: np.ndarray) -> float:
    """Mean |dB| difference of the 1-ms RMS envelopes, 20 ms before to 40 ms after the onset (-20 dB of peak)."""
    block = SR // 1000
    n = min(len(ref), len(est)) // block * block

    def envelope(x: np.ndarray) -> np.ndarray:
        return 10 * np.log10(np.mean(x[:n].reshape(-1, block).astype(np.float64) ** 2, axis=1) + 1e-20)

    e_ref, e_est = envelope(ref), envelope(est)
    floor = e_ref.max() - 80
    onset = int(np.argmax(e_ref > e_ref.max() - 20))
    span = slice(max(0, onset - 20), onset + 40)
    return float(np.mean(np.abs(np.maximum(e_ref[span], floor) - np.maximum(e_est[span], floor))))


def score(sounds: list[np.ndarray], make) -> dict[str, float]:
    rows, seconds, took = [], 0.0, 0.0
    for audio in sounds:
        start = time.perf_counter()
        out = make(audio)
        took += time.perf_counter() - start
        seconds += len(audio) / SR
        rows.append((mrstft(audio, out), lsd_db(audio, out), attack_db(audio, out)))
    mean = np.mean(rows, axis=0)
    return {"mrstft": mean[0], "lsd_db": mean[1], "attack_db": mean[2], "x_real_time": seconds / took}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--inversion-seconds", type=float, default=None, help="default: the config's")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's choice)")
    parser.add_argument("--out", help="folder to keep the sets and the run (default: temporary)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="sda-learned-inversion-"))
    folder, sets = make_sets(root, args.seed)
    config = get_adaptive_config(46)
    config.max_epochs = args.epochs
    seconds = config.inversion_seconds if args.inversion_seconds is None else args.inversion_seconds
    config.inversion_seconds = 0.0  # learned below with the whole budget, however short the model's training
    phases: dict[str, float] = {}

    def on_event(event) -> None:
        if type(event).__name__ == "StatusEvent":
            phases.setdefault(event.phase, time.time())
        if type(event).__name__ == "EpochMetrics":
            phases["chunks_per_second"] = event.chunks_per_second

    start = time.time()
    result = train(config, [folder], root / "run", "cpu", callback=on_event)
    vae_seconds = time.time() - phases.get("training", start)
    source = load_source(root / "run")
    spec = source.spectrogram
    info = json.loads((root / "run" / "run.json").read_text())["dataset"]["files"]
    clips = {"train": [], "val": []}
    for entry in info:
        audio, _ = sf.read(root / "run" / entry["path"], dtype="float32")
        clips[entry["split"]].append(audio[: int(INVERSION_CLIP_SECONDS * SR)])
    cpu = torch.device("cpu")
    begun = time.time()
    net, steps = fit_inversion(clips["train"], result["model"], spec, seconds, cpu, choose_dtype(cpu),
                               lambda event: None, threading.Event())
    fitted = time.time() - begun
    judged = judge_inversion(net, result["model"], spec, clips["val"], cpu)
    print(f"preset {config.preset}, {args.epochs} epochs: model {vae_seconds:.0f} s "
          f"({phases.get('chunks_per_second', 0):.0f} chunks/s); inversion {fitted:.0f} s ({steps} steps) + "
          f"check {time.time() - begun - fitted:.0f} s; torch threads {torch.get_num_threads()}")
    verdict = "kept" if _closer(judged["learned"], judged["standard"]) else "refused"
    print(f"the check on {len(clips['val'])} validation files: {verdict}, refinement steps {judged['refine_steps']} "
          f"({json.dumps(judged['variants'])}; standard {json.dumps(judged['standard'])})")
    source = load_source(root / "run")
    learned = Inverter(spec, net, judged["refine_steps"])  # measured whether the check kept it or not
    standard = Inverter(spec)

    def alone(inverter):
        return lambda a: inverter(spec.waveform_to_mel(torch.from_numpy(a)), len(a)).numpy()

    def after(inverter):
        return lambda a: inverter(reconstruct_mel(source.model, spec.waveform_to_mel(torch.from_numpy(a))[None])[0],
                                  len(a)).numpy()

    print(f"{'set':9} {'path':13} {'inversion':9} {'MR-STFT':>8} {'LSD dB':>7} {'attack dB':>9} {'x real time':>11}")
    for name, sounds in sets.items():
        for path, wrap in (("alone", alone), ("after model", after)):
            for label, inverter in (("standard", standard), ("learned", learned)):
                s = score(sounds, wrap(inverter))
                attack = f"{s['attack_db']:9.2f}" if name != "textures" else f"{'-':>9}"
                print(f"{name:9} {path:13} {label:9} {s['mrstft']:8.3f} {s['lsd_db']:7.2f} {attack} "
                      f"{s['x_real_time']:11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
