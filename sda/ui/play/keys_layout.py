"""The Keys panel on the Play tab: play the model's sounds live from pads, the keyboard and MIDI.

The playing happens in the browser: the panel's JavaScript (keys_js/, four
parts read here and run by gr.HTML's ``js_on_load``) holds the decoded
sounds and starts them the moment a key goes down. The server's part is
the handlers of keys.py, which make and serve the sounds ahead of time;
this module lays the panel out and wires them, each where it is seen.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from sda.server.keys_pads import SOURCES
from sda.server.keys_store import MODES
from sda.ui.binding import Binder, Components
from sda.ui.play.models import AXIS_NAMES

_JS_PARTS = ("engine.js", "midi.js", "record.js", "panel.js")
_JS_DIR = Path(__file__).with_name("keys_js")
SCRIPT = "\n".join((_JS_DIR / name).read_text("utf-8") for name in _JS_PARTS)
SCRIPT += "\nsdaKeysStart(element, trigger, upload);\n"

# The panel's fixed markup; the pads are added by the script (so the template never re-renders them).
TEMPLATE = """
<div class="keys-panel">
  <div class="keys-bar">
    <button id="keys-arm" type="button" aria-pressed="false">Arm the computer keyboard</button>
    <button id="keys-record-btn" type="button">● Record</button>
    <label>Velocity <select id="keys-curve">
      <option value="linear">linear</option><option value="soft">soft (light touch louder)</option>
      <option value="hard">hard (more range)</option><option value="fixed">fixed (all full)</option></select></label>
    <label>Notes <select id="keys-gate">
      <option value="oneshot">one-shot</option><option value="gate">gate (stop on release)</option></select></label>
    <label>Root <select id="keys-root"></select></label>
    <label>Choke groups <input id="keys-chokes" type="text" size="10" placeholder="e.g. 3 4, 7 8"></label>
  </div>
  <div id="keys-pads" class="keys-pads"></div>
  <div class="keys-bar keys-small">
    <span id="keys-latency">Key to sound start: nothing played yet</span>
  </div>
  <div class="keys-bar keys-small">
    <span id="midi-status">MIDI: looking for devices…</span>
    <button id="midi-learn-btn" type="button">MIDI learn</button>
    <span id="midi-map"></span>
  </div>
</div>
"""

KEYS_CSS = """
.keys-bar { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 6px 0; }
.keys-small { font-size: 0.9em; color: var(--body-text-color-subdued); }
button, select, input { border: 1px solid var(--border-color-primary); border-radius: 6px;
  padding: 3px 8px; background: var(--background-fill-secondary); color: var(--body-text-color); }
#keys-arm[aria-pressed=true], .keys-recording-on { background: #fca5a5; }
.keys-pads { display: grid; grid-template-columns: repeat(8, minmax(70px, 1fr)); gap: 6px; }
.keys-pad { display: flex; flex-direction: column; align-items: stretch; gap: 2px; padding: 4px; min-height: 70px;
  touch-action: none; user-select: none; text-align: left; color: var(--body-text-color); }
.keys-pad canvas { width: 100%; height: 28px; color: var(--color-accent); }
.keys-key { font-weight: 700; font-size: 0.85em; }
.keys-name { font-size: 0.75em; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.keys-hit { background: var(--color-accent-soft); }
.keys-drop { outline: 2px dashed var(--color-accent); }
"""

LOAD_JS = "(files, data) => { window.sdaKeys && window.sdaKeys.load(files, data); return []; }"
EXPLORE_JS = "(files) => { window.sdaKeys && window.sdaKeys.explore(files); return []; }"


def build_keys_panel(c: Components, play) -> None:
    """The Keys panel, inside the Play tab's layout (``play`` is the PlayPage; ``c`` gains its components)."""
    keys = play.keys
    with gr.Accordion("Keys: play the model live (pads, computer keyboard, MIDI)", open=True, elem_id="keys-panel"):
        gr.Markdown(
            "Fill the pads, then click them, arm the computer keyboard (pads on **1-8** and **Q-I**, a piano "
            "octave on **Z-,**) or play a MIDI keyboard. Drop a sound file or drag a history row onto a pad to "
            "replace it. **Kit**: a sound per pad. **Pitched**: the sound in the player across the keys. "
            "**Explore**: every note a sound never heard, near the sliders."
        )
        with gr.Row(equal_height=True):
            c["keys_mode"] = gr.Radio(list(MODES), value="Kit", label="Pads play", elem_id="keys-mode")
            c["keys_source"] = gr.Dropdown(list(SOURCES), value=SOURCES[0], label="Fill a kit from",
                                           elem_id="keys-source")
            c["keys_seconds"] = gr.Slider(0.2, 4.0, value=1.0, step=0.1, label="Length of new sounds (s)",
                                          elem_id="keys-seconds")
        with gr.Row(equal_height=True):
            c["keys_layers"] = gr.Checkbox(False, label="Velocity layers (3 per pad, along the model's level axis)",
                                           elem_id="keys-layers")
            c["keys_octaves"] = gr.Checkbox(False, label="Pitched: render each octave with the model",
                                            elem_id="keys-octaves")
            c["keys_fill_btn"] = gr.Button("Fill the pads", variant="primary", elem_id="keys-fill-btn")
        c["keys"] = gr.HTML("{}", html_template=TEMPLATE, js_on_load=SCRIPT, elem_id="keys", css_template=KEYS_CSS)
        c["keys_note"] = gr.Markdown(elem_id="keys-note")
        with gr.Row(equal_height=False):
            c["keys_recording"] = gr.Audio(label="Last recording (rendered from the notes)", type="filepath",
                                           interactive=False, elem_id="keys-recording",
                                           waveform_options=gr.WaveformOptions(show_recording_waveform=False))
            c["keys_midi_file"] = gr.File(label="Its MIDI file", interactive=False, visible=False,
                                          elem_id="keys-midi-file")
        c["keys_feed"] = gr.File(file_count="multiple", visible="hidden", elem_id="keys-feed")
        c["keys_explore"] = gr.File(file_count="multiple", visible="hidden", elem_id="keys-explore")

    bind = Binder(c, play.settings, api_prefix="play")
    state, axes = c["play"], [c[name] for name in AXIS_NAMES]
    load = dict(fn=None, inputs=[c["keys_feed"], c["keys"]], outputs=None, js=LOAD_JS)
    c["model_select"].change(inputs=[state], **bind(keys.restore)).then(**load)
    c["keys_mode"].input(inputs=[state, c["keys_mode"]], **bind(keys.set_mode)).then(**load)
    fill_inputs = [state, c["keys_mode"], c["keys_source"], c["keys_seconds"], c["keys_layers"], c["keys_octaves"]]
    c["keys_fill_btn"].click(inputs=[*fill_inputs, *axes], **bind(keys.fill, generation=True,
                                                                   progress_on="keys_note")).then(**load)
    # Events the panel's script triggers on its own element (keys.py says what each carries).
    c["keys"].submit(inputs=[state, c["keys_mode"]], **bind(keys.save_settings))
    c["keys"].select(inputs=[state], **bind(keys.replace_pad)).then(**load)
    c["keys"].apply(inputs=[state, *axes], **bind(keys.rerender, generation=True)).then(**load)
    c["keys"].expand(inputs=[state, c["keys_seconds"], *axes], **bind(keys.explore)).then(
        fn=None, inputs=[c["keys_explore"]], outputs=None, js=EXPLORE_JS)
    c["keys"].upload(inputs=[state], **bind(keys.store_recording))
