"""Play tab handlers for the model picker: choose, rename, describe, remove, import, export.

A model's axes become the sliders; its presets fill the preset list. Every
handler returns {component name: value} like the Train tab's handlers.
"""

from __future__ import annotations

import time
from pathlib import Path

import gradio as gr

from sda.generation.inversion_store import INVERSION_FILE
from sda.generation.naming import safe_stem
from sda.server.generators import GeneratorCache
from sda.server.keys_store import KeysStore
from sda.server.models_store import ModelEntry
from sda.server.play_files import PlayFiles
from sda.server.settings import AppSettings
from sda.server.store_file import take_notes
from sda.server.usage import mark_used
from sda.server.workspace_quota import WorkspaceQuota
from sda.server.write_sizes import download_bytes
from sda.ui.binding import Outputs, fills
from sda.ui.play.inputs import UploadValue, uploaded_path
from sda.ui.play.state import MAX_AXES, AxisView, PlayState
from sda.ui.serving import servable

AXIS_NAMES = [f"axis_{i}" for i in range(MAX_AXES)]
# The model picker, its sliders and presets: what showing a model fills.
MODEL_OUT = (
    "model_select", "model_info", "model_name", "model_description", "model_delete_row", "models_note",
    *AXIS_NAMES, "preset_select", "play_note",
)
REMOVE_OUT = ("model_delete_row", "models_note")


