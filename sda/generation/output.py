"""Writing a sound to disk: the audio file (``sda.audio.export``) plus a JSON sidecar with every setting
that made it, and the level rule it was written by (``level.py``): the model's level (the default) or
normalised on its own."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from sda.atomic import atomic_write_json
from sda.audio.export import ExportSettings, export_audio_report
from sda.generation.errors import GenerationError
from sda.generation.level import MODEL_RULE, NORMALISED_RULE

SIDECAR_VERSION = 1


def export_settings(
    format: str = "wav", sample_rate: int = 48000, bit_depth: str = "24", normalise: bool = False
) -> ExportSettings:
    """Checked ExportSettings; GenerationError naming the setting at fault and the values allowed."""
    settings = ExportSettings(format=format, sample_rate=sample_rate, bit_depth=bit_depth, normalise=bool(normalise))
    try:
        settings.validate()
    except ValueError as exc:
        raise GenerationError(f"Export setting refused: {exc}.") from None
    return settings


def save_sound(sound, path: Path, export: ExportSettings | None = None, *, gain_db: float | None = None,
               rule: str | None = None) -> tuple[Path, Path]:
    """Write ``sound`` to ``path`` (its suffix set by the format) and a .json sidecar; return both paths.

    The level: the model's (its one gain, ``sound.settings["level_gain_db"]``) unless ``export.normalise``.
    ``gain_db`` replaces the model's gain (a pack's shared gain, with ``rule`` naming it in the sidecar).
    """
    asked = settings = export if export is not None else ExportSettings()
    values = sound.settings
    model_gain = float(values.get("level_gain_db", 0.0) or 0.0)
    if gain_db is not None:
        settings = replace(settings, normalise=False)
    gain = model_gain if gain_db is None else float(gain_db)
    rule = rule or (NORMALISED_RULE if settings.normalise else MODEL_RULE)
    tags = {"title": Path(path).stem, "model": str(values.get("model_name", "")), "software": "sda",
            "comment": f"sda model {values.get('model_id', '')}, {values.get('kind', 'sound')}"
                       + (f", seed {values['seed']}" if "seed" in values else "")}
    if "seed" in values:
        tags["seed"] = str(values["seed"])
    try:
        result = export_audio_report(Path(path), sound.audio, sound.sample_rate, settings, tags=tags, gain_db=gain)
    except ValueError as exc:
        raise GenerationError(f"Could not write '{path}': {exc}.") from None
    except OSError as exc:
        raise GenerationError(f"Could not write '{path}' ({exc.strerror or exc}).") from None
    written = result.path
    sidecar = Path(written).with_suffix(".json")
    level = {"rule": rule, "model_gain_db": round(model_gain, 3), "gain_db": round(result.gain_db, 3),
             "peak_dbfs": round(result.peak_dbfs, 3) if result.peak_dbfs > -1e9 else None,
             "limited": result.limited}
    record = {"sda_sound": SIDECAR_VERSION, "file": Path(written).name, "created_at": time.time(),
              "settings": values, "export": asked.to_dict(), "level": level, "notes": list(sound.notes)}
    atomic_write_json(sidecar, json.loads(json.dumps(record, default=str)))
    return Path(written), sidecar


def read_sidecar(path: Path) -> dict:
    """A sound's sidecar, as written by ``save_sound``."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise GenerationError(f"Sidecar '{path}' could not be read ({exc}).") from None
