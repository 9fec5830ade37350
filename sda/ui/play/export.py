"""Play tab handlers that write files to take away: one sound exported, a sample pack.

Format, sample rate and bit depth are the export settings of ``sda.audio.export``,
applied to the file itself; every sound comes with its JSON sidecar (the
engine's settings plus the export's). Files to keep are rendered with the
engine's best inversion (``quality="best"``); the player gets the fast one.
"""

from __future__ import annotations

import random
import shutil
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import soundfile as sf

from sda.generation.naming import safe_stem
from sda.server.generation_gate import GenerationBusy, GenerationGate, fair_gate
from sda.server.generators import GeneratorCache
from sda.server.play_files import PlayFiles
from sda.server.settings import AppSettings
from sda.server.workspace_quota import FREE_SOME_SPACE, WorkspaceQuota, size_text
from sda.server.write_sizes import export_bytes, pack_bytes
from sda.ui.binding import Outputs, fills
from sda.ui.play.cost_limits import check_pack
from sda.ui.play.sounds import checked_seconds
from sda.ui.play.state import PlayState
from sda.ui.serving import servable

FORMAT_CHOICES = [("WAV", "wav"), ("FLAC", "flac"), ("OGG Vorbis", "ogg"), ("MP3 (320 kbps)", "mp3")]
RATE_CHOICES = [("44.1 kHz", 44100), ("48 kHz", 48000), ("96 kHz", 96000)]
DEPTH_CHOICES = [("16-bit", "16"), ("24-bit", "24"), ("32-bit float", "32f")]
MAX_PACK = 64
SMALLER_EXPORT = f"{FREE_SOME_SPACE}, or choose a lower sample rate or bit depth"
SMALLER_PACK = f"{FREE_SOME_SPACE}, or make a smaller pack (fewer or shorter sounds, a lower rate or bit depth)"


def export_settings(fmt: str, rate, depth: str, normalise: bool = False):
    """ExportSettings from the page's choices; ValueError naming the setting when they do not fit together."""
    from sda.generation import export_settings as checked

    fmt = str(fmt or "wav").lower()
    depth = str(depth or "24")
    if fmt in ("ogg", "mp3"):
        depth = "16"  # lossy formats have no bit depth; any valid value will do
    return checked(format=fmt, sample_rate=int(rate or 48000), bit_depth=depth, normalise=bool(normalise))


