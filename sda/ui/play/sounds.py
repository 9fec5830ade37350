"""Play tab handlers that make sounds: generate, variations, morph, resynthesis.

Everything here asks ``sda.generation`` for sounds and files them in the
browser's history (sound, sidecar, picture); the newest result goes to the
main player. The same actions back the public API (``api_*``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import soundfile as sf

from sda.audio.io import SAMPLE_RATE
from sda.generation.checks import MAX_SECONDS, MIN_SECONDS, SECONDS_RANGE
from sda.generation.naming import safe_stem
from sda.server.generation_gate import GenerationBusy, GenerationGate, fair_gate
from sda.server.generators import GeneratorCache
from sda.server.history import HistoryItem
from sda.server.pictures import sound_picture
from sda.server.play_files import PlayFiles
from sda.server.settings import AppSettings
from sda.server.workspace_quota import WorkspaceQuota
from sda.server.write_sizes import history_bytes
from sda.ui.binding import Outputs, fills
from sda.ui.play.cost_limits import PlayLimitError, check_morph_seconds, check_morph_steps, check_variations
from sda.ui.play.inputs import DroppedSoundError, UploadValue, read_dropped_sound
from sda.ui.play.library import history_table
from sda.ui.play.models import AXIS_NAMES
from sda.ui.play.state import PlayState
from sda.ui.serving import servable

# What a made sound fills: the main player and picture, the list of all results, the history, a note.
RESULT_OUT = ("gen_audio", "gen_picture", "results", "history", "play_note")
MAKE_LESS = "Remove sounds from the history or models you no longer need, or make fewer or shorter sounds"


class PlayError(ValueError):
    """Something the user can fix; the message says what."""


class SoundHandlers:
    def __init__(self, settings: AppSettings, generators: GeneratorCache, gate: GenerationGate | None = None) -> None:
        self.settings = settings
        self.generators = generators
        self.gate = gate or fair_gate(settings)

    # ------------------------------------------------------------- controls
    @fills(*AXIS_NAMES)
    def randomize(self, play: PlayState | None) -> Outputs:
        """Every slider somewhere inside its safe range."""
        if play is None:
            return {}
        rng = random.Random()
        return {name: round(rng.uniform(a.safe_min, a.safe_max), 3) for name, a in zip(AXIS_NAMES, play.axes)}

    @fills(*AXIS_NAMES)
    def reset(self, play: PlayState | None) -> Outputs:
        """Every slider back to the centre of the model's sounds."""
        return {name: 0.0 for name in AXIS_NAMES}

    @fills("seed")
    def dice(self) -> Outputs:
        """A new random seed."""
        return {"seed": random.randrange(0, 2**31 - 1)}

    # -------------------------------------------------------------- actions
    @fills(*RESULT_OUT)
    def generate(self, play: PlayState | None, seed: float | None, seconds: float, evolve: float,
                 *axis_values: float) -> Outputs:
        """A new sound at the sliders' position."""
        return self._act(play, lambda: self.make_new(play, seed, seconds, evolve, slider_axes(play, axis_values)))

    @fills(*RESULT_OUT)
    def vary(self, play: PlayState | None, upload: UploadValue, count: float, amount: float, seed: float | None,
             *axis_values: float) -> Outputs:
        """Variations of a dropped sound."""
        return self._act(
            play, lambda: self.make_variations(play, upload, count, amount, seed, slider_axes(play, axis_values))
        )

    @fills(*RESULT_OUT)
    def morph(self, play: PlayState | None, upload_a: UploadValue, upload_b: UploadValue, mode: str, steps: float,
              seconds: float) -> Outputs:
        """Sound A into sound B: in steps (one file each) or as one continuous sound."""
        return self._act(play, lambda: self.make_morph(play, upload_a, upload_b, mode, steps, seconds))

    @fills(*RESULT_OUT)
    def resynthesise(self, play: PlayState | None, upload: UploadValue, *axis_values: float) -> Outputs:
        """A dropped recording played through the model, pushed along the sliders' axes."""
        return self._act(play, lambda: self.make_resynthesis(play, upload, slider_axes(play, axis_values)))

    def _act(self, play: PlayState | None, make: Callable[[], list[HistoryItem]]) -> Outputs:
        if play is None:
            return {}
        try:
            with self.gate.job(play.workspace_id):  # a workspace's extra job is refused here, at once
                items = make()
        except (PlayError, DroppedSoundError, PlayLimitError, GenerationBusy) as exc:
            return {"play_note": str(exc)}
        except ValueError as exc:  # GenerationError: the engine's own sentence
            return {"play_note": f"Could not make the sound: {exc}"}
        return self.show(play, items)

    def show(self, play: PlayState, items: list[HistoryItem], note: str = "") -> Outputs:
        """The first result in the main player and picture; all of them listed; history updated."""
        first = items[0]
        play.current = first.id
        files = PlayFiles.of(self.settings, play.workspace_id)
        out = {
            "gen_audio": servable(first.audio_path),
            "gen_picture": servable(first.path(first.picture)) if first.picture else None,
            "results": gr.update(value=[servable(i.audio_path) for i in items], visible=len(items) > 1),
            "history": history_table(play, files.history),
            "play_note": note
            or (f"{first.label}" if len(items) == 1 else f"{len(items)} sounds: {first.label} (first shown)"),
        }
        notes = list(dict.fromkeys(n for i in items for n in i.settings.get("notes", [])))
        if notes:
            out["play_note"] += "  \n" + "  \n".join(notes)
        return out

    # ------------------------------------------------------- engine calls
    def make_new(self, play: PlayState, seed, seconds, evolve, axes: dict) -> list[HistoryItem]:
        """One new sound; ``axes`` by key or number, as the engine takes them."""
        generator, entry = self._generator(play)
        seconds = checked_seconds(seconds)
        seed = _seed(seed)
        self._room(play, [seconds], "this sound")
        sound = generator.generate(seconds=seconds, seed=seed, axes=axes, evolve=float(evolve or 0.0))
        label = f"seed {seed} · {seconds:g} s" + (f" · evolve {float(evolve):g}" if evolve else "") + _axes_text(axes)
        return [
            self._keep(
                play,
                entry,
                sound,
                "generate",
                label,
                {"seed": seed, "seconds": seconds, "evolve": float(evolve or 0.0), "axes": axes},
            )
        ]

    def make_variations(self, play: PlayState, upload, count, amount, seed, axes: dict) -> list[HistoryItem]:
        generator, entry = self._generator(play)
        audio, name = read_dropped_sound(upload, self.settings, "a sound to vary")
        count = max(1, min(int(count or 4), 16))
        check_variations(self.settings, count, len(audio) / SAMPLE_RATE)
        amount = float(amount if amount is not None else 0.5)
        self._room(play, [len(audio) / SAMPLE_RATE] * count, f"{count} variation{'s' if count != 1 else ''}")
        sounds = generator.vary(audio, count=count, amount=amount, seed=_seed(seed), axes=axes or None)
        return [
            self._keep(
                play,
                entry,
                s,
                "variation",
                f"variation {i + 1}/{len(sounds)} of {name} · amount {amount:g}" + _axes_text(axes),
                {},
            )
            for i, s in enumerate(sounds)
        ]

    def make_morph(self, play: PlayState, upload_a, upload_b, mode, steps, seconds) -> list[HistoryItem]:
        generator, entry = self._generator(play)
        audio_a, name_a = read_dropped_sound(upload_a, self.settings, "sound A")
        audio_b, name_b = read_dropped_sound(upload_b, self.settings, "sound B")
        if str(mode).lower().startswith("continuous"):
            seconds = checked_seconds(seconds)
            check_morph_seconds(self.settings, seconds)
            self._room(play, [seconds], "this morph")
            sound = generator.morph_continuous(audio_a, audio_b, seconds=seconds)
            return [self._keep(play, entry, sound, "morph", f"{name_a} turning into {name_b} · {seconds:g} s", {})]
        steps = max(2, int(steps or 5))
        check_morph_steps(self.settings, steps)
        self._room(play, [max(len(audio_a), len(audio_b)) / SAMPLE_RATE] * steps, f"a morph in {steps} steps")
        sounds = generator.morph(audio_a, audio_b, steps=steps)
        return [
            self._keep(play, entry, s, "morph", f"morph step {i + 1}/{len(sounds)}: {name_a} to {name_b}", {})
            for i, s in enumerate(sounds)
        ]

    def make_resynthesis(self, play: PlayState, upload, axes: dict) -> list[HistoryItem]:
        generator, entry = self._generator(play)
        audio, name = read_dropped_sound(upload, self.settings, "a recording")
        self._room(play, [len(audio) / SAMPLE_RATE], "this sound")
        sound = generator.resynthesise(audio, axes=axes or None)
        return [self._keep(play, entry, sound, "resynthesis", f"{name} through the model" + _axes_text(axes), {})]

    # ------------------------------------------------------------ helpers
    def _generator(self, play: PlayState):
        entry = PlayFiles.of(self.settings, play.workspace_id).models.get(play.model_key) if play.model_key else None
        if entry is None:
            raise PlayError("Pick a model first (train one on the Train tab, or import a model file).")
        return self.generators.get(entry), entry

    def _room(self, play: PlayState, seconds: list[float], what: str) -> None:
        """PlayError naming the quota when the sounds about to be made (and shown) would pass it, even once
        the oldest sounds of the history made way for them."""
        quota, needed = WorkspaceQuota(self.settings, play.workspace_id), history_bytes(seconds)
        room = quota.room()
        if room is not None and room < needed:
            PlayFiles.of(self.settings, play.workspace_id).history.make_way(needed - room)
        reason = quota.refusal(needed, what, MAKE_LESS)
        if reason:
            raise PlayError(reason)

    def _keep(self, play: PlayState, entry, sound, kind: str, label: str, recall: dict) -> HistoryItem:
        """File one sound in the history: audio and sidecar (by the engine), picture, item."""
        from sda.generation import save_sound

        history = PlayFiles.of(self.settings, play.workspace_id).history
        folder = history.new_folder()
        name = f"{safe_stem(entry.name)}-{kind}-{folder.name[-4:]}"
        audio_path, sidecar = save_sound(sound, folder / f"{name}.wav")
        heard, rate = sf.read(str(audio_path), dtype="float32")  # the file as played: at the model's level
        sound_picture(heard, rate, label).save(folder / "picture.png")
        seconds = len(sound.audio) / sound.sample_rate
        settings = dict(getattr(sound, "settings", {}) or {})
        settings["recall"] = recall  # what the page's controls held, for "Use its settings"
        settings["notes"] = list(getattr(sound, "notes", []) or [])  # what the engine had to change (a clamped axis)
        return history.commit(
            folder,
            kind=kind,
            model_key=entry.key,
            model_name=entry.name,
            label=label,
            audio=Path(audio_path).name,
            sidecar=Path(sidecar).name,
            picture="picture.png",
            seconds=seconds,
            settings=settings,
        )


def slider_axes(play: PlayState | None, values) -> dict[str, float]:
    """Slider values by axis key; centred axes are left out."""
    if play is None:
        return {}
    return {a.key: round(float(v), 4) for a, v in zip(play.axes, values) if v is not None and abs(float(v)) > 1e-9}


def checked_seconds(value) -> float:
    """A duration from the page, MIN_SECONDS to MAX_SECONDS; PlayError saying so otherwise."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise PlayError(f"Duration must be a number of seconds ({SECONDS_RANGE}).") from None
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise PlayError(f"Duration {seconds:g} s is outside {SECONDS_RANGE} s.")
    return seconds


def _seed(value) -> int:
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        raise PlayError("The seed must be a whole number (press the dice for a new one).") from None


def _axes_text(axes: dict[str, float]) -> str:
    return "".join(f" · {key} {value:+.2f}" for key, value in axes.items())