class ModelHandlers:
    def __init__(self, settings: AppSettings, generators: GeneratorCache) -> None:
        self.settings = settings
        self.generators = generators

    def files(self, play: PlayState) -> PlayFiles:
        return PlayFiles.of(self.settings, play.workspace_id)

    # ------------------------------------------------------------ showing
    def show(self, play: PlayState, key: str | None = None, note: str = "") -> Outputs:
        """Select ``key`` (or keep the current model, or take the newest) and show it."""
        files = self.files(play)
        entries = files.models.list()
        wanted = key if key is not None else play.model_key
        entry = next((e for e in entries if e.key == wanted), None) or (entries[0] if entries else None)
        out = {
            "model_select": gr.update(
                choices=[(e.label(), e.key) for e in entries], value=entry.key if entry else None
            ),
            "model_delete_row": gr.update(visible=False),
            "models_note": note,
        }
        play.delete_pending = ""
        if entry is None:
            play.model_key, play.axes = "", []
            out.update(
                model_info="No model yet. Train one on the **Train** tab, then press **Play with this model**; or "
                           "import a model file (.sdamodel).",
                model_name="",
                model_description="",
                preset_select=gr.update(choices=[], value=None),
            )
            out.update(self._sliders([]))
        else:
            out.update(self._load(play, entry))
        if broken := take_notes(files.workspace.dir / "play"):  # a store file was set aside: say so once
            out["models_note"] = f"{note} {broken}".strip()
        return out

    def _load(self, play: PlayState, entry: ModelEntry) -> Outputs:
        out = {"model_name": entry.name, "model_description": entry.description}
        try:
            generator = self.generators.get(entry)
        except Exception as exc:  # GenerationError, a damaged or foreign file
            play.model_key, play.axes = entry.key, []
            out.update(model_info=f"'{entry.name}' cannot be played: {exc}", play_note="")
            out.update(self._sliders([]))
            return out
        changed = play.model_key != entry.key
        play.model_key = entry.key
        play.axes = [AxisView.of(a) for a in generator.axes[:MAX_AXES]]
        out["model_info"] = _model_markdown(entry, generator)
        if changed:
            out.update(self._sliders(play.axes))
        names = self.files(play).presets.names(entry.key)
        out["preset_select"] = gr.update(choices=names, value=None)
        return out

    @staticmethod
    def _sliders(axes: list[AxisView]) -> Outputs:
        out = {}
        for index, name in enumerate(AXIS_NAMES):
            if index < len(axes):
                axis = axes[index]
                low, high, step = axis.slider_range
                out[name] = gr.update(
                    visible=True, label=axis.title, info=axis.info(), minimum=low, maximum=high, value=0.0, step=step
                )
            else:
                out[name] = gr.update(visible=False, value=0.0)
        return out

    # ------------------------------------------------------------ events
    @fills(*MODEL_OUT)
    def select(self, play: PlayState | None, key: str) -> Outputs:
        """A model picked in the list: show it, its sliders and its presets."""
        if play is None or not key or key == play.model_key:
            return {}
        return self.show(play, key)

    @fills(*MODEL_OUT)
    def save_info(self, play: PlayState | None, name: str, description: str) -> Outputs:
        """Rename and describe the current model."""
        if play is None or not play.model_key:
            return {"models_note": "Pick a model first."}
        store = self.files(play).models
        try:
            store.rename(play.model_key, name)
            entry = store.describe(play.model_key, description)
        except ValueError as exc:
            return {"models_note": str(exc)}
        out = self.show(play, entry.key, note=f"Saved: '{entry.name}'.")
        return out

    @fills(*REMOVE_OUT)
    def ask_remove(self, play: PlayState | None) -> Outputs:
        """"Remove this model…": ask first, saying what removing it means."""
        if play is None or not play.model_key:
            return {"models_note": "Pick a model first."}
        entry = self.files(play).models.get(play.model_key)
        if entry is None:
            return self.show(play)
        play.delete_pending = entry.key
        what = (
            "Its file is deleted."
            if entry.kind == "file"
            else "The training run stays on the Train tab; its **Play with this model** button brings the model back."
        )
        return {
            "model_delete_row": gr.update(visible=True),
            "models_note": f"Remove **{entry.name}** from your models? {what}",
        }

    @fills(*MODEL_OUT)
    def confirm_remove(self, play: PlayState | None) -> Outputs:
        """"Yes, remove it": the model goes (a run's files stay), the next one shows."""
        if play is None or not play.delete_pending:
            return {"model_delete_row": gr.update(visible=False)}
        key, play.delete_pending = play.delete_pending, ""
        files = self.files(play)
        entry = files.models.get(key)
        try:
            files.models.remove(key)
        except ValueError as exc:
            return {"models_note": str(exc), "model_delete_row": gr.update(visible=False)}
        if entry is not None and entry.kind == "file":
            files.presets.forget_model(key)
            KeysStore(files.workspace.dir / "play").forget_model(key)  # its Keys pads and their sounds
        play.model_key = ""
        return self.show(play, note=f"Removed '{entry.name if entry else key}'.")

    @fills(*REMOVE_OUT)
    def cancel_remove(self, play: PlayState | None) -> Outputs:
        """"Keep it": nothing is removed."""
        if play is not None:
            play.delete_pending = ""
        return {"model_delete_row": gr.update(visible=False), "models_note": "Kept."}

    @fills(*MODEL_OUT, "model_import")
    def import_file(self, play: PlayState | None, upload: UploadValue) -> Outputs:
        """A model file dropped on the import area: checked by loading it, then added."""
        path = uploaded_path(upload)
        if play is None or path is None:
            return {}

        def check(candidate):
            from sda.generation import load_generator

            generator = load_generator(candidate)
            return generator.name, generator.description

        refusal = WorkspaceQuota(self.settings, play.workspace_id).refusal(path.stat().st_size, "this model file")
        if refusal:
            return {"models_note": f"'{path.name}' was not imported: {refusal}", "model_import": None}
        try:
            entry = self.files(play).models.import_file(path, check)
        except Exception as exc:  # not a model file: say so, keep nothing
            reason = str(exc).replace(str(path.parent), "").strip() or type(exc).__name__
            out = {"models_note": f"'{path.name}' was not imported: {reason}"}
            out["model_import"] = None
            return out
        out = self.show(play, entry.key, note=f"Imported '{entry.name}'.")
        out["model_import"] = None
        return out

    @fills("model_export_file", "models_note")
    def export_file(self, play: PlayState | None) -> Outputs:
        """The current model as one .sdamodel file for download."""
        if play is None or not play.model_key:
            return {"models_note": "Pick a model first."}
        files = self.files(play)
        entry = files.models.get(play.model_key)
        if entry is None:
            return self.show(play)
        weights = entry.weights_path()
        size = weights.stat().st_size if weights is not None else 0  # a checkpoint is no smaller than its weights
        learned = weights.parent.parent / INVERSION_FILE if weights is not None else None  # the file carries it too
        planned = download_bytes(size + (learned.stat().st_size if learned is not None and learned.is_file() else 0))
        refusal = WorkspaceQuota(self.settings, play.workspace_id).refusal(planned, "this model file and its copy "
                                                                                    "for your browser")
        if refusal:
            return {"models_note": refusal}
        target = files.download_folder() / f"{safe_stem(entry.name, fallback='model')}.sdamodel"
        try:
            from sda.generation import export_model_file

            written = export_model_file(entry.source, target, name=entry.name, description=entry.description)
        except Exception as exc:
            return {"models_note": f"The model file could not be written: {exc}"}
        return {
            "model_export_file": gr.update(value=servable(written), visible=True),
            "models_note": f"'{entry.name}' as a model file: open it on any sda with Import.",
        }

    def play_run(self, play: PlayState | None, run_dir: Path | None) -> Outputs:
        """"Play with this model" on the Train tab: the run's best checkpoint, loaded on Play."""
        if play is None:
            return {}
        if run_dir is None:
            return {"play_model_note": "Open a run first (click it in Your runs)."}
        entry = self.files(play).models.restore_run(run_dir.name)
        if entry is None:
            return {"play_model_note": "This run has no checkpoint yet: wait for its first epochs."}
        out = self.show(play, entry.key, note="")
        out["tabs"] = gr.Tabs(selected="play")
        out["play_model_note"] = ""
        return out

    def api_list(self, api_key: str) -> list[dict]:
        """Models of the workspace the API key opens: key, name, description (a wrong or old key is refused)."""
        from sda.server.credentials import require_api_key

        workspace = require_api_key(self.settings, api_key)
        mark_used(self.settings, workspace.id)
        files = PlayFiles.of(self.settings, workspace.id)
        return [{"model": e.key, "name": e.name, "description": e.description} for e in files.models.list()]


def _model_markdown(entry: ModelEntry, generator) -> str:
    """Name, description and what the model learned from (from the engine's info)."""
    info = dict(getattr(generator, "info", {}) or {})
    lines = [f"**{entry.name}**" + (f": {entry.description}" if entry.description else "")]
    facts = []
    dataset = info.get("dataset") or {}
    if dataset.get("files"):
        facts.append(f"trained on {dataset['files']} files ({float(dataset.get('seconds', 0)):.0f} s of audio)")
    if info.get("epochs"):
        facts.append(f"{info['epochs']} epochs")
    if isinstance(info.get("trained_at"), (int, float)):
        facts.append("trained " + time.strftime("%d %b %Y %H:%M", time.localtime(info["trained_at"])))
    axes = len(generator.axes)
    facts.append(
        f"{axes} ax{'is' if axes == 1 else 'es'}" + (f" (the first {MAX_AXES} have sliders)" if axes > MAX_AXES else "")
    )
    lines.append(" · ".join(facts))
    return "  \n".join(lines)
