"""The Play page's handlers, put together, and the public API behind them.

``PlayPage`` is one object per server: ``models`` (models.py), ``sounds``
(sounds.py), ``library`` (library.py) and ``export`` (export.py) hold the
handlers layout.py wires to the page. All generation goes through
``sda.generation``; loaded models are shared through one cache.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import gradio as gr

from sda.server.credentials import has_api_key, new_api_key, require_api_key
from sda.server.generation_gate import GenerationGate, fair_gate
from sda.server.generators import GeneratorCache
from sda.server.play_files import PlayFiles
from sda.server.settings import AppSettings
from sda.server.usage import mark_used
from sda.server.workspace import Workspace
from sda.ui.binding import Outputs, fills
from sda.ui.play.export import ExportHandlers
from sda.ui.play.instrument import InstrumentHandlers
from sda.ui.play.keys import KeysHandlers
from sda.ui.play.library import LibraryHandlers, history_table
from sda.ui.play.models import MODEL_OUT, ModelHandlers
from sda.ui.play.sounds import PlayError, SoundHandlers
from sda.ui.play.state import PlayState
from sda.ui.serving import servable
from sda.ui.train.state import PageState

# The tab opened again: the models (a run may have a checkpoint now) and the history (the API adds to it).
PLAY_REFRESH_OUT = (*MODEL_OUT, "history")
PLAY_LOAD_OUT = ("play", *PLAY_REFRESH_OUT)


class PlayPage:
    """Every handler of the Play tab, for one server."""

    def __init__(self, settings: AppSettings, generators: GeneratorCache | None = None,
                 gate: GenerationGate | None = None) -> None:
        self.settings = settings
        self.generators = generators or GeneratorCache()
        # Every action that runs the model, page and API alike, passes this one gate.
        self.gate = gate or fair_gate(settings)
        self.models = ModelHandlers(settings, self.generators)
        self.sounds = SoundHandlers(settings, self.generators, self.gate)
        self.library = LibraryHandlers(settings)
        self.export = ExportHandlers(settings, self.generators, self.gate)
        self.instrument = InstrumentHandlers(settings, self.generators, self.gate)
        self.keys = KeysHandlers(settings, self.generators, self.gate)

    @fills(*PLAY_LOAD_OUT)
    def load(self, page: PageState | None) -> Outputs:
        """After the Train tab found the page's workspace: its models, history and presets."""
        if page is None:
            return {}
        play = PlayState(workspace_id=page.workspace_id)
        out = {"play": play}
        out.update(self.models.show(play))
        out["history"] = history_table(play, PlayFiles.of(self.settings, play.workspace_id).history)
        return out

    @fills(*PLAY_REFRESH_OUT)
    def refresh(self, play: PlayState | None) -> Outputs:
        """The tab was opened: models (a run may have got its first checkpoint) and history (the API adds to it)
        again."""
        if play is None:
            return {}
        out = self.models.show(play)
        out["history"] = history_table(play, PlayFiles.of(self.settings, play.workspace_id).history)
        return out

    @fills("tabs", "play_model_note", *MODEL_OUT)
    def play_run(self, page: PageState | None, play: PlayState | None) -> Outputs:
        """"Play with this model" on the Train tab, for the run the Train tab shows."""
        view = page.view if page else None
        return self.models.play_run(play, Path(view.run_dir) if view else None)

    @fills("api_key", "api_key_note")
    def replace_api_key(self, play: PlayState | None) -> Outputs:
        """"Make a new API key": a key for scripts, shown once; the workspace's earlier key stops working."""
        if play is None:
            return {"api_key_note": "Reload the page, then try again."}
        workspace = Workspace(self.settings, play.workspace_id)
        had_one = has_api_key(workspace)
        key = new_api_key(workspace)
        note = "Copy it now: the server keeps only a fingerprint of it and cannot show it again."
        if had_one:
            note += " Your previous key no longer works."
        return {"api_key": gr.update(value=key, visible=True), "api_key_note": note}

    # ------------------------------------------------------------------- API
    @contextmanager
    def _api_play(self, api_key: str, model: str) -> Iterator[PlayState]:
        """The Play state of an API call; the workspace counts as used, and busy while the call runs."""
        workspace = require_api_key(self.settings, api_key)
        mark_used(self.settings, workspace.id)
        with self.gate.job(workspace.id):
            yield self._api_state(workspace.id, model)

    def _api_state(self, workspace_id: str, model: str) -> PlayState:
        play = PlayState(workspace_id=workspace_id, model_key=str(model or ""))
        entry = PlayFiles.of(self.settings, workspace_id).models.get(play.model_key)
        if entry is None:
            raise PlayError(f"No model '{model}' in this workspace (list_models names them).")
        from sda.ui.play.state import AxisView

        generator = self.generators.get(entry)
        play.axes = [AxisView.of(a) for a in generator.axes]
        return play

    def _api_result(self, items) -> tuple[list[str], list[dict]]:
        return [servable(i.audio_path) for i in items], [i.settings for i in items]

    def api_generate(
        self, api_key: str, model: str, seconds: float, seed: float, axes: dict | None, evolve: float
    ):
        """One new sound: (audio file, its settings)."""
        with self._api_play(api_key, model) as play:
            files, settings = self._api_result(self.sounds.make_new(play, seed, seconds, evolve, dict(axes or {})))
        return files[0], settings[0]

    def api_vary(self, api_key: str, model: str, sound, count: float, amount: float, seed: float):
        """Variations of an uploaded sound: (audio files, their settings)."""
        with self._api_play(api_key, model) as play:
            return self._api_result(self.sounds.make_variations(play, sound, count, amount, seed, {}))

    def api_morph(self, api_key: str, model: str, sound_a, sound_b, steps: float, seconds: float):
        """Morph A into B: ``steps`` files, or with seconds > 0 one continuous sound."""
        mode = "continuous" if seconds and float(seconds) > 0 else "steps"
        with self._api_play(api_key, model) as play:
            return self._api_result(self.sounds.make_morph(play, sound_a, sound_b, mode, steps, seconds))

    def api_resynthesise(self, api_key: str, model: str, sound, axes: dict | None):
        """An uploaded recording through the model, axes as offsets: (audio file, its settings)."""
        with self._api_play(api_key, model) as play:
            files, settings = self._api_result(self.sounds.make_resynthesis(play, sound, dict(axes or {})))
        return files[0], settings[0]
