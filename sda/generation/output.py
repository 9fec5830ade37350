"""Writing a sound to disk: the audio file (``sda.audio.export``) plus a JSON sidecar with every setting
that made it."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sda.atomic import atomic_write_json
from sda.audio.export import ExportSettings, export_audio
from sda.generation.errors import GenerationError

SIDECAR_VERSION = 1


def export_settings(
    format: str = "wav", sample_rate: int = 48000, bit_depth: str = "24", normalise: bool = True
) -> ExportSettings:
    """Checked ExportSettings; GenerationError naming the setting at fault and the values allowed."""
    settings = ExportSettings(format=format, sample_rate=sample_rate, bit_depth=bit_depth, normalise=bool(normalise))
    try:
        settings.validate()
    except ValueError as exc:
        raise GenerationError(f"Export setting refused: {exc}.") from None
    return settings


def save_sound(sound, path: Path, export: ExportSettings | None = None) -> tuple[Path, Path]:
    """Write ``sound`` to ``path`` (its suffix set by the format) and a .json sidecar; return both paths."""
    settings = export if export is not None else ExportSettings()
    values = sound.settings
    tags = {"title": Path(path).stem, "model": str(values.get("model_name", "")), "software": "sda",
            "comment": f"sda model {values.get('model_id', '')}, {values.get('kind', 'sound')}"
                       + (f", seed {values['seed']}" if "seed" in values else "")}
    if "seed" in values:
        tags["seed"] = str(values["seed"])
    try:
        written = export_audio(Path(path), sound.audio, sound.sample_rate, settings, tags=tags)
    except ValueError as exc:
        raise GenerationError(f"Could not write '{path}': {exc}.") from None
    except OSError as exc:
        raise GenerationError(f"Could not write '{path}' ({exc.strerror or exc}).") from None
    sidecar = Path(written).with_suffix(".json")
    record = {"sda_sound": SIDECAR_VERSION, "file": Path(written).name, "created_at": time.time(),
              "settings": values, "export": settings.to_dict(), "notes": list(sound.notes)}
    atomic_write_json(sidecar, json.loads(json.dumps(record, default=str)))
    return Path(written), sidecar


def read_sidecar(path: Path) -> dict:
    """A sound's sidecar, as written by ``save_sound``."""
    try:
        return json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise GenerationError(f"Sidecar '{path}' could not be read ({exc}).") from None
