"""The Keys panel's handlers: what the server does for live playing (never anything per note).

The panel (keys_layout.py, its JavaScript in keys_js/) plays in the browser;
these handlers fill it. Each returns the panel's data (``keys``: names and
settings as JSON, no paths) and the sounds to fetch (``keys_feed``: served
files, in the order the data's ``src`` numbers name them). The panel calls
the server through events it triggers on its own element, with their data:

- ``submit``  {settings}: keep the panel's settings (mappings, chokes, curve...);
- ``select``  {pad, path | row}: a dropped file (uploaded) or history row becomes a pad;
- ``apply``   {}: a slider that a knob moves changed: make the pads that follow it again;
- ``expand``  {count, fresh}: Explore mode wants ``count`` more sounds never heard;
- ``upload``  {wav, midi, notes, log}: a recorded performance, filed in the history.
"""

from __future__ import annotations

import json

import gradio as gr

from sda.server.generation_gate import GenerationBusy, GenerationGate
from sda.server.generators import GeneratorCache
from sda.server.keys_pads import (
    SOURCES,
    PadError,
    file_pad,
    history_pads,
    new_pads,
    pack_pads,
    pad_path,
    render_again,
    with_layers,
    with_octaves,
)
from sda.server.keys_pool import ExplorePools
from sda.server.keys_render import level_axis
from sda.server.keys_store import MODES, KeysStore
from sda.server.play_files import PlayFiles
from sda.server.settings import AppSettings
from sda.server.workspace_quota import WorkspaceQuota
from sda.server.write_sizes import history_bytes
from sda.ui.binding import Outputs, fills
from sda.ui.play.cost_limits import PlayLimitError, check_pack
from sda.ui.play.inputs import DroppedSoundError, read_dropped_sound
from sda.ui.play.keys_recording import file_recording, received_upload
from sda.ui.play.library import history_table
from sda.ui.play.sounds import PlayError, slider_axes
from sda.ui.play.state import PlayState
from sda.ui.serving import servable

KEYS_OUT = ("keys", "keys_feed", "keys_mode", "keys_note")
EXPLORE_OUT = ("keys_explore", "keys_note")
RECORD_OUT = ("keys_recording", "keys_midi_file", "history", "keys_note")
EXPLORE_AHEAD = 48  # sounds the server keeps ready for Explore mode (fewer where the pack limit is lower)


