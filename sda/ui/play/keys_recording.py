"""A performance recorded on the Keys panel, filed in the Play history like any other result.

The browser renders the performance from its note log (an OfflineAudioContext,
not the speakers) to a WAV, writes the notes as a standard MIDI file, and
uploads both through Gradio's upload route. Here the two uploads are checked
(they must be files Gradio received, of the right kind and size), copied
into a new history item with a picture and a sidecar naming the pads' sounds
and holding the note log.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import soundfile as sf
from gradio.utils import get_upload_folder

from sda.atomic import atomic_write_json
from sda.generation.naming import safe_stem
from sda.server.history import History, HistoryItem
from sda.server.pictures import sound_picture
from sda.ui.serving import served_root

MAX_LOG_NOTES = 20_000


def received_upload(value: object) -> Path:
    """The server path of a file the page uploaded; ValueError for anything else (a path it made up)."""
    if not isinstance(value, str) or not value:
        raise ValueError("the page sent no file")
    path = Path(value).resolve()
    uploads = Path(get_upload_folder()).resolve()
    if uploads not in path.parents or served_root().resolve() in path.parents or not path.is_file():
        raise ValueError("the page sent a file this server did not receive")
    return path


def file_recording(history: History, entry, wav: Path, midi: Path, data: dict, pads: list[str]) -> HistoryItem:
    """A history item of the recorded WAV, its MIDI file and a sidecar (the pads' sounds, the notes)."""
    try:
        info = sf.info(str(wav))
    except Exception:  # noqa: BLE001 - any decoding failure means the same to the user
        raise ValueError("the recording is not a WAV file") from None
    if info.format != "WAV" or info.frames <= 0:
        raise ValueError("the recording is not a WAV file")
    if midi.read_bytes()[:4] != b"MThd":
        raise ValueError("the MIDI file is not a standard MIDI file")
    log = data.get("log") if isinstance(data.get("log"), list) else []
    notes = len(log)
    folder = history.new_folder()
    stem = f"{safe_stem(entry.name)}-performance-{folder.name[-4:]}"
    audio_name, midi_name = f"{stem}.wav", f"{stem}.mid"
    shutil.copyfile(wav, folder / audio_name)
    shutil.copyfile(midi, folder / midi_name)
    seconds = info.frames / info.samplerate
    label = f"performance · {notes} note{'s' if notes != 1 else ''} · {seconds:.1f} s"
    sidecar = {
        "kind": "performance", "model_key": entry.key, "model_name": entry.name, "seconds": round(seconds, 4),
        "sample_rate": info.samplerate, "mode": str(data.get("mode") or ""), "pads": pads,
        "midi_file": midi_name, "notes": log[:MAX_LOG_NOTES],
    }
    atomic_write_json(folder / f"{stem}.json", sidecar)
    heard, rate = sf.read(str(folder / audio_name), dtype="float32", always_2d=True)
    sound_picture(heard.mean(axis=1), rate, label).save(folder / "picture.png")
    return history.commit(
        folder, kind="performance", model_key=entry.key, model_name=entry.name, label=label, audio=audio_name,
        sidecar=f"{stem}.json", picture="picture.png", seconds=seconds,
        settings={"midi_file": midi_name, "pads": pads, "notes": [], "recall": {}},
    )