class ExportHandlers:
    def __init__(self, settings: AppSettings, generators: GeneratorCache, gate: GenerationGate | None = None) -> None:
        self.settings = settings
        self.generators = generators
        self.gate = gate or fair_gate(settings)

    @fills("export_file", "export_note")
    def export(self, play: PlayState | None, fmt: str, rate: int, depth: str, normalise: bool) -> Outputs:
        """The sound in the main player (or the history row picked last) as a file with its sidecar."""
        if play is None:
            return {}
        try:
            with self.gate.job(play.workspace_id):  # it may make the sound again: one of the workspace's jobs
                return self._export(play, fmt, rate, depth, normalise)
        except GenerationBusy as exc:
            return {"export_note": str(exc)}

    @fills("pack_file", "pack_note")
    def pack(self, play: PlayState | None, count: float, randomise: bool, seed: float | None, seconds: float,
             evolve: float, fmt: str, rate: int, depth: str, normalise: bool, *axis_values: float) -> Outputs:
        """N sounds in one zip: the current settings with seeds counting up, or random slider positions
        inside the safe ranges."""
        if play is None:
            return {}
        try:
            with self.gate.job(play.workspace_id):
                return self._pack(play, count, randomise, seed, seconds, evolve, fmt, rate, depth, normalise,
                                  *axis_values)
        except GenerationBusy as exc:
            return {"pack_note": str(exc)}

    def _export(self, play: PlayState, fmt: str, rate: int, depth: str, normalise: bool) -> Outputs:
        files = PlayFiles.of(self.settings, play.workspace_id)
        item = files.history.get(play.current) if play.current else None
        if item is None:
            return {"export_note": "Make a sound first (or click one in the history)."}
        try:
            settings = export_settings(fmt, rate, depth, normalise)
        except ValueError as exc:
            return {"export_note": str(exc)}
        planned = export_bytes(item.seconds, settings.sample_rate, settings.bit_depth)
        refusal = WorkspaceQuota(self.settings, play.workspace_id).refusal(planned, "this export", SMALLER_EXPORT)
        if refusal:
            return {"export_note": refusal}
        from sda.generation import Sound, save_sound

        sound = self._best(files, item)
        if sound is None:
            sound = _as_made(item, Sound)
        name = f"{safe_stem(item.model_name)}-{item.kind}-{item.id[-9:]}.wav"
        audio_path, sidecar = save_sound(sound, files.download_folder() / name, settings)
        info = sf.info(str(audio_path))
        return {
            "export_file": gr.update(value=[servable(audio_path), servable(sidecar)], visible=True),
            "export_note": f"{Path(audio_path).name}: {info.format}, {info.samplerate} Hz, "
                           f"{_depth_text(info.subtype)}, {_level_text(sidecar)}, with its sidecar.",
        }

    def _best(self, files: PlayFiles, item):
        """A generated sound made again with the engine's best inversion (same model, seed, settings), or None.

        A file a user keeps deserves it; the player got the fast one. Only when
        the model is still the one that made it (a run training on changes).
        """
        settings = item.settings
        entry = files.models.get(item.model_key)
        if item.kind != "generate" or entry is None or "seed" not in settings:
            return None
        try:
            generator = self.generators.get(entry)
            if generator.model_id != settings.get("model_id"):
                return None
            return generator.generate(
                seconds=settings["seconds"],
                seed=settings["seed"],
                axes=settings.get("axes") or None,
                evolve=settings.get("evolve", 0.0),
                quality="best",
            )
        except (KeyError, TypeError, ValueError):
            return None

    def _pack(self, play: PlayState, count: float, randomise: bool, seed: float | None, seconds: float,
              evolve: float, fmt: str, rate: int, depth: str, normalise: bool, *axis_values: float) -> Outputs:
        files = PlayFiles.of(self.settings, play.workspace_id)
        entry = files.models.get(play.model_key) if play.model_key else None
        if entry is None:
            return {"pack_note": "Pick a model first."}
        try:
            settings = export_settings(fmt, rate, depth, normalise)
            seconds = checked_seconds(seconds)
            count = max(1, min(int(count or 8), MAX_PACK))
            check_pack(self.settings, count, seconds)
            base_seed = int(seed or 0)
        except (TypeError, ValueError) as exc:
            return {"pack_note": str(exc)}
        planned = pack_bytes(count, seconds, settings.sample_rate, settings.bit_depth)
        one_copy = size_text(planned // 2)
        refusal = WorkspaceQuota(self.settings, play.workspace_id).refusal(
            planned, f"this pack of {count} sounds ({one_copy}, and its copy for your browser)", SMALLER_PACK)
        if refusal:  # before any sound is made: the quota costs no CPU either
            return {"pack_note": refusal}
        try:
            generator = self.generators.get(entry)
        except (TypeError, ValueError) as exc:
            return {"pack_note": str(exc)}
        from sda.generation import save_sound

        folder = files.download_folder()
        archive = folder / f"{safe_stem(entry.name)}-pack-{count}.zip"
        work = folder / ".sound"  # one sound at a time: each goes into the zip, then away
        from sda.generation.level import shared_gain_db

        rng = random.Random(base_seed)
        fixed = {a.key: float(v) for a, v in zip(play.axes, axis_values) if v is not None and abs(float(v)) > 1e-9}
        made = []  # every sound first: the pack's one gain depends on its loudest
        for index in range(count):
            axes = {a.key: round(rng.uniform(a.safe_min, a.safe_max), 3) for a in play.axes} if randomise else fixed
            made.append((axes, generator.generate(seconds=seconds, seed=base_seed + index, axes=axes,
                                                  evolve=float(evolve or 0.0), quality="best")))
        gain = shared_gain_db([s.audio for _, s in made], settings.format, generator.level_gain_db,
                              normalise=settings.normalise)
        rule = "pack normalised together" if settings.normalise else "pack at the model's level"
        lines = [
            f"Sample pack from '{entry.name}': {count} sounds, {seconds:g} s each, {settings.format.upper()} "
            f"{settings.sample_rate} Hz",
            f"Level: one gain for every sound ({gain:+.2f} dB, {rule}), so their levels compare as made.",
            "",
        ]
        work.mkdir()
        try:
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for index, (axes, sound) in enumerate(made):
                    name = f"{safe_stem(entry.name)}_{index + 1:02d}.wav"
                    audio_path, sidecar = save_sound(sound, work / name, settings, gain_db=gain, rule=rule)
                    for path in (Path(audio_path), Path(sidecar)):
                        zf.write(path, path.name)
                        path.unlink()
                    lines.append(f"{Path(audio_path).name}: seed {base_seed + index}"
                                 + "".join(f", {k} {v:+.2f}" for k, v in axes.items()))
                zf.writestr("sounds.txt", "\n".join(lines) + "\n")
        except ValueError as exc:
            shutil.rmtree(folder, ignore_errors=True)  # half a pack is no use to anyone
            return {"pack_note": f"The pack could not be made: {exc}"}
        shutil.rmtree(work, ignore_errors=True)
        return {
            "pack_file": gr.update(value=servable(archive), visible=True),
            "pack_note": f"{count} sounds in {archive.name}.",
        }


def _as_made(item, sound_type):
    """A history sound read back from its file, its level gain taken off again so the export applies the
    chosen level rule once (a file from before level rules is taken as it is)."""
    from sda.generation.output import read_sidecar

    audio, rate_in = sf.read(str(item.audio_path), dtype="float32", always_2d=False)
    settings = dict(item.settings)
    try:
        applied = float(read_sidecar(item.path(item.sidecar))["level"]["gain_db"])
    except (ValueError, KeyError, TypeError):
        applied = None
    if applied is None:
        settings["level_gain_db"] = 0.0
    else:
        audio = audio * np.float32(10 ** (-applied / 20))
    return sound_type(audio=audio, sample_rate=int(rate_in), settings=settings)


def _level_text(sidecar) -> str:
    """"the model's level (+2.1 dB)", "normalised to -1 dBFS", "... brought down 1.2 dB to stay clear of clipping"."""
    from sda.generation.output import read_sidecar

    level = read_sidecar(sidecar).get("level") or {}
    if level.get("rule") == "normalised":
        return "normalised to -1 dBFS"
    text = f"the model's level ({float(level.get('model_gain_db', 0.0)):+.1f} dB)"
    lowered = float(level.get("model_gain_db", 0.0)) - float(level.get("gain_db", 0.0))
    return text + (f", brought down {lowered:.1f} dB to stay clear of clipping" if level.get("limited") else "")


def _depth_text(subtype: str) -> str:
    return {
        "PCM_16": "16-bit",
        "PCM_24": "24-bit",
        "FLOAT": "32-bit float",
        "VORBIS": "Vorbis",
        "MPEG_LAYER_III": "MP3",
    }.get(subtype, subtype)
