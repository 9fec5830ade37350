"""The Keys panel of one workspace: its pads, mode and settings per model, and the pads' sounds.

Stored as ``<workspace>/play/keys.json``: {model key: panel state}, read
through ``store_file.read_store`` (a damaged file is set aside, never saved
over). The pads' own sounds (rendered for the panel, not filed in the
history) live in ``<workspace>/play/keys/<model folder>/``; a pad may also
point at a history item. A panel state is::

    {"mode": "Kit", "pads": [pad, ...], "settings": {...what the page keeps: curve, chokes, CC mappings...}}

and a pad is ``{"name": str, "file": "k-....wav"}`` (a sound of the model
folder) or ``{"name": str, "history": "h-..."}``, plus optional
``"layers": [soft, middle, hard]`` and ``"octaves": {"-1": file, "1": file}``
(file names of the model folder) and ``"origin"`` (how to render it again:
seed and slider offsets).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
import time
from pathlib import Path

from sda.atomic import atomic_write_json
from sda.server.history import is_history_id
from sda.server.store_file import read_store

PAD_COUNT = 16
MODES = ("Kit", "Pitched", "Explore")
MAX_SETTINGS_CHARS = 20_000  # the page's own settings (mappings, chokes, curve): small by nature
_SOUND = re.compile(r"^k-\d{20}-[0-9a-f]{4}\.wav$")
_LOCK = threading.RLock()


def is_sound_name(value: object) -> bool:
    return isinstance(value, str) and bool(_SOUND.match(value))


class KeysStore:
    """The Keys panel's stores of one workspace (``play_dir`` is ``<workspace>/play``)."""

    def __init__(self, play_dir: Path) -> None:
        self.play_dir = Path(play_dir)
        self.path = self.play_dir / "keys.json"

    def folder(self, model_key: str) -> Path:
        """Where the sounds of ``model_key``'s pads live (named by a hash: a key may hold any character)."""
        return self.play_dir / "keys" / hashlib.sha256(model_key.encode()).hexdigest()[:16]

    def new_sound_path(self, model_key: str) -> Path:
        folder = self.folder(model_key)
        folder.mkdir(parents=True, exist_ok=True)
        while True:
            path = folder / f"k-{time.time_ns():020d}-{secrets.token_hex(2)}.wav"
            if not path.exists():
                return path

    def get(self, model_key: str) -> dict:
        """The panel state of ``model_key`` (an empty Kit panel when none was saved)."""
        data = read_store(self.path)[0].get(model_key)
        return clean_state(data if isinstance(data, dict) else {})

    def save(self, model_key: str, state: dict) -> dict:
        """Store ``state`` (cleaned) for ``model_key``; sounds no pad uses any more are removed. Returns it."""
        state = clean_state(state)
        with _LOCK:
            data = read_store(self.path)[0]
            data[model_key] = state
            atomic_write_json(self.path, data)
        self._forget_unused(model_key, state)
        return state

    def update_settings(self, model_key: str, mode: str | None, settings: dict) -> dict:
        """Keep the page's settings (and mode) of ``model_key``, its pads untouched."""
        with _LOCK:
            state = self.get(model_key)
            if mode in MODES:
                state["mode"] = mode
            state["settings"] = settings
            return self.save(model_key, state)

    def forget_model(self, model_key: str) -> None:
        import shutil

        with _LOCK:
            data = read_store(self.path)[0]
            if data.pop(model_key, None) is not None:
                atomic_write_json(self.path, data)
        shutil.rmtree(self.folder(model_key), ignore_errors=True)

    def _forget_unused(self, model_key: str, state: dict, keep_seconds: float = 600.0) -> None:
        """Remove pad sounds of this model no pad names (older than a few minutes: a fill may be under way)."""
        used = set(sound_names(state))
        cutoff = time.time() - keep_seconds
        folder = self.folder(model_key)
        if not folder.is_dir():
            return
        for path in folder.glob("k-*.wav"):
            try:
                if path.name not in used and path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue


def sound_names(state: dict) -> list[str]:
    """Every sound file of the model folder that ``state``'s pads use."""
    names = []
    for pad in state.get("pads", []):
        names += [pad.get("file"), *pad.get("layers", []), *pad.get("octaves", {}).values()]
    return [n for n in names if is_sound_name(n)]


def clean_state(data: dict) -> dict:
    """A panel state with only what the panel knows, in its limits (a hand-edited or hostile one included)."""
    mode = data.get("mode") if data.get("mode") in MODES else MODES[0]
    pads = [clean_pad(p) for p in list(data.get("pads") or [])[:PAD_COUNT] if isinstance(p, dict)]
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    if len(json.dumps(settings)) > MAX_SETTINGS_CHARS:
        settings = {}
    return {"mode": mode, "pads": [p for p in pads if p], "settings": settings}


def clean_pad(pad: dict) -> dict:
    out: dict = {"name": " ".join(str(pad.get("name") or "sound").split())[:60]}
    if is_sound_name(pad.get("file")):
        out["file"] = pad["file"]
    elif is_history_id(pad.get("history")):
        out["history"] = pad["history"]
    else:
        return {}
    layers = pad.get("layers")
    if isinstance(layers, list) and len(layers) == 3 and all(is_sound_name(n) for n in layers):
        out["layers"] = list(layers)
    octaves = pad.get("octaves")
    if isinstance(octaves, dict):
        out["octaves"] = {str(int(k)): v for k, v in octaves.items()
                          if is_sound_name(v) and str(k).lstrip("-").isdigit() and abs(int(k)) <= 3}
    origin = pad.get("origin")
    if isinstance(origin, dict) and isinstance(origin.get("seed"), int):
        offsets = origin.get("offsets") if isinstance(origin.get("offsets"), dict) else {}
        out["origin"] = {"seed": origin["seed"], "seconds": float(origin.get("seconds", 1.0)),
                         "offsets": {str(k): float(v) for k, v in list(offsets.items())[:16]}}
    return out
