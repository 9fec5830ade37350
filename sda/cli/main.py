"""Command line: ``python -m sda train | reconstruct | bench`` here, and the commands that use a model
(generate, axes, analyse, vary, morph, export-model) from generation.py."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sda.audio.io import write_wav
from sda.audio.validation import DatasetError, DurationLimits, decode_dataset, require_usable
from sda.cli.console import ConsoleReporter
from sda.cli.generation import add_generation_commands, add_set_option
from sda.generation.errors import GenerationError
from sda.runs.checkpoints import load_checkpoint, resolve_checkpoint
from sda.runs.device import resolve_device
from sda.runs.folder import data_inputs, new_run_dir
from sda.training.config import TrainingConfig, get_adaptive_config
from sda.training.runner import USER_ERRORS, TrainingRunner

# On one's own machine longer files are fine; the limits still stop a file that
# would decode to more audio than memory holds (a small FLAC can hold hours).
DEFAULT_MAX_FILE_MINUTES = 30.0
DEFAULT_MAX_TOTAL_MINUTES = 300.0


def _limits(args) -> DurationLimits:
    return DurationLimits.minutes(args.max_file_minutes, args.max_total_minutes)


def _limits_hint(dataset, args) -> None:
    if any(issue.over_limit for issue in dataset.issues):
        print(f"Some files pass the duration limits ({args.max_file_minutes:g} min per file, "
              f"{args.max_total_minutes:g} min in all; 0 = no limit): "
              "raise them with --max-file-minutes / --max-total-minutes to use those files.")


def _print_issues(dataset) -> None:
    for issue in dataset.issues:
        print(f"  skipped {issue.path}: {issue.reason}")


def _decode(inputs, label: str, args, list_issues: bool = True):
    def progress(done: int, total: int, name: str) -> None:
        if sys.stdout.isatty():
            print(f"\r\033[KDecoding {done}/{total}: {name}", end="" if done < total else "\n", flush=True)

    dataset = decode_dataset(inputs, progress=progress, limits=_limits(args))
    print(
        f"Dataset: {dataset.file_count} usable files, {dataset.total_duration_s:.1f} s of audio"
        + (f"; {len(dataset.issues)} skipped" + (":" if list_issues else " (listed below).") if dataset.issues else ".")
    )
    if list_issues:
        _print_issues(dataset)
    _limits_hint(dataset, args)
    require_usable(dataset, label)
    return dataset


def cmd_train(args) -> int:
    device = resolve_device(args.device)
    resume_path = None
    if args.resume:
        resume_path = resolve_checkpoint(Path(args.resume))
        state = load_checkpoint(resume_path)
        config = TrainingConfig.from_dict(state["config"])
        config.max_training_minutes = 0.0  # a shared server's time limit does not follow a run to your machine
        run_dir = Path(args.out) if args.out else resume_path.parent.parent
        inputs = [str(Path(args.data_dir).absolute())] if args.data_dir else data_inputs(resume_path.parent.parent)
        if not inputs:
            raise DatasetError("This run does not record its dataset; pass DATA_DIR along with --resume.")
        print(f"Resuming {resume_path} (epoch {state['epoch']}, step {state['step']}).")
    else:
        if not args.data_dir:
            raise DatasetError("Give the folder of sounds to train on: python -m sda train DATA_DIR")
        inputs = [str(Path(args.data_dir).absolute())]
    # Training itself reports each skipped file (as a warning), so it is not listed twice.
    dataset = _decode(inputs, str(inputs[0]), args, list_issues=False)
    if not args.resume:
        config = get_adaptive_config(dataset.file_count, args.preset)
        run_dir = Path(args.out) if args.out else new_run_dir(Path(args.runs_dir))
        print(f"Preset: {config.preset}. {config.preset_reason}")
    if args.epochs is not None:
        config.max_epochs = args.epochs
    if args.inversion_seconds is not None:
        config.inversion_seconds = args.inversion_seconds
    config.validate()
    print(f"Run folder: {run_dir}  (device {device}, {config.max_epochs} epochs)")

    reporter = ConsoleReporter()
    runner = TrainingRunner()
    if resume_path is not None:
        runner.resume(
            config, inputs, run_dir, device, resume_path, callback=reporter, decoded=dataset, release_audio=True
        )
    else:
        runner.start(config, inputs, run_dir, device, callback=reporter, decoded=dataset, release_audio=True)

    cancelled = {"flag": False}

    def on_interrupt(signum, frame):  # Ctrl-C: cancel like the UI's Cancel button
        if not cancelled["flag"]:
            cancelled["flag"] = True
            print("\nCancelling: saving a checkpoint...", flush=True)
            runner.cancel()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        while not runner.wait(timeout=0.2):
            pass
    finally:
        signal.signal(signal.SIGINT, previous)
    error = runner.last_error()
    if error is not None:
        if isinstance(error, USER_ERRORS):
            print(f"Error: {error}", file=sys.stderr)
            return 2
        # Not a user mistake: show the details so it can be reported.
        print(runner.last_error_details() or f"{type(error).__name__}: {error}", file=sys.stderr, end="")
        return 1
    result = runner.result() or {}
    if result.get("was_cancelled"):
        print(f"Cancelled. Checkpoint saved: {result.get('last_checkpoint_path')}")
        print(f"Resume with: python -m sda train --resume {run_dir}")
    else:
        print(f"Model (best checkpoint): {result.get('best_checkpoint_path')}")
    return 0


# Reconstructions are files a user keeps: the slower, closer inversion, with --set or without.
RECONSTRUCT_QUALITY = "best"


def _reconstructor(args) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The function ``reconstruct`` applies to each sound, and the model's sample rate.

    Both ways end in ``sda.generation.reconstruct.reconstruct_audio``: with
    --set the generator (which needs the model's axes, so its analysis) moves
    the latents; without, the model alone is enough, so a run whose sound
    files are gone still reconstructs. ``--set AXIS=0`` gives the same audio.
    """
    if args.set:
        from sda.generation import load_generator
        from sda.generation.axes import parse_setting

        gen = load_generator(args.model, args.device)
        axes = dict(parse_setting(text) for text in args.set)

        def through_generator(audio: np.ndarray) -> np.ndarray:
            sound = gen.resynthesise(audio, axes, quality=RECONSTRUCT_QUALITY)
            for note in sound.notes:
                print(f"Note: {note}")
            return sound.audio
        return through_generator, gen.sample_rate

    from sda.generation.loader import load_source
    from sda.generation.reconstruct import reconstruct_audio

    device = resolve_device(args.device)
    source = load_source(args.model)
    model, spectrogram = source.model.to(device).eval(), source.spectrogram.to(device)

    def through_model(audio: np.ndarray) -> np.ndarray:
        return reconstruct_audio(model, spectrogram, audio, quality=RECONSTRUCT_QUALITY)
    return through_model, spectrogram.config.sample_rate


