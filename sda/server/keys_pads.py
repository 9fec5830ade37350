"""Filling the Keys panel's pads: from the history, a sample pack, or new sounds around the sliders.

Every function here returns pads in the form ``keys_store`` keeps them
(a name and a sound file of the model's keys folder, or a history id) and
writes the sounds it makes into that folder. ``with_layers`` and
``with_octaves`` add velocity layers and octave renders to pads.
"""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import numpy as np

from sda.audio.io import AUDIO_EXTENSIONS, SAMPLE_RATE, load_audio
from sda.server.history import History
from sda.server.keys_render import layers, octaves, render_at, scatter, write
from sda.server.keys_store import PAD_COUNT, KeysStore

SOURCES = ("16 new sounds around the sliders", "History (newest first)", "Last variations", "Last sample pack")
MAX_PAD_SECONDS = 10.0  # a pad plays the start of a longer sound


class PadError(ValueError):
    """The pads cannot be filled as asked; the message says why and what to do."""


def new_pads(generator, store: KeysStore, model_key: str, sliders: dict, seconds: float,
             count: int = PAD_COUNT) -> list[dict]:
    """``count`` new sounds scattered around the sliders, each remembering how to make it again."""
    rng = random.Random()
    pads = []
    for number in range(count):
        seed, offsets = rng.randrange(2**31 - 1), scatter(generator, rng)
        audio = render_at(generator, sliders, seed, offsets, seconds)
        path = write(store.new_sound_path(model_key), audio, generator.sample_rate)
        pads.append({"name": f"new {number + 1} · seed {seed}", "file": path.name,
                     "origin": {"seed": seed, "seconds": seconds, "offsets": offsets}})
    return pads


def render_again(generator, store: KeysStore, model_key: str, pad: dict, sliders: dict) -> dict:
    """``pad`` made again at the sliders' new position (a pad with no ``origin`` is returned as it is)."""
    origin = pad.get("origin")
    if not origin:
        return pad
    audio = render_at(generator, sliders, origin["seed"], origin["offsets"], origin["seconds"])
    path = write(store.new_sound_path(model_key), audio, generator.sample_rate)
    return {"name": pad["name"], "file": path.name, "origin": origin}


def history_pads(history: History, model_key: str, kind: str | None = None) -> list[dict]:
    """The newest history sounds (of ``kind``, the newest run of them; of this model first)."""
    items = history.list()
    if kind:
        run = []
        for item in items:
            if item.kind == kind:
                run.append(item)
            elif run:
                break
        items = run
        if not items:
            raise PadError(f"There are no {kind}s in the history yet: make some with Make variations first.")
    if not items:
        raise PadError("The history is empty: make a few sounds first, or fill with new sounds.")
    ours = [i for i in items if i.model_key == model_key] + [i for i in items if i.model_key != model_key]
    return [{"name": i.label[:60], "history": i.id} for i in ours[:PAD_COUNT]]


def pack_pads(outbox: Path, store: KeysStore, model_key: str, max_bytes: int) -> list[dict]:
    """The sounds of the newest sample pack made on the Play tab (its zip is still in the downloads folder)."""
    packs = sorted(outbox.glob("d-*/*.zip"), key=lambda p: p.parent.name, reverse=True)
    if not packs:
        raise PadError("No sample pack made lately: press Make the pack first (packs are kept for 6 hours).")
    pads = []
    with zipfile.ZipFile(packs[0]) as archive:
        names = [i for i in archive.infolist() if Path(i.filename).suffix.lower() in AUDIO_EXTENSIONS
                 and i.file_size <= max_bytes and not i.filename.startswith(("/", ".."))]
        for info in names[:PAD_COUNT]:
            target = store.new_sound_path(model_key)
            raw = target.with_suffix(Path(info.filename).suffix.lower())
            raw.write_bytes(archive.read(info))
            try:
                audio = load_audio(raw).audio[: int(MAX_PAD_SECONDS * SAMPLE_RATE)]
            finally:
                raw.unlink(missing_ok=True)
            write(target, audio, SAMPLE_RATE)
            pads.append({"name": Path(info.filename).stem[:60], "file": target.name})
    if not pads:
        raise PadError("The newest sample pack holds no sound this panel can play.")
    return pads


def file_pad(store: KeysStore, model_key: str, audio: np.ndarray, name: str) -> dict:
    """A pad of a dropped sound (its first MAX_PAD_SECONDS)."""
    path = write(store.new_sound_path(model_key), audio[: int(MAX_PAD_SECONDS * SAMPLE_RATE)], SAMPLE_RATE)
    return {"name": Path(name).stem[:60], "file": path.name}


def pad_audio(pad: dict, store: KeysStore, history: History, model_key: str) -> tuple[np.ndarray, Path] | None:
    """(audio, file) of a pad's sound, or None when it is gone."""
    path = pad_path(pad, store, history, model_key)
    if path is None:
        return None
    return load_audio(path).audio[: int(MAX_PAD_SECONDS * SAMPLE_RATE)], path


def pad_path(pad: dict, store: KeysStore, history: History, model_key: str) -> Path | None:
    if pad.get("file"):
        path = store.folder(model_key) / pad["file"]
        return path if path.is_file() else None
    item = history.get(pad.get("history", ""))
    return item.audio_path if item is not None else None


def with_layers(generator, pads: list[dict], store: KeysStore, history: History, model_key: str) -> bool:
    """Give every pad a soft, a middle and a hard layer along the model's level axis (False: it has none)."""
    for pad in pads:
        found = pad_audio(pad, store, history, model_key)
        if found is None:
            continue
        made = layers(generator, found[0])
        if made is None:
            return False
        pad["layers"] = [write(store.new_sound_path(model_key), a, SAMPLE_RATE).name for a in made]
    return True


def with_octaves(generator, pad: dict, store: KeysStore, history: History, model_key: str) -> None:
    """Give ``pad`` renders one and two octaves down and up, through the model."""
    found = pad_audio(pad, store, history, model_key)
    if found is None:
        return
    pad["octaves"] = {str(k): write(store.new_sound_path(model_key), a, SAMPLE_RATE).name
                      for k, a in octaves(generator, found[0]).items()}
