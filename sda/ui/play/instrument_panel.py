"""The Play tab's "Export as instrument" panel (its handlers are in instrument.py)."""

from __future__ import annotations

import gradio as gr

from sda.ui.binding import Components
from sda.ui.play.instrument import INSTRUMENT_FORMATS, KIND_CHOICES, MAX_PAGE_PADS

# The panel's inputs, in the order InstrumentHandlers.make takes them (then the seed, duration and sliders).
INSTRUMENT_INPUTS = ["instrument_kind", "instrument_format", "instrument_pads", "instrument_layers",
                     "instrument_robins", "instrument_sources"]


def build_instrument_panel(c: Components) -> None:
    gr.Markdown(
        "### Export as instrument\nA sampler instrument (SFZ for most samplers, SF2 for SoundFont players) in a "
        "zip: a kit of pads from note 36 (C2) up, or the current sound across the keys; velocity layers soft to "
        "loud along the model's level slider, and round robins."
    )
    c["instrument_kind"] = gr.Radio(KIND_CHOICES, value="kit", label="Instrument", elem_id="instrument-kind")
    c["instrument_format"] = gr.Dropdown(INSTRUMENT_FORMATS, value="both", label="Format",
                                         elem_id="instrument-format")
    with gr.Row():
        c["instrument_pads"] = gr.Slider(1, MAX_PAGE_PADS, value=16, step=1, label="Pads (kit)",
                                         elem_id="instrument-pads")
        c["instrument_layers"] = gr.Slider(1, 8, value=3, step=1, label="Velocity layers",
                                           elem_id="instrument-layers")
        c["instrument_robins"] = gr.Slider(1, 4, value=2, step=1, label="Round robins", elem_id="instrument-robins")
    c["instrument_sources"] = gr.Dropdown(
        [], value=[], multiselect=True, label="Pads from these sounds of the history (optional)",
        info="None picked: pads spread over the sliders' ranges from the seed", elem_id="instrument-sources",
    )
    c["instrument_btn"] = gr.Button("Make the instrument", elem_id="instrument-btn")
    c["instrument_note"] = gr.Markdown(elem_id="instrument-note")
    c["instrument_file"] = gr.File(label="Instrument (.zip)", interactive=False, visible=False,
                                   elem_id="instrument-file")
