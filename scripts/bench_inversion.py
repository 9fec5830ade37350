"""Where the mel -> audio round trip loses fidelity, and what each fix buys.

For each way of inverting sda's log-mel (no model in between), prints the
mean mel-L1 (dB), LSD (dB) and MR-STFT of the round trip against the input,
on realistic one-shots (`make_benchmark_set`: the 12 unseen files and the
first 20 training files) and on the shipped demo sounds (assets/demo), plus
"mel fit": how far the linear power handed to Griffin-Lim is, in mel dB,
from the mel it should reproduce (before any phase retrieval), and speed in
x real time on a 10 s sound (best of 3, this machine's threads).

    flock /tmp/sda-heavy.lock python scripts/bench_inversion.py [--data DIR] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sda.audio.io import load_audio  # noqa: E402
from sda.audio.spectrogram import AudioSpectrogram  # noqa: E402
from sda.bench.fidelity import fidelity  # noqa: E402
from sda.bench.synth import make_benchmark_set  # noqa: E402


def _mel_power(spec: AudioSpectrogram, mel: torch.Tensor) -> torch.Tensor:
    return torch.pow(10.0, spec.mel_to_db(mel).clamp(max=40.0) / 10.0)


def _griffin_lim(
    spec: AudioSpectrogram, power: torch.Tensor, n: int, iters: int, zero_phase: bool = False
) -> torch.Tensor:
    magnitude = (power / spec._power_scale).sqrt()
    if not zero_phase:
        return spec.griffin_lim(magnitude, n, seed=0, iters=iters)
    mag = magnitude.transpose(1, 2).contiguous()  # the same momentum loop, phases starting at zero
    unit, previous = torch.ones_like(mag, dtype=torch.complex64), torch.zeros_like(mag, dtype=torch.complex64)
    for _ in range(iters):
        projected = spec._frames_stft(spec._frames_istft(mag * unit, n))
        accelerated = torch.lerp(projected, previous, -spec.config.griffin_lim_momentum)
        previous = projected
        unit = accelerated * (accelerated.real.square() + accelerated.imag.square()).clamp_min(1e-16).rsqrt()
    return spec._frames_istft(mag * unit, n)


def _euclidean_nnls(spec: AudioSpectrogram, mel_power: torch.Tensor, start: torch.Tensor, iters: int) -> torch.Tensor:
    basis = spec.mel_basis
    x, target = start.clamp_min(1e-15), basis.T @ mel_power
    for _ in range(iters):
        x = (x * target / (basis.T @ (basis @ x)).clamp_min(1e-15)).clamp_min(1e-15)
    return x


def candidates(spec: AudioSpectrogram) -> dict:
    """name -> (mel -> linear power or None, (mel, n) -> waveform)."""
    pinv = torch.from_numpy(np.linalg.pinv(spec.mel_basis.numpy().astype(np.float64))).float()
    gl = spec.config.griffin_lim_iters

    def pinv_power(m):
        return (pinv @ _mel_power(spec, m)).clamp_min(0.0)

    def pinv_magnitude(m):
        return (pinv @ _mel_power(spec, m).sqrt()).clamp_min(0.0) ** 2

    def kl(iters):
        return lambda m: spec.mel_inverse(_mel_power(spec, m), iters)

    def gl_of(power_fn, iters, zero_phase=False):
        return lambda m, n: _griffin_lim(spec, power_fn(m), n, iters, zero_phase)

    return {
        f"pinv+clamp, GL{gl} (before: fast)": (pinv_power, gl_of(pinv_power, gl)),
        f"pinv+clamp, GL{gl * 8}": (pinv_power, gl_of(pinv_power, gl * 8)),
        f"pinv+clamp, zero-phase GL{gl}": (pinv_power, gl_of(pinv_power, gl, True)),
        f"pinv of magnitude, GL{gl}": (pinv_magnitude, gl_of(pinv_magnitude, gl)),
        f"spread along triangles, GL{gl}": (kl(0), gl_of(kl(0), gl)),
        f"Euclid NNLS 50 from pinv, GL{gl}": (
            lambda m: _euclidean_nnls(spec, _mel_power(spec, m), pinv_power(m), 50),
            gl_of(lambda m: _euclidean_nnls(spec, _mel_power(spec, m), pinv_power(m), 50), gl),
        ),
        f"KL NNLS 10, GL{gl} (after: fast)": (kl(10), lambda m, n: spec.mel_to_waveform(m, n, quality="fast")),
        f"KL NNLS 100, GL{gl * 8}": (kl(100), gl_of(kl(100), gl * 8)),
        f"KL 100, GL{gl * 8} + mel refit (after: best)": (
            kl(100),
            lambda m, n: spec.mel_to_waveform(m, n, quality="best"),
        ),
    }


def mel_fit_db(spec: AudioSpectrogram, mel: torch.Tensor, power: torch.Tensor) -> float:
    """Mean |dB| between the input mel and the mel of the power estimate (floored at the input's max - 80 dB)."""
    target = spec.mel_to_db(mel)
    got = 10 * torch.log10((spec.mel_basis @ power).clamp_min(1e-20))
    floor = target.max() - 80.0
    return float((target.clamp_min(floor) - got.clamp_min(floor)).abs().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/tmp/sda_bench_inversion", help="where make_benchmark_set writes (reused)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    train, unseen = make_benchmark_set(args.data)
    sets = {
        "one-shots": [load_audio(p).audio for p in sorted(unseen.glob("*.wav")) + sorted(train.glob("*.wav"))[:20]],
        "demo": [load_audio(p).audio for p in sorted((ROOT / "assets" / "demo").glob("*.ogg"))],
    }
    spec = AudioSpectrogram()
    fb = spec.mel_basis
    counts = (fb > 0).sum(1)
    print(f"filterbank: {fb.shape[0]} bands; fewest bins under a band: {int(counts.min())}; "
          f"bands with one bin or none: {int((counts <= 1).sum())}; bins under no band: "
          f"{[int(i) for i in torch.nonzero(fb.sum(0) == 0).flatten()]}")
    long_clip = np.concatenate(sets["one-shots"])[: 10 * 48000]
    long_mel = spec.waveform_to_mel(torch.from_numpy(long_clip))

    header = "candidate".ljust(46) + "".join(f" | {name}: mel fit, mel-L1, LSD, MR-STFT" for name in sets) + " | speed"
    print(header)
    for name, (power_fn, invert) in candidates(spec).items():
        line = name.ljust(46)
        for clips in sets.values():
            fits, scores = [], []
            for audio in clips:
                mel = spec.waveform_to_mel(torch.from_numpy(audio))[None]
                fits.append(mel_fit_db(spec, mel[0], power_fn(mel)[0]))
                scores.append(fidelity(audio, invert(mel, len(audio))[0].numpy()))
            line += f" | {np.mean(fits):5.2f} " + " ".join(
                f"{np.mean([s[k] for s in scores]):6.3f}" for k in ("mel_l1_db", "lsd_db", "mrstft"))
        seconds = math.inf
        for _ in range(3):
            start = time.perf_counter()
            invert(long_mel[None], len(long_clip))
            seconds = min(seconds, time.perf_counter() - start)
        print(line + f" | {10.0 / seconds:6.1f}x real time", flush=True)


if __name__ == "__main__":
    main()
