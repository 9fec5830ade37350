"""Named settings of one model (sliders, seed, duration, evolve), kept per browser.

Stored as ``<workspace>/play/presets.json``: {model key: {preset name: settings}},
written atomically. A preset of one model never shows under another: axes
mean different things in different models.
"""

from __future__ import annotations

import math
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sda.atomic import atomic_write_json
from sda.server.store_file import read_store

MAX_NAME = 60
MAX_PRESETS = 200  # per model


@dataclass
class Preset:
    """What a preset brings back."""

    axes: dict[str, float] = field(default_factory=dict)  # axis key -> slider value
    seed: int = 0
    seconds: float = 2.0
    evolve: float = 0.0

    @classmethod
    def from_dict(cls, data: dict) -> Preset:
        axes = {str(k): float(v) for k, v in dict(data.get("axes", {})).items() if _finite(v)}
        return cls(axes, int(data.get("seed", 0)), float(data.get("seconds", 2.0)), float(data.get("evolve", 0.0)))


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def clean_name(name: str) -> str:
    """One line, no surrounding blanks; ValueError when nothing is left."""
    name = " ".join(str(name or "").split())[:MAX_NAME]
    if not name:
        raise ValueError("Give the preset a name first (in the box beside Save).")
    return name


# One lock for every read-modify-write of these JSON files: two pages of one
# browser may save at the same moment.
_WRITE_LOCK = threading.RLock()


class PresetStore:
    """Presets of one workspace, grouped by model key."""

    def __init__(self, play_dir: Path) -> None:
        self.path = Path(play_dir) / "presets.json"

    def names(self, model_key: str) -> list[str]:
        return sorted(self._all().get(model_key, {}), key=str.casefold)

    def get(self, model_key: str, name: str) -> Preset | None:
        data = self._all().get(model_key, {}).get(name)
        return Preset.from_dict(data) if isinstance(data, dict) else None

    def save(self, model_key: str, name: str, preset: Preset) -> str:
        """Store ``preset`` under ``name`` (replacing one of that name); returns the name used."""
        with _WRITE_LOCK:
            name = clean_name(name)
            data = self._all()
            presets = data.setdefault(model_key, {})
            if name not in presets and len(presets) >= MAX_PRESETS:
                raise ValueError(f"This model already has {MAX_PRESETS} presets; delete some first.")
            presets[name] = asdict(preset)
            atomic_write_json(self.path, data)
            return name

    def rename(self, model_key: str, old: str, new: str) -> str:
        with _WRITE_LOCK:
            new = clean_name(new)
            data = self._all()
            presets = data.get(model_key, {})
            if old not in presets:
                raise ValueError(f"There is no preset '{old}' for this model.")
            if new != old and new in presets:
                raise ValueError(f"A preset named '{new}' exists already; pick another name or delete that one.")
            presets[new] = presets.pop(old)
            atomic_write_json(self.path, data)
            return new

    def delete(self, model_key: str, name: str) -> bool:
        with _WRITE_LOCK:
            data = self._all()
            if data.get(model_key, {}).pop(name, None) is None:
                return False
            atomic_write_json(self.path, data)
            return True

    def forget_model(self, model_key: str) -> None:
        with _WRITE_LOCK:
            data = self._all()
            if data.pop(model_key, None) is not None:
                atomic_write_json(self.path, data)

    def _all(self) -> dict:
        # A file that cannot be parsed is set aside (and reported), never saved over.
        return read_store(self.path)[0]
