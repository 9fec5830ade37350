"""Mel -> audio with no model in between: every inversion method on percussive, tonal and texture sets.

Prints one markdown table: method x set -> MR-STFT, LSD (dB), mel-L1 (dB),
attack error (dB) and speed in x real time (the set's audio seconds over the
time spent inverting it, after one warm-up call; by default the process's
CPU time on one thread, which a busy shared machine inflates far less than
wall time and which two idle cores can only beat), with the textbook rows:
the filterbank pseudo-inverse (negatives clamped) + 64 Griffin-Lim
iterations, and the exact linear magnitude + 64 iterations (the oracle: a
perfect mel -> magnitude step, only the phase guessed). Sets come from
`sda.bench.synth.make_inversion_sets` (4 sounds of 4 s each; drum hits drawn
from fresh recipes, tonal notes, noise/drone/crackle textures), plus a
2-second sound timed alone (Play's case) with --play.

    python scripts/bench_inversion.py [--threads 1] [--clock cpu|wall] [--count 4] [--seconds 4] [--methods fast,...]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sda.audio.inversion_methods import INVERSION_METHODS, invert_mel  # noqa: E402
from sda.audio.scores import inversion_scores  # noqa: E402
from sda.audio.spectrogram import AudioSpectrogram  # noqa: E402
from sda.bench.synth import make_inversion_sets  # noqa: E402

KEYS = ("mrstft", "lsd_db", "mel_l1_db", "attack_db")


def textbook(spec: AudioSpectrogram, oracle: bool, iterations: int = 64):
    """Pseudo-inverse of the filterbank (or the exact magnitude), random phase, ``iterations`` momentum GL."""
    pinv = torch.from_numpy(np.linalg.pinv(spec.mel_basis.numpy().astype(np.float64))).float()

    def invert(audio: np.ndarray) -> np.ndarray:
        wave = torch.from_numpy(audio)[None]
        if oracle:
            magnitude = spec._stft(wave).abs()
        else:
            mel_power = torch.pow(10.0, spec.mel_to_db(spec.waveform_to_mel(wave)).clamp(max=40.0) / 10.0)
            magnitude = ((pinv @ mel_power).clamp_min(0.0) / spec._power_scale).sqrt()
        return spec.griffin_lim(magnitude, len(audio), iters=iterations)[0].numpy()
    return invert


def named(spec: AudioSpectrogram, method: str):
    def invert(audio: np.ndarray) -> np.ndarray:
        mel = spec.waveform_to_mel(torch.from_numpy(audio))
        return invert_mel(spec, mel, len(audio), method).numpy()
    return invert


def oracle_pghi(spec: AudioSpectrogram, iterations: int = 64):
    def invert(audio: np.ndarray) -> np.ndarray:
        magnitude = spec._stft(torch.from_numpy(audio)[None]).abs()
        unit = spec.start_phase(magnitude, "pghi")
        return spec.griffin_lim(magnitude, len(audio), iters=iterations, initial=unit)[0].numpy()
    return invert


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--clock", default="cpu", choices=["cpu", "wall"], help="what speed is measured in")
    parser.add_argument("--count", type=int, default=4, help="sounds per set")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of each sound")
    parser.add_argument("--methods", default=",".join(INVERSION_METHODS), help="comma-separated named methods")
    parser.add_argument("--play", action="store_true", help="also time a 2-s sound alone, best of 5, per method")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    global _clock
    _clock = _cpu_seconds if args.clock == "cpu" else time.perf_counter
    spec = AudioSpectrogram()
    sets = make_inversion_sets(args.count, args.seconds)
    rows = {"textbook: mel pinv + GL64": textbook(spec, oracle=False),
            "oracle: exact magnitude + GL64": textbook(spec, oracle=True),
            "oracle: exact magnitude + PGHI + GL64": oracle_pghi(spec)}
    rows.update({m: named(spec, m) for m in args.methods.split(",")})
    print(f"{args.count} sounds of {args.seconds:g} s per set, {args.threads} threads, {args.clock} time; "
          "each cell MR-STFT / LSD dB / mel-L1 dB / attack dB / x real time")
    print("| method | " + " | ".join(sets) + " |" + (" 2-s sound |" if args.play else ""))
    print("| --- |" + " --- |" * (len(sets) + bool(args.play)))
    for name, invert in rows.items():
        invert(sets["percussive"][0][:48000])  # warm-up
        cells = []
        for clips in sets.values():
            scores, seconds = [], 0.0
            for audio in clips:
                started = _clock()
                estimate = invert(audio)
                seconds += _clock() - started
                scores.append(inversion_scores(audio, estimate))
            means = [np.mean([s[k] for s in scores]) for k in KEYS]
            speed = sum(len(a) for a in clips) / 48000 / seconds
            cells.append("{:.3f} / {:.2f} / {:.2f} / {:.2f} / {:.0f}x".format(*means, speed))
        if args.play:
            clip = sets["tonal"][0][: 2 * 48000]
            best = min(_timed(invert, clip) for _ in range(5))
            cells.append(f"{2.0 / best:.0f}x")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


_clock = _cpu_seconds


def _timed(invert, audio: np.ndarray) -> float:
    started = _clock()
    invert(audio)
    return _clock() - started


if __name__ == "__main__":
    main()
