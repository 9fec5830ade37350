"""The Play tab's "Export as instrument": a sampler instrument (SFZ and/or SF2) in a zip, as
``python -m sda instrument`` makes it (``sda.generation.instrument``).

A kit's pads are the sounds picked in the history (made by this model), or,
with none picked, sounds spread over the sliders' safe ranges from the seed.
A pitched instrument is the sound the sliders and the seed make now.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from sda.generation.errors import GenerationError
from sda.generation.naming import safe_stem
from sda.server.generation_gate import GenerationBusy, GenerationGate, fair_gate
from sda.server.generators import GeneratorCache
from sda.server.play_files import PlayFiles
from sda.server.settings import AppSettings
from sda.server.workspace_quota import FREE_SOME_SPACE, WorkspaceQuota
from sda.server.write_sizes import pack_bytes
from sda.ui.binding import Outputs, fills
from sda.ui.play.sounds import PlayError, checked_seconds
from sda.ui.play.state import PlayState
from sda.ui.serving import servable

KIND_CHOICES = [("Drum kit (a different sound per pad)", "kit"), ("Pitched (one sound across the keys)", "pitched")]
INSTRUMENT_FORMATS = [("SFZ and SF2", "both"), ("SFZ", "sfz"), ("SF2 (SoundFont)", "sf2")]
MAX_PAGE_PADS = 32
SF2_AND_SIDECARS = 2  # the SF2 holds a 16-bit copy of every sample; with sidecars, call it one more copy


class InstrumentHandlers:
    def __init__(self, settings: AppSettings, generators: GeneratorCache, gate: GenerationGate | None = None) -> None:
        self.settings = settings
        self.generators = generators
        self.gate = gate or fair_gate(settings)

    @fills("instrument_sources")
    def sources(self, play: PlayState | None) -> Outputs:
        """The sounds of the current model in the history that can be pads (new sounds: their seed and sliders)."""
        if play is None:
            return {}
        items = [item for item in PlayFiles.of(self.settings, play.workspace_id).history.list()
                 if item.kind == "generate" and item.model_key == play.model_key and "seed" in item.settings]
        return {"instrument_sources": gr.update(choices=[(f"{item.label} ({item.row()[0]})", item.id)
                                                         for item in items][:MAX_PAGE_PADS])}

    @fills("instrument_file", "instrument_note")
    def make(self, play: PlayState | None, kind: str, fmt: str, pads: float, layers: float, robins: float,
             picked: list[str] | None, seed: float | None, seconds: float, *axis_values: float) -> Outputs:
        if play is None:
            return {}
        try:
            with self.gate.job(play.workspace_id):
                return self._make(play, kind, fmt, pads, layers, robins, picked, seed, seconds, *axis_values)
        except GenerationBusy as exc:
            return {"instrument_note": str(exc)}

    def _make(self, play: PlayState, kind: str, fmt: str, pads: float, layers: float, robins: float,
              picked: list[str] | None, seed: float | None, seconds: float, *axis_values: float) -> Outputs:
        from sda.generation.instrument import InstrumentRequest, make_instrument
        from sda.generation.instrument_files import check_format, write_instrument

        files = PlayFiles.of(self.settings, play.workspace_id)
        entry = files.models.get(play.model_key) if play.model_key else None
        if entry is None:
            return {"instrument_note": "Pick a model first."}
        fixed = {a.key: float(v) for a, v in zip(play.axes, axis_values) if v is not None and abs(float(v)) > 1e-9}
        sources = None
        if kind == "kit" and picked:
            chosen = [files.history.get(item_id) for item_id in picked]
            sources = [{"seed": item.settings["seed"], "axes": item.settings.get("axes") or {}}
                       for item in chosen if item is not None and "seed" in item.settings]
        try:
            seconds = checked_seconds(seconds)
            check_format(fmt)
            request = InstrumentRequest(kind=kind, pads=min(int(pads or 16), MAX_PAGE_PADS),
                                        velocity_layers=int(layers or 1), round_robins=int(robins or 1),
                                        seconds=seconds, seed=int(seed or 0), axes={} if sources else fixed,
                                        sources=sources or None).checked()
            samples = request.velocity_layers * request.round_robins * (request.pads if kind == "kit" else
                                                                        len(range(-request.span, request.span + 1,
                                                                                  request.step)))
            made = samples * seconds
            if made > self.settings.max_pack_seconds + 1e-9:
                raise PlayError(f"This server makes at most {self.settings.max_pack_seconds:g} s of sound per "
                                f"instrument or pack ({samples} samples × {seconds:g} s asked); ask for fewer pads, "
                                "layers or round robins, or shorter sounds. (Server setting SDA_MAX_PACK_SECONDS.)")
        except (GenerationError, ValueError) as exc:
            return {"instrument_note": str(exc)}
        planned = SF2_AND_SIDECARS * pack_bytes(samples, seconds, 48000, "24")
        refusal = WorkspaceQuota(self.settings, play.workspace_id).refusal(
            planned, f"this instrument of {samples} samples", f"{FREE_SOME_SPACE}, or make a smaller instrument")
        if refusal:
            return {"instrument_note": refusal}
        try:
            generator = self.generators.get(entry)
            instrument = make_instrument(generator, request)
            archive = files.download_folder() / f"{safe_stem(entry.name)}-{kind}.zip"
            write_instrument(instrument, archive, fmt, model={"model_id": generator.model_id})
        except (GenerationError, ValueError) as exc:  # nothing half-written: the zip is renamed in at the end
            return {"instrument_note": f"The instrument could not be made: {exc}"}
        low = min(t.zone.lokey for t in instrument.takes)
        high = max(t.zone.hikey for t in instrument.takes)
        return {
            "instrument_file": gr.update(value=servable(archive), visible=True),
            "instrument_note": " ".join([f"{len(instrument.takes)} samples in {Path(archive).name}, notes "
                                         f"{low}-{high}; readme.txt inside says which note plays what.",
                                         *instrument.notes]),
        }
