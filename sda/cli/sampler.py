"""``python -m sda instrument`` (a sampler instrument, SFZ and/or SF2, in a zip) and ``python -m sda pack``
(a sample pack in a zip). Both write one zip, renamed in when complete; an existing zip is kept and the new
one numbered unless --force."""

from __future__ import annotations

import sys
from pathlib import Path

from sda.cli.generation import _axes, _export, add_generate_options, add_set_option
from sda.generation import GenerationError, load_generator
from sda.generation.checks import SECONDS_RANGE
from sda.generation.naming import free_path


def _zip_path(text: str, force: bool) -> Path:
    out = Path(text)
    if out.suffix.lower() != ".zip":
        out = out.with_name(out.name + ".zip")
    if out.is_dir():
        raise GenerationError(f"--out '{out}' is a folder; give a file name ending in .zip.")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out if force else free_path(out)


def _progress(what: str):
    def show(done: int, total: int) -> None:
        if sys.stdout.isatty():
            print(f"\r\033[K{what} {done}/{total}", end="" if done < total else "\n", flush=True)
    return show


def cmd_instrument(args) -> int:
    from sda.generation.instrument import InstrumentRequest, make_instrument
    from sda.generation.instrument_files import check_format, write_instrument
    from sda.generation.output import export_settings

    check_format(args.format)
    export_settings("wav", args.sample_rate, args.bit_depth, normalise=False)
    request = InstrumentRequest(kind=args.kind, pads=args.pads, velocity_layers=args.velocity_layers,
                                round_robins=args.round_robins, root=args.root, seconds=args.seconds,
                                seed=args.seed, choke=args.choke, step=args.step, span=args.span)
    request.checked()  # bad settings are refused before the model loads
    gen = load_generator(args.model, args.device)
    request.axes = _axes(args)
    instrument = make_instrument(gen, request, _progress("Sounds"))
    out = _zip_path(args.out, args.force)
    write_instrument(instrument, out, args.format, args.sample_rate, args.bit_depth,
                     model={"model_id": gen.model_id})
    for note in instrument.notes:
        print(f"Note: {note}")
    print(f"{out}  ({instrument.kind}, {len(instrument.takes)} samples, {out.stat().st_size / 1e6:.1f} MB)")
    for line in instrument.lines:
        print(f"  {line}")
    return 0


def cmd_pack(args) -> int:
    from sda.generation.pack import PackRequest, make_pack

    export = _export(args)
    gen = load_generator(args.model, args.device)
    request = PackRequest(args.count, args.seconds, args.seed, args.evolve, _axes(args), args.random_positions)
    out = _zip_path(args.out, args.force)
    make_pack(gen, out, request, export, progress=_progress("Sounds"))
    print(f"{out}  ({args.count} sounds, {out.stat().st_size / 1e6:.1f} MB)")
    return 0


def add_sampler_commands(sub, model_help: str = "run folder, checkpoint .pt or .sdamodel file") -> None:
    inst = sub.add_parser("instrument", help="a sampler instrument (SFZ and/or SF2) made from a model, in a zip")
    inst.add_argument("--model", required=True, help=model_help)
    inst.add_argument("--out", required=True, help="NAME.zip")
    inst.add_argument("--kind", default="kit", help="kit (different sounds on consecutive notes, default) or pitched "
                                                    "(one sound across the keyboard)")
    inst.add_argument("--format", default="both", help="sfz, sf2 or both (default both)")
    inst.add_argument("--pads", type=int, default=16, help="kit: number of pads (default 16)")
    inst.add_argument("--velocity-layers", type=int, default=3,
                      help="layers per sound along the model's level axis, soft to loud (default 3)")
    inst.add_argument("--round-robins", type=int, default=2, help="takes per layer, played in turn (default 2)")
    inst.add_argument("--root", type=int, help="kit: the first pad's MIDI note (default 36); pitched: the note the "
                                               "sound is made at (default 60)")
    inst.add_argument("--seconds", type=float, help=f"length of each sound, {SECONDS_RANGE} "
                                                    "(default 1 for a kit, 2 pitched)")
    inst.add_argument("--seed", type=int, default=0, help="first seed; pad N uses seed + N")
    inst.add_argument("--choke", default="auto", help="auto (hi-hat-like pads choke each other, default) or off")
    inst.add_argument("--step", type=int, default=3, help="pitched: semitones between samples (default 3)")
    inst.add_argument("--span", type=int, default=24, help="pitched: semitones sampled each side of the root "
                                                           "(default 24)")
    inst.add_argument("--sample-rate", type=int, default=48000, help="44100, 48000 or 96000 (default 48000)")
    inst.add_argument("--bit-depth", default="24", help="of the WAVs: 16, 24 or 32f (default 24; the SF2 is 16-bit)")
    inst.add_argument("--force", action="store_true", help="overwrite an existing zip instead of numbering a new one")
    inst.add_argument("--device", default="cpu", help="auto, cpu, cuda or mps (default cpu)")
    add_set_option(inst)
    inst.set_defaults(func=cmd_instrument)

    pack = sub.add_parser("pack", help="a sample pack: many new sounds in one zip")
    pack.add_argument("--model", required=True, help=model_help)
    pack.add_argument("--out", required=True, help="PACK.zip")
    pack.add_argument("--count", type=int, default=8, help="number of sounds (default 8)")
    pack.add_argument("--random-positions", action="store_true",
                      help="each sound at random positions inside the axes' safe ranges (default: the --set ones)")
    add_generate_options(pack)
    pack.set_defaults(func=cmd_pack)
