"""Play tab handlers for what a user keeps: history, A/B, presets, export, sample packs.

History and presets are read from the workspace on disk, so they survive a
reload and a server restart. Export and packs write into the workspace's
download folder and hand the files over with ``servable``.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd

from sda.server.history import HISTORY_COLUMNS, History, HistoryItem
from sda.server.play_files import PlayFiles
from sda.server.presets import Preset
from sda.server.settings import AppSettings
from sda.ui.binding import Outputs, fills
from sda.ui.play.models import AXIS_NAMES
from sda.ui.play.state import PlayState
from sda.ui.serving import servable

# A history row picked: its player, its files, a note (and the table, to mark the row).
PICK_OUT = ("history_audio", "history_file", "history_note", "history")
# Both A/B players and their labels: one handler fills either side.
AB_OUT = ("ab_a", "ab_a_label", "ab_b", "ab_b_label", "history_note")
# The controls a sound or preset brings back.
RECALL_OUT = (*AXIS_NAMES, "seed", "duration", "evolve", "preset_note")
PRESETS_OUT = ("preset_select", "preset_note")


def history_table(play: PlayState, history: History) -> pd.DataFrame:
    """The history list (newest first); remembers which row is which item."""
    items = history.list()
    play.history_ids = [i.id for i in items]
    return pd.DataFrame([i.row() for i in items], columns=HISTORY_COLUMNS)


class LibraryHandlers:
    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings

    def files(self, play: PlayState) -> PlayFiles:
        return PlayFiles.of(self.settings, play.workspace_id)

    # ------------------------------------------------------------ history
    def show_history(self, play: PlayState | None) -> Outputs:
        if play is None:
            return {}
        return {"history": history_table(play, self.files(play).history)}

    @fills(*PICK_OUT)
    def pick(self, play: PlayState | None, evt: gr.SelectData) -> Outputs:
        """A history row was clicked: its player, its files, and it becomes what Export writes."""
        if play is None or evt is None or evt.index is None:
            return {}
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        if not 0 <= row < len(play.history_ids):
            return {}
        item = self.files(play).history.get(play.history_ids[row])
        if item is None:
            return {
                "history_note": "That sound is gone (the history keeps the newest ones).",
                **self.show_history(play),
            }
        play.selected = play.current = item.id
        kept = [servable(item.audio_path)] + ([servable(item.path(item.sidecar))] if item.sidecar else [])
        return {
            "history_audio": servable(item.audio_path),
            "history_file": gr.update(value=kept, visible=True),
            "history_note": f"Selected: {item.kind}, {item.label} ({item.model_name}). Export now writes this sound.",
        }

    @fills(*AB_OUT)
    def put_in(self, play: PlayState | None, slot: str) -> Outputs:
        """The selected sound goes to player A or B of the comparison."""
        item = self._selected(play)
        if item is None:
            return {"history_note": "Click a sound in the history first."}
        return {f"ab_{slot}": servable(item.audio_path), f"ab_{slot}_label": f"**{slot.upper()}**: {item.label}"}

    @fills(*RECALL_OUT)
    def recall(self, play: PlayState | None) -> Outputs:
        """Sliders, seed, duration and evolve as they were for the selected sound."""
        item = self._selected(play)
        if item is None:
            return {"preset_note": "Click a generated sound in the history first."}
        recall = item.settings.get("recall") or {}
        if item.kind != "generate" or not recall:
            return {"preset_note": "Only generated sounds have slider settings to bring back."}
        if item.model_key != play.model_key:
            return {"preset_note": f"That sound was made with '{item.model_name}'; pick that model first."}
        preset = Preset.from_dict(recall)
        out = self._controls(play, preset)
        out["preset_note"] = f"Settings of '{item.label}' are back on the sliders."
        return out

    def _selected(self, play: PlayState | None) -> HistoryItem | None:
        if play is None or not play.selected:
            return None
        return self.files(play).history.get(play.selected)

    @staticmethod
    def _controls(play: PlayState, preset: Preset) -> Outputs:
        out = {name: axis.value_in(preset.axes) for name, axis in zip(AXIS_NAMES, play.axes)}
        out.update(seed=preset.seed, duration=preset.seconds, evolve=preset.evolve)
        return out

    # ------------------------------------------------------------ presets
    @fills(*PRESETS_OUT)
    def save_preset(self, play: PlayState | None, name: str, seed: float | None, seconds: float, evolve: float,
                    *axis_values: float) -> Outputs:
        """The sliders, seed, duration and evolve kept under ``name`` for this model."""
        if play is None or not play.model_key:
            return {"preset_note": "Pick a model first."}
        axes = {a.key: float(v) for a, v in zip(play.axes, axis_values) if v is not None}
        preset = Preset(axes, int(seed or 0), float(seconds or 2.0), float(evolve or 0.0))
        store = self.files(play).presets
        try:
            saved = store.save(play.model_key, name, preset)
        except ValueError as exc:
            return {"preset_note": str(exc)}
        return {
            "preset_select": gr.update(choices=store.names(play.model_key), value=saved),
            "preset_note": f"Saved preset '{saved}'.",
        }

    @fills(*RECALL_OUT, "preset_name")
    def load_preset(self, play: PlayState | None, name: str) -> Outputs:
        """A preset chosen in the list: its settings back on the controls."""
        if play is None or not name:
            return {}
        preset = self.files(play).presets.get(play.model_key, name)
        if preset is None:
            return {"preset_note": f"There is no preset '{name}' for this model."}
        out = self._controls(play, preset)
        out["preset_name"] = name
        out["preset_note"] = f"Preset '{name}' recalled."
        return out

    @fills(*PRESETS_OUT)
    def rename_preset(self, play: PlayState | None, name: str, new_name: str) -> Outputs:
        """The chosen preset under a new name."""
        if play is None or not name:
            return {"preset_note": "Choose the preset to rename in the list, type its new name, then press Rename."}
        store = self.files(play).presets
        try:
            new = store.rename(play.model_key, name, new_name)
        except ValueError as exc:
            return {"preset_note": str(exc)}
        return {
            "preset_select": gr.update(choices=store.names(play.model_key), value=new),
            "preset_note": f"Renamed to '{new}'.",
        }

    @fills(*PRESETS_OUT)
    def delete_preset(self, play: PlayState | None, name: str) -> Outputs:
        """The chosen preset deleted."""
        if play is None or not name:
            return {"preset_note": "Choose the preset to delete in the list first."}
        store = self.files(play).presets
        store.delete(play.model_key, name)
        return {
            "preset_select": gr.update(choices=store.names(play.model_key), value=None),
            "preset_note": f"Deleted preset '{name}'.",
        }
