"""Command line for using a trained model: generate, axes, analyse, vary, morph, export-model.

Each command loads MODEL (a run folder, a checkpoint .pt or a .sdamodel
file) through ``sda.generation`` and writes sounds with a JSON sidecar each.
Existing files are never overwritten unless --force is given.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sda.audio.io import AudioLoadError, load_audio
from sda.generation import GenerationError, export_model_file, export_settings, load_generator, save_sound
from sda.generation.axes import parse_setting
from sda.generation.checks import SECONDS_RANGE
from sda.generation.naming import free_path, safe_stem


def _axes(args) -> dict[str, float]:
    return dict(parse_setting(text) for text in (args.set or []))


def _export(args):
    return export_settings(args.format, args.sample_rate, args.bit_depth, normalise=args.normalise)


def _read(path: str, sample_rate: int):
    try:
        return load_audio(path, sample_rate).audio
    except AudioLoadError as exc:
        raise GenerationError(f"Sound file '{path}' cannot be used: {exc}.") from None


def _save(sound, out_dir: Path, stem: str, args) -> None:
    settings = _export(args)
    target = out_dir / f"{safe_stem(stem)}.{settings.format}"
    if not args.force:
        target = free_path(target)
    for note in sound.notes:
        print(f"Note: {note}")
    audio_path, _ = save_sound(sound, target, settings)
    print(f"{audio_path}  ({sound.seconds:.2f} s)")


def _out_dir(args) -> Path:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise GenerationError(f"--out '{out}' is a file; give a folder for the sounds.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def cmd_generate(args) -> int:
    gen = load_generator(args.model, args.device)
    out = _out_dir(args)
    if not 1 <= args.count <= 1000:
        raise GenerationError(f"--count {args.count} must be from 1 to 1000.")
    axes = _axes(args)
    for number in range(args.count):
        seed = args.seed + number
        sound = gen.generate(args.seconds, seed, axes, args.evolve, quality="best")
        if number > 0:
            sound.notes = []  # the same clamping notes for every sound: say them once
        _save(sound, out, f"{gen.name}_seed{seed}", args)
    return 0


def cmd_vary(args) -> int:
    gen = load_generator(args.model, args.device)
    out = _out_dir(args)
    audio = _read(args.file, gen.sample_rate)
    stem = Path(args.file).stem
    for sound in gen.vary(audio, args.count, args.amount, args.seed, _axes(args), quality="best"):
        sound.settings["source_file"] = str(Path(args.file).absolute())
        _save(sound, out, f"{stem}_var{sound.settings['variation'] + 1}", args)
    return 0


def cmd_morph(args) -> int:
    gen = load_generator(args.model, args.device)
    out = _out_dir(args)
    audio_a, audio_b = _read(args.file_a, gen.sample_rate), _read(args.file_b, gen.sample_rate)
    name = f"{Path(args.file_a).stem}_to_{Path(args.file_b).stem}"
    files = {"source_a_file": str(Path(args.file_a).absolute()), "source_b_file": str(Path(args.file_b).absolute())}
    if args.seconds is not None:
        sound = gen.morph_continuous(audio_a, audio_b, args.seconds, quality="best")
        sound.settings.update(files)
        _save(sound, out, name, args)
        return 0
    for sound in gen.morph(audio_a, audio_b, args.steps, quality="best"):
        sound.settings.update(files)
        _save(sound, out, f"{name}_{sound.settings['step'] + 1:02d}", args)
    return 0


def cmd_axes(args) -> int:
    gen = load_generator(args.model, args.device)
    if args.json:
        print(
            json.dumps({"model": gen.name, "model_id": gen.model_id, "axes": [a.to_dict() for a in gen.axes]}, indent=2)
        )
        return 0
    print(f"Axes of {gen.name} (values in standard deviations of its training sounds; 0 = their centre):")
    _print_axes(gen.axes)
    print(
        "Use them with --set NAME=VALUE or --set NUMBER=VALUE, e.g. --set "
        + (f"{gen.axes[0].key}=1.0" if gen.axes else "1=1.0")
    )
    return 0


def cmd_analyse(args) -> int:
    from sda.generation.analysis import save_analysis
    from sda.generation.loader import load_source
    from sda.generation.model_file import write_model_file
    from sda.generation.run_analysis import analysis_for, analysis_home

    source = load_source(args.model)
    data = [Path(p) for p in args.data] if args.data else None
    analysis = analysis_for(source, data=data, recompute=True, save=False)
    if source.is_model_file:
        write_model_file(source, analysis, args.model, overwrite=True)
        where = f"stored in {args.model}"
    else:
        where = f"stored in {save_analysis(analysis_home(source), analysis)}"
    seconds = analysis.info.get("seconds_taken", 0.0)
    print(
        f"Analysed {analysis.info.get('sounds')} sounds ({analysis.info.get('windows')} windows) in {seconds:.1f} s; "
        f"{where}."
    )
    _print_axes(analysis.axes)
    return 0


def _print_axes(axes) -> None:
    """One line per axis: number, name, what its two ends sound like, its share and safe range."""
    width = max((len(a.key) for a in axes), default=0)
    for axis in axes:
        low, high = axis.ends
        old = f"   (was: {', '.join(axis.aliases)})" if axis.aliases else ""
        print(f"  {axis.index}  {axis.key:<{width}}  {low} <-> {high}   {axis.share * 100:4.1f}% of variation, "
              f"safe {axis.safe_min:+.2f} .. {axis.safe_max:+.2f}{old}")


def cmd_export_model(args) -> int:
    path = export_model_file(args.run, args.out, name=args.name, description=args.description, overwrite=args.force)
    print(f"Model file: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default="wav", help="wav, flac, ogg or mp3 (default wav)")
    parser.add_argument("--sample-rate", type=int, default=48000, help="44100, 48000 or 96000 (default 48000)")
    parser.add_argument("--bit-depth", default="24", help="16, 24 or 32f (WAV/FLAC; default 24)")
    level = parser.add_mutually_exclusive_group()
    level.add_argument("--normalise", "--normalize", action="store_true",
                       help="each sound's peak to -1 dBFS on its own (default: the model's level, one gain for all "
                            "its sounds, so soft sounds stay soft)")
    level.add_argument("--keep-level", action="store_true", help="the model's level (the default; kept for scripts)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files instead of numbering new ones")
    parser.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")


def add_generate_options(parser: argparse.ArgumentParser) -> None:
    """What ``generate`` takes besides its count and output folder (``pack`` takes the same)."""
    parser.add_argument("--seconds", type=float, default=2.0, help=f"length of each sound, {SECONDS_RANGE} (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="first seed; sound N uses seed + N")
    parser.add_argument("--evolve", type=float, default=0.0,
                        help="0..1: how much a long sound changes window to window")
    add_set_option(parser)
    add_output_options(parser)


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", metavar="AXIS=VALUE",
                        help="move along an axis by name or number, e.g. brightness=0.8 or 2=-1.5 (repeatable)")


def add_generation_commands(sub) -> None:
    model_help = "run folder, checkpoint .pt or .sdamodel file"
    gen = sub.add_parser("generate", help="make new sounds with a trained model")
    gen.add_argument("--model", required=True, help=model_help)
    gen.add_argument("--out", required=True, help="folder for the sounds")
    gen.add_argument("--count", type=int, default=1)
    add_generate_options(gen)
    gen.set_defaults(func=cmd_generate)

    axes = sub.add_parser("axes", help="list a model's axes")
    axes.add_argument("--model", required=True, help=model_help)
    axes.add_argument("--json", action="store_true")
    axes.add_argument("--device", default="cpu")
    axes.set_defaults(func=cmd_axes)

    analyse = sub.add_parser("analyse", help="(re)compute a model's axes and prior from its training sounds")
    analyse.add_argument("model", help=model_help)
    analyse.add_argument("--data", nargs="+", help="its sound files or folders (default: those the run recorded)")
    analyse.set_defaults(func=cmd_analyse)

    vary = sub.add_parser("vary", help="variations of a sound")
    vary.add_argument("--model", required=True, help=model_help)
    vary.add_argument("file")
    vary.add_argument("--out", required=True)
    vary.add_argument("--count", type=int, default=4)
    vary.add_argument("--amount", type=float, default=0.5, help="0..1; 0 is the plain reconstruction")
    vary.add_argument("--seed", type=int, default=0)
    add_set_option(vary)
    add_output_options(vary)
    vary.set_defaults(func=cmd_vary)

    morph = sub.add_parser("morph", help="morph one sound into another")
    morph.add_argument("--model", required=True, help=model_help)
    morph.add_argument("file_a")
    morph.add_argument("file_b")
    morph.add_argument("--out", required=True)
    how = morph.add_mutually_exclusive_group()
    how.add_argument("--steps", type=int, default=5, help="number of files from A to B (default 5)")
    how.add_argument("--seconds", type=float, help="instead: one sound this long turning from A into B")
    add_output_options(morph)
    morph.set_defaults(func=cmd_morph)

    export = sub.add_parser("export-model", help="write a run as one self-contained .sdamodel file")
    export.add_argument("run", help="run folder or checkpoint .pt")
    export.add_argument("--out", required=True, help="NAME.sdamodel")
    export.add_argument("--name", help="the model's name (default: the run's)")
    export.add_argument("--description", help="a line about the model")
    export.add_argument("--force", action="store_true", help="overwrite an existing file")
    export.set_defaults(func=cmd_export_model)
