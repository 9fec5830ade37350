"""An instrument as one zip: the samples (with sidecars), the .sfz and/or .sf2, and a readme.

One gain for every sample of the instrument (its loudest true peak to -1
dBFS), so the pads' relative levels and the velocity layers hold and nothing
clips. The zip is written to a temp file beside its target and renamed over
it at the end: an error leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from sda.atomic import atomic_path
from sda.audio.export import ExportSettings
from sda.audio.resampling import resample, true_peak
from sda.audio.sampler_zones import sfz_text
from sda.audio.sf2 import sf2_bytes, sf2_velocity_slice
from sda.generation.errors import GenerationError
from sda.generation.generator import Sound
from sda.generation.instrument import Instrument
from sda.generation.naming import safe_stem
from sda.generation.output import save_sound

FORMATS = {"sfz": ("sfz",), "sf2": ("sf2",), "both": ("sfz", "sf2")}
PEAK_DBFS = -1.0
SAMPLES = "samples"
LEVEL_RULE = "instrument"  # one gain for every sample of the instrument: its loudest true peak at PEAK_DBFS


def check_format(fmt: str) -> tuple[str, ...]:
    if fmt not in FORMATS:
        raise GenerationError(f"Unknown instrument format '{fmt}' (--format): use sfz, sf2 or both.")
    return FORMATS[fmt]


def instrument_gain(instrument: Instrument) -> float:
    """The one gain that brings the loudest sample's true peak to PEAK_DBFS."""
    peak = max((true_peak(take.audio) for take in instrument.takes), default=0.0)
    if peak <= 0:
        raise GenerationError("Every sound of this instrument came out silent; try other --set positions or seeds.")
    return 10 ** (PEAK_DBFS / 20) / peak


def write_instrument(instrument: Instrument, out: Path, fmt: str = "both", sample_rate: int = 48000,
                     bit_depth: str = "24", model: dict | None = None) -> Path:
    """Write ``instrument`` as the zip ``out``; return its path."""
    formats = check_format(fmt)
    export = ExportSettings("wav", sample_rate, bit_depth, normalise=False)
    try:
        export.validate()
    except ValueError as exc:
        raise GenerationError(f"Export setting refused: {exc}.") from None
    gain = instrument_gain(instrument)
    gain_db = 20 * float(np.log10(gain))
    stem = safe_stem(instrument.name, "instrument")
    out = Path(out)
    work = Path(tempfile.mkdtemp(prefix=".instrument-", dir=out.parent if out.parent.is_dir() else None))
    try:
        with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            rendered = {}
            for take in instrument.takes:
                audio = take.audio * np.float32(gain)
                settings = dict(take.settings, kind="instrument_sample", instrument=instrument.kind,
                                model_name=instrument.name, instrument_gain_db=round(gain_db, 3),
                                note_low=take.zone.lokey, note_high=take.zone.hikey, key_centre=take.zone.keycenter,
                                velocity_low=take.zone.lovel, velocity_high=take.zone.hivel, **(model or {}))
                audio_path, sidecar = save_sound(Sound(take.audio, instrument_rate(take), settings),
                                                 work / take.name, export, gain_db=gain_db, rule=LEVEL_RULE)
                for path in (audio_path, sidecar):
                    zf.write(path, f"{SAMPLES}/{path.name}")
                    path.unlink()
                rendered[f"{SAMPLES}/{take.name}"] = resample(audio, instrument_rate(take), sample_rate)
            zones = [_in_folder(take.zone) for take in instrument.takes]
            if "sfz" in formats:
                zf.writestr(f"{stem}.sfz", sfz_text(zones, f"{instrument.name}: {instrument.kind}"))
            if "sf2" in formats:
                zf.writestr(f"{stem}.sf2", sf2_bytes(instrument.name, zones, rendered, sample_rate))
            zf.writestr("readme.txt", readme(instrument, stem, formats, sample_rate, bit_depth, gain_db))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def instrument_rate(take) -> int:
    return int(take.settings.get("sample_rate") or 48000)


def _in_folder(zone):
    return replace(zone, sample=f"{SAMPLES}/{zone.sample}")


def _slices(takes) -> str:
    return "/".join("{}-{}".format(*sf2_velocity_slice(take.zone)) for take in takes)


def readme(instrument: Instrument, stem: str, formats: tuple[str, ...], rate: int, depth: str, gain_db: float) -> str:
    takes = instrument.takes
    layers = len({(t.zone.lovel, t.zone.hivel) for t in takes})
    robins = max(t.zone.seq_length for t in takes)
    files = " and ".join(f"{stem}.{f}" for f in formats)
    first = takes[0].zone
    lines = [
        f"{instrument.name}: a {instrument.kind} instrument made with sda",
        "",
        f"Load {files} in your sampler (the SFZ reads the WAVs in {SAMPLES}/; the SF2 holds its own copy).",
        f"{len(takes)} samples, WAV {rate} Hz {depth}-bit, each with a JSON sidecar of the settings that made it.",
        f"Velocity layers: {layers} per sound, soft to loud"
        + (f" ({first.lovel}-{first.hivel}, ...)" if layers > 1 else "") + ".",
        f"Round robins: {robins} takes per layer"
        + (" (SFZ: played in turn; SF2 has no round robin, so each take gets a slice of the layer's "
           f"velocities instead, e.g. {_slices(takes[:robins])})"
           if robins > 1 else "") + ".",
        f"One gain for all samples ({gain_db:+.2f} dB), so their levels relative to each other are the model's.",
        *instrument.notes,
        "",
        "Which note plays what:",
        *instrument.lines,
        "",
    ]
    return "\n".join(lines)
