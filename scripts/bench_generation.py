"""Benchmark generation: closeness to the corpus, level and shape, speed, determinism, long-sound joins.

    flock /tmp/sda-heavy.lock python scripts/bench_generation.py --run runs/bench60 --data bench_data

RUN is a run trained on DATA/train (``sda.bench.synth.make_benchmark_set``);
DATA/unseen holds real sounds of the same set that the model never saw.
Prints one line per figure group and a JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sda.audio.validation import decode_dataset  # noqa: E402
from sda.bench.quality import Embedding, features, level_figures, manifold_figures  # noqa: E402
from sda.generation import load_generator  # noqa: E402
from sda.generation.windows import JOIN_FRAMES  # noqa: E402


def standard_normal_sounds(gen, count: int, seconds: float) -> list[np.ndarray]:
    """What the previews did before: latents from N(0, I), decoded and inverted the same way."""
    samples = int(seconds * gen.sample_rate)
    frames = gen.spectrogram.config.frames_for(samples)
    out = []
    with torch.no_grad():
        for seed in range(count):
            z = torch.randn(
                1, gen.model.latent_dim, gen.model.latent_frames(frames), generator=torch.Generator().manual_seed(seed)
            )
            mel = gen.model.decode(z, frames)[0]
            out.append(gen.spectrogram.mel_to_waveform(mel, samples, seed=seed).numpy())
    return out


def timed(fn, repeats: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def join_figures(gen, seconds: float = 30.0, evolve: float = 0.5) -> dict:
    """Level dips at window joins (frame RMS) and sample jumps at joins against the rest of the sound."""
    sound = gen.generate(seconds=seconds, seed=1, evolve=evolve).audio.astype(np.float64)
    hop_samples = gen.spectrogram.config.hop_length
    window = gen.window * gen.model.time_stride * hop_samples
    hop = window - JOIN_FRAMES * hop_samples
    joins = [k * hop + JOIN_FRAMES * hop_samples // 2 for k in range(1, int(len(sound) / hop))]
    frame = 256
    count = len(sound) // frame
    rms = 10 * np.log10(np.mean(sound[: count * frame].reshape(count, frame) ** 2, 1) + 1e-12)
    dips = []
    for centre in joins:
        at = centre // frame
        before, after = rms[at - 16 : at - 6].mean(), rms[at + 6 : at + 16].mean()
        dips.append(min(before, after) - rms[at - 3 : at + 4].min())  # > 0: quieter at the join than either side
    jumps = np.abs(np.diff(sound))
    near = np.zeros(len(jumps), dtype=bool)
    for centre in joins:
        near[max(centre - 480, 0) : centre + 480] = True
    return {"joins": len(joins), "join_worst_dip_db": float(max(dips)),
            "join_max_jump_vs_elsewhere": float(jumps[near].max() / jumps[~near].max())}


def axis_agreement(gen, seeds: int = 12) -> dict:
    """Per named axis: share of seeds whose rendered audio moves its first descriptor the named way (-1.5 -> +1.5)."""
    from sda.generation.descriptors import NAMES, band_frequencies, describe_db

    band = band_frequencies(gen.spectrogram.mel_basis, gen.sample_rate)
    frame_s = gen.spectrogram.config.hop_length / gen.sample_rate
    out = {}
    for axis in gen.axes:
        name = axis.key.split("+")[0].rstrip("0123456789")  # "brightness+decay": brightness; "level2": level
        if name not in NAMES:
            continue
        moves = []
        for seed in range(seeds):
            pair = [gen.generate(1.5, seed, {axis.key: value}).audio for value in (-1.5, 1.5)]
            db = torch.stack([gen.spectrogram.waveform_to_db(torch.from_numpy(a)) for a in pair])
            values = describe_db(db, band, frame_s)[:, NAMES.index(name)]
            moves.append(values[1] > values[0])
        out[axis.key] = round(float(np.mean(moves)), 2)
    return out


def analysis_speed(gen, count: int = 500) -> float:
    """Seconds to analyse ``count`` synthetic one-shots with this model (their spectrograms given)."""
    from sda.bench.synth import KINDS, make_sound
    from sda.generation.analysis import analyse

    rng = np.random.default_rng(3)
    mels = [
        gen.spectrogram.waveform_to_mel(torch.from_numpy(make_sound(KINDS[i % len(KINDS)], rng))) for i in range(count)
    ]
    started = time.perf_counter()
    analyse(gen.model, gen.spectrogram, mels, gen.model_id)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default="runs/bench60")
    parser.add_argument("--data", default="bench_data")
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-analysis-speed", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = load_generator(args.run, "cpu")
    spec = gen.spectrogram
    train = [c.audio for c in decode_dataset([Path(args.data) / "train"]).clips]
    unseen = [c.audio for c in decode_dataset([Path(args.data) / "unseen"]).clips]
    embed = Embedding(features(spec, train))
    reference = embed(features(spec, train))
    sets = {
        "unseen_real": unseen,
        "data_prior": [gen.generate(args.seconds, seed).audio for seed in range(args.count)],
        "normal_prior": standard_normal_sounds(gen, args.count, args.seconds),
    }
    report: dict = {
        "run": args.run,
        "train_files": len(train),
        "generated": args.count,
        "axes": [a.key for a in gen.axes],
    }
    report["train_real"] = {k: round(v, 3) for k, v in level_figures(spec, train).items()}
    print(f"train real      : {report['train_real']}")
    for name, sounds in sets.items():
        figures = manifold_figures(reference, embed(features(spec, sounds)))
        figures.update(level_figures(spec, sounds))
        report[name] = {k: round(v, 3) for k, v in figures.items()}
        print(f"{name:<16}: {report[name]}")

    fast2 = timed(lambda: gen.generate(2.0, 7))
    best2 = timed(lambda: gen.generate(2.0, 7, quality="best"))
    fast10 = timed(lambda: gen.generate(10.0, 7))
    best10 = timed(lambda: gen.generate(10.0, 7, quality="best"))
    report["speed"] = {
        "gen_2s_fast_s": round(fast2, 3),
        "gen_2s_best_s": round(best2, 3),
        "gen_10s_fast_realtime_x": round(10 / fast10, 1),
        "gen_10s_best_realtime_x": round(10 / best10, 1),
        "threads": args.threads,
    }
    print(f"speed           : {report['speed']}")
    same = all(
        np.array_equal(gen.generate(2.5, s, evolve=0.3).audio, gen.generate(2.5, s, evolve=0.3).audio) for s in range(3)
    )
    lengths = all(
        len(gen.generate(s, 4).audio) == round(s * gen.sample_rate) for s in (0.1, 0.333, 1.0, 2.5, 13.7, 60.0)
    )
    report["exact"] = {"same_seed_identical": same, "exact_lengths": lengths}
    print(f"exactness       : {report['exact']}")
    report["axis_agreement"] = axis_agreement(gen)
    print(f"axes (audio)    : {report['axis_agreement']}")
    report["joins"] = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in join_figures(gen).items()}
    print(f"long sound joins: {report['joins']}")
    if not args.skip_analysis_speed:
        report["analysis_500_files_s"] = round(analysis_speed(gen), 2)
        print(f"analysis        : 500 files in {report['analysis_500_files_s']} s")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
