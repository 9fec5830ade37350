"""``python -m sda invert``: each file's mel turned straight back to audio, no encoder or decoder in between.

What a sound loses to the representation alone (the ceiling every model's
reconstruction lives under), by each inversion method. With --model the mel
uses that model's spectrogram settings and normalisation and the model's
own inversion; without, sda's default spectrogram. One WAV (24-bit, the
input's level kept) and one JSON sidecar per input.
"""

from __future__ import annotations

import time
from pathlib import Path

from sda.audio.inversion_methods import INVERSION_METHODS, LEARNED
from sda.audio.spectrogram import AudioSpectrogram
from sda.audio.validation import DatasetError, decode_dataset, require_usable
from sda.generation import GenerationError, Sound, export_settings, save_sound
from sda.generation.inversion import METHOD_NAMES, has_learned_inversion, inversion_for
from sda.generation.naming import free_path, safe_stem
from sda.runs.device import DeviceError, resolve_device

DEFAULT_METHOD = "best"


def cmd_invert(args, limits) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GenerationError(f"--out '{out}' is a file; give a folder for the sounds.")
    try:
        device = resolve_device(args.device)
    except DeviceError as exc:
        raise GenerationError(str(exc)) from None
    source, model_settings = None, {}
    if args.model:
        from sda.generation.loader import load_source

        source = load_source(args.model)
        spectrogram = source.spectrogram.to(device)
        model_settings = {"model_name": source.name, "model_id": source.model_id, "model": str(args.model)}
    else:
        spectrogram = AudioSpectrogram(device=device)
    method = args.method or (LEARNED if has_learned_inversion(source) else DEFAULT_METHOD)  # the model's own
    inversion = inversion_for(spectrogram, method, source)
    dataset = decode_dataset(args.inputs, target_sr=spectrogram.config.sample_rate, limits=limits)
    named = {Path(p).resolve() for p in args.inputs if Path(p).is_file()}
    for issue in dataset.issues:
        if Path(issue.path).resolve() in named:  # a file asked for by name must not be skipped quietly
            raise DatasetError(f"Cannot invert '{issue.path}': {issue.reason}. Give a readable audio file.")
    for issue in dataset.issues:
        print(f"  skipped {issue.path}: {issue.reason}")
    require_usable(dataset, ", ".join(args.inputs))

    rate = spectrogram.config.sample_rate
    export = export_settings("wav", rate, "24", normalise=False)

    out.mkdir(parents=True, exist_ok=True)
    for clip in dataset.clips:
        started = time.perf_counter()
        audio = inversion.audio(clip.audio)
        took = time.perf_counter() - started
        settings = {"kind": "inversion", "method": method, "source_file": str(Path(clip.path).absolute()),
                    "seconds": clip.duration_s, "spectrogram": spectrogram.config.to_dict(), **model_settings}
        target = out / f"{safe_stem(Path(clip.path).stem)}.wav"
        audio_path, _ = save_sound(Sound(audio, rate, settings), target if args.force else free_path(target), export)
        print(f"{clip.path} -> {audio_path} ({clip.duration_s:.2f} s in {took:.2f} s, "
              f"{clip.duration_s / max(took, 1e-9):.0f}x real time)")
    return 0


def add_invert_command(sub, add_limit_options, limits) -> None:
    methods = "; ".join(f"{name}: {m.summary}" for name, m in INVERSION_METHODS.items())
    inv = sub.add_parser(
        "invert", help="turn each sound's mel straight back to audio (no model in between)",
        description="Each file's log-mel spectrogram turned back to audio, to hear what the representation keeps.",
    )
    inv.add_argument("inputs", nargs="+", help="files or folders")
    inv.add_argument("--out", required=True, help="folder for the WAVs and their sidecars")
    inv.add_argument("--model", help="run folder, checkpoint .pt or .sdamodel: use its spectrogram and inversion")
    inv.add_argument("--method", default=None, choices=METHOD_NAMES,
                     help=f"default: with --model its own inversion (learned where it kept one), "
                          f"else {DEFAULT_METHOD}. {methods}; learned: the model's own, where it has one")
    inv.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    inv.add_argument("--force", action="store_true", help="overwrite existing files of the same name")
    add_limit_options(inv)
    inv.set_defaults(func=lambda args: cmd_invert(args, limits(args)))


__all__ = ["add_invert_command", "cmd_invert"]