def cmd_reconstruct(args) -> int:
    """``python -m sda reconstruct``: one WAV per input, same name, same length, through the model."""
    reconstruct, rate = _reconstructor(args)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    dataset = decode_dataset(args.inputs, limits=_limits(args))
    _print_issues(dataset)
    _limits_hint(dataset, args)
    require_usable(dataset, ", ".join(args.inputs))
    for clip in dataset.clips:
        started = time.perf_counter()
        audio = reconstruct(clip.audio)
        target = out_dir / (Path(clip.path).stem + ".wav")
        write_wav(target, audio, rate)
        print(f"{clip.path} -> {target} ({clip.duration_s:.2f} s in {time.perf_counter() - started:.2f} s)")
    return 0


def cmd_bench(args) -> int:
    from sda.bench.run import run_benchmark

    result = run_benchmark(
        Path(args.data_dir),
        epochs=args.epochs,
        heldout=Path(args.heldout) if args.heldout else None,
        preset=args.preset,
        device=args.device,
        out_dir=Path(args.out) if args.out else None,
        precision=args.precision,
        log=lambda text: print(text, file=sys.stderr, flush=True),
    )
    print(json.dumps(result))
    return 0


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give 0 (no limit) or a positive number of minutes")
    return value


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-file-minutes", type=_minutes, default=DEFAULT_MAX_FILE_MINUTES,
                        help=f"longest sound file to use; longer ones are skipped before decoding "
                             f"(default {DEFAULT_MAX_FILE_MINUTES:g}; 0 = no limit)")
    parser.add_argument("--max-total-minutes", type=_minutes, default=DEFAULT_MAX_TOTAL_MINUTES,
                        help=f"most audio to use in all (default {DEFAULT_MAX_TOTAL_MINUTES:g}; 0 = no limit)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sda", description="Train a small generative audio model on your own sounds."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train on a folder of sounds")
    train.add_argument("data_dir", nargs="?", help="folder (or file) of WAV/FLAC/OGG/AIFF/MP3 sounds")
    train.add_argument("--preset", default="auto", choices=["auto", "conservative", "balanced", "aggressive"])
    train.add_argument("--epochs", type=int, help="number of epochs (default: the preset's)")
    train.add_argument("--out", help="run folder to write (default: runs/run-<time>)")
    train.add_argument("--runs-dir", default="runs", help="where new run folders go (default: runs)")
    train.add_argument("--resume", help="run folder or checkpoint .pt to continue")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    train.add_argument("--inversion-seconds", type=float,
                       help="most seconds spent learning the model's own inversion after its epochs "
                            "(default 150; 0 = the standard inversion only)")
    _add_limit_options(train)
    train.set_defaults(func=cmd_train)

    rec = sub.add_parser("reconstruct", help="pass sounds through a trained model")
    rec.add_argument("--model", required=True, help="run folder, checkpoint .pt or .sdamodel file")
    rec.add_argument("inputs", nargs="+", help="files or folders")
    rec.add_argument("--out", required=True, help="folder for the reconstructed WAVs")
    rec.add_argument("--device", default="auto")
    _add_limit_options(rec)
    add_set_option(rec)
    rec.set_defaults(func=cmd_reconstruct)

    bench = sub.add_parser("bench", help="measure speed, memory and fidelity; prints one JSON line")
    bench.add_argument("data_dir")
    bench.add_argument("--epochs", type=int, help="epochs to train (default: the preset's)")
    bench.add_argument("--heldout", help="folder of unseen files to measure reconstruction fidelity on")
    bench.add_argument("--preset", default="auto", choices=["auto", "conservative", "balanced", "aggressive"])
    bench.add_argument("--device", default="auto")
    bench.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp32"])
    bench.add_argument("--out", help="run folder (default: a temporary one)")
    bench.set_defaults(func=cmd_bench)
    add_generation_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (*USER_ERRORS, GenerationError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