class KeysHandlers:
    def __init__(self, settings: AppSettings, generators: GeneratorCache, gate: GenerationGate) -> None:
        self.settings = settings
        self.generators = generators
        self.gate = gate
        self.pools = ExplorePools(gate)

    # ----------------------------------------------------------------- helpers
    def _files(self, play: PlayState) -> tuple[PlayFiles, KeysStore]:
        files = PlayFiles.of(self.settings, play.workspace_id)
        return files, KeysStore(files.workspace.dir / "play")

    def _generator(self, play: PlayState):
        files = PlayFiles.of(self.settings, play.workspace_id)
        entry = files.models.get(play.model_key) if play.model_key else None
        if entry is None:
            raise PlayError("Pick a model first (train one on the Train tab, or import a model file).")
        return self.generators.get(entry)

    def panel(self, play: PlayState, state: dict, note: str = "") -> Outputs:
        """The panel's data and sounds for ``state`` (pads whose sound is gone are left empty)."""
        files, store = self._files(play)
        feed, pads = [], []
        for pad in state["pads"]:
            path = pad_path(pad, store, files.history, play.model_key)
            if path is None:
                continue
            shown = {"name": pad["name"], "src": len(feed), "renders": bool(pad.get("origin"))}
            feed.append(servable(path))
            for part in ("layers", "octaves"):
                names = pad.get(part)
                if names:
                    items = list(names.items() if isinstance(names, dict) else enumerate(names))
                    shown[part] = {str(k): len(feed) + i for i, (k, _) in enumerate(items)}
                    feed += [servable(store.folder(play.model_key) / n) for _, n in items]
            pads.append(shown)
        try:
            axis = level_axis(self._generator(play)) if play.model_key else None
        except Exception:  # noqa: BLE001 - a model that cannot load says so on the model picker
            axis = None
        data = {"model": play.model_key, "mode": state["mode"], "pads": pads, "settings": state["settings"],
                "levelAxis": axis[0] if axis else None}
        return {"keys": json.dumps(data), "keys_feed": feed, "keys_mode": state["mode"], "keys_note": note}

    # ---------------------------------------------------------------- handlers
    @fills(*KEYS_OUT)
    def restore(self, play: PlayState | None) -> Outputs:
        """The model shown changed (or the page opened): its pads, mode and settings as last left."""
        if play is None or not play.model_key:
            return {"keys": json.dumps({"mode": "Kit", "pads": [], "settings": {}}), "keys_feed": [],
                    "keys_note": "Pick a model to play it here."}
        return self.panel(play, self._files(play)[1].get(play.model_key))

    @fills(*KEYS_OUT)
    def set_mode(self, play: PlayState | None, mode: str) -> Outputs:
        """Kit, Pitched or Explore chosen: kept for this model."""
        if play is None or not play.model_key or mode not in MODES:
            return {}
        store = self._files(play)[1]
        state = store.get(play.model_key)
        state["mode"] = mode
        return self.panel(play, store.save(play.model_key, state))

    @fills("keys_note")
    def save_settings(self, play: PlayState | None, mode: str, evt: gr.EventData) -> Outputs:
        """The panel's own settings changed (velocity curve, chokes, knob mappings...): kept for this model."""
        settings = (evt._data or {}).get("settings") if evt is not None else None
        if play is None or not play.model_key or not isinstance(settings, dict):
            return {}
        self._files(play)[1].update_settings(play.model_key, mode, settings)
        return {}

    @fills(*KEYS_OUT)
    def fill(self, play: PlayState | None, mode: str, source: str, seconds: float, layers_on: bool,
             octaves_on: bool, *axis_values: float) -> Outputs:
        """Fill the pads: a kit from the chosen source, a pitched sound, or Explore's first sounds."""
        if play is None:
            return {}
        try:
            with self.gate.job(play.workspace_id):
                return self._fill(play, mode, source, float(seconds), layers_on, octaves_on, axis_values)
        except (PlayError, PadError, PlayLimitError, GenerationBusy, DroppedSoundError) as exc:
            return {"keys_note": str(exc)}
        except ValueError as exc:  # the engine's own sentence
            return {"keys_note": f"Could not make the pads: {exc}"}

    def _fill(self, play, mode, source, seconds, layers_on, octaves_on, axis_values) -> Outputs:
        generator = self._generator(play)
        files, store = self._files(play)
        sliders = slider_axes(play, axis_values)
        state = store.get(play.model_key)
        state["mode"] = mode if mode in MODES else "Kit"
        note = ""
        if state["mode"] == "Explore":
            return self.panel(play, store.save(play.model_key, state),
                              "Explore: every note plays a new sound near the sliders.")
        if state["mode"] == "Pitched":
            pads = self._pitched_source(play, files, generator, store, sliders, seconds)
        elif source == SOURCES[1]:
            pads = history_pads(files.history, play.model_key)
        elif source == SOURCES[2]:
            pads = history_pads(files.history, play.model_key, kind="variation")
        elif source == SOURCES[3]:
            pads = pack_pads(files.outbox, store, play.model_key, self.settings.max_file_bytes)
        else:
            self._afford(play, [seconds] * 16, "16 new sounds")
            pads = new_pads(generator, store, play.model_key, sliders, seconds)
        if layers_on:
            self._afford(play, [seconds] * 2 * len(pads), "velocity layers")
            if not with_layers(generator, pads, store, files.history, play.model_key):
                note = "This model has no level axis, so each pad plays one layer. "
        if octaves_on and state["mode"] == "Pitched" and pads:
            with_octaves(generator, pads[0], store, files.history, play.model_key)
        state["pads"] = pads
        return self.panel(play, store.save(play.model_key, state), note + f"{len(pads)} pad(s) ready.")

    def _pitched_source(self, play, files, generator, store, sliders, seconds) -> list[dict]:
        """Pitched mode plays one sound: the one in the main player, or a new one at the sliders."""
        item = files.history.get(play.current) if play.current else None
        if item is not None:
            return [{"name": item.label[:60], "history": item.id}]
        self._afford(play, [seconds], "a new sound")
        return new_pads(generator, store, play.model_key, sliders, seconds, count=1)

    def _afford(self, play: PlayState, seconds: list[float], what: str) -> None:
        check_pack(self.settings, len(seconds), max(seconds) if seconds else 0.0)
        reason = WorkspaceQuota(self.settings, play.workspace_id).refusal(history_bytes(seconds), what,
                                                                          "Remove sounds you no longer need")
        if reason:
            raise PlayError(reason)

    @fills(*KEYS_OUT)
    def replace_pad(self, play: PlayState | None, evt: gr.EventData) -> Outputs:
        """A file or a history row dropped on a pad: it plays that sound from now on."""
        data = (evt._data or {}) if evt is not None else {}
        if play is None or not play.model_key:
            return {}
        files, store = self._files(play)
        state = store.get(play.model_key)
        try:
            index = int(data.get("pad", -1))
            if not 0 <= index < 16:
                raise PadError("Drop the sound on one of the 16 pads.")
            if data.get("row") is not None:
                row = int(data["row"])
                item = files.history.get(play.history_ids[row]) if 0 <= row < len(play.history_ids) else None
                if item is None:
                    raise PadError("That history sound is gone (the history keeps the newest ones).")
                pad = {"name": item.label[:60], "history": item.id}
            else:
                path = received_upload(data.get("path"))
                audio, name = read_dropped_sound(str(path), self.settings, "a sound")
                pad = file_pad(store, play.model_key, audio, data.get("name") or name)
        except (PadError, DroppedSoundError, PlayError, ValueError) as exc:
            return {"keys_note": str(exc)}
        pads = state["pads"] + [pad] * max(0, index + 1 - len(state["pads"]))
        pads[index] = pad
        state["pads"] = pads
        return self.panel(play, store.save(play.model_key, state), f"Pad {index + 1}: {pad['name']}.")

    @fills(*KEYS_OUT)
    def rerender(self, play: PlayState | None, *axis_values: float) -> Outputs:
        """A mapped slider moved: pads made around the sliders are made again there (in the background)."""
        if play is None or not play.model_key:
            return {}
        files, store = self._files(play)
        state = store.get(play.model_key)
        if not any(p.get("origin") for p in state["pads"]):
            return {}
        try:
            with self.gate.job(play.workspace_id):
                generator = self._generator(play)
                sliders = slider_axes(play, axis_values)
                state["pads"] = [render_again(generator, store, play.model_key, p, sliders) for p in state["pads"]]
        except (PlayError, GenerationBusy) as exc:
            return {"keys_note": str(exc)}
        return self.panel(play, store.save(play.model_key, state), "Pads made again at the sliders.")

    @fills(*EXPLORE_OUT)
    def explore(self, play: PlayState | None, evt: gr.EventData, seconds: float, *axis_values: float) -> Outputs:
        """Explore mode: up to ``count`` sounds never handed out before, near the sliders."""
        data = (evt._data or {}) if evt is not None else {}
        if play is None or not play.model_key:
            return {}
        files, store = self._files(play)
        size = max(4, min(EXPLORE_AHEAD, int(self.settings.max_pack_seconds // max(float(seconds), 0.1))))
        pool = self.pools.of(play.workspace_id, play.model_key, lambda: self._generator(play),
                             store.folder(play.model_key) / "explore", size)
        pool.aim(slider_axes(play, axis_values), float(seconds))
        count = max(1, min(int(data.get("count", 8)), 32))
        paths = pool.take(count, wait=20.0 if data.get("fresh") else 2.0)
        note = pool.error and f"Explore stopped: {pool.error}"
        stats = pool.stats
        rate = f"pool refills at {stats.per_second:.1f} sounds/s, {pool.ready()} ready" if stats.made else ""
        return {"keys_explore": [servable(p) for p in paths], "keys_note": note or rate}

    @fills(*RECORD_OUT)
    def store_recording(self, play: PlayState | None, evt: gr.EventData) -> Outputs:
        """A performance recorded on the panel: its WAV and MIDI file go to the history."""
        data = (evt._data or {}) if evt is not None else {}
        if play is None or not play.model_key:
            return {}
        files, store = self._files(play)
        try:
            wav, midi = received_upload(data.get("wav")), received_upload(data.get("midi"))
            seconds = float(data.get("seconds") or 0.0)
            reason = WorkspaceQuota(self.settings, play.workspace_id).refusal(
                history_bytes([seconds]), "this recording", "Remove sounds you no longer need")
            if reason:
                raise PlayError(reason)
            entry = files.models.get(play.model_key)
            pads = [p["name"] for p in store.get(play.model_key)["pads"]]
            item = file_recording(files.history, entry, wav, midi, data, pads)
        except (PlayError, ValueError, OSError) as exc:
            return {"keys_note": f"The recording was not kept: {exc}"}
        return {
            "keys_recording": servable(item.audio_path),
            "keys_midi_file": gr.update(value=servable(item.path(item.settings["midi_file"])), visible=True),
            "history": history_table(play, files.history),
            "keys_note": f"Recording kept in the history: {item.label}.",
        }

