"""The Play tab: every component laid out in one function, every event wired where it is seen.

Handlers live in page.py and its parts (models.py, sounds.py, library.py,
export.py); each says with ``@fills`` which components it fills, and
``Binder`` (sda/ui/binding.py) turns it into a Gradio event. Every action
that runs the model shares one queue ("generation") with a small
concurrency limit, so a busy server answers in turn instead of running
everything at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from sda.audio.io import AUDIO_EXTENSIONS
from sda.generation.checks import MAX_SECONDS, MIN_SECONDS
from sda.server.generators import GENERATION_ADMITTED
from sda.server.history import HISTORY_COLUMNS
from sda.server.public_mode import fairness_default
from sda.server.settings import AppSettings
from sda.ui.api_errors import public_errors
from sda.ui.binding import Binder, Components
from sda.ui.play.export import DEPTH_CHOICES, FORMAT_CHOICES, RATE_CHOICES
from sda.ui.play.instrument_panel import INSTRUMENT_INPUTS, build_instrument_panel
from sda.ui.play.keys_layout import build_keys_panel
from sda.ui.play.models import AXIS_NAMES
from sda.ui.play.page import PlayPage

AUDIO_TYPES = sorted(AUDIO_EXTENSIONS)
CONTROLS = ["seed", "duration", "evolve"]
# The browser's own <audio> player (no waveform: the picture beside it shows one): it
# plays at once, and the A/B switch can move between two players at the same moment.
PLAYER = dict(type="filepath", interactive=False, waveform_options=gr.WaveformOptions(show_recording_waveform=False))

# Each axis slider reaches half its safe width beyond both ends (state.SLIDER_MARGIN, as far as the
# engine honours), so the safe range is always the middle half of the track: the outer quarters are shaded.
PLAY_CSS = """
#axes input[type=range]::-webkit-slider-runnable-track {
  background: linear-gradient(to right, #fca5a5 0 25%, var(--neutral-200) 25% 75%, #fca5a5 75% 100%) !important;
}
#axes input[type=range]::-moz-range-track {
  background: linear-gradient(to right, #fca5a5 0 25%, var(--neutral-200) 25% 75%, #fca5a5 75% 100%) !important;
}
#axes input[type=range]::-moz-range-progress { background: transparent !important; }
"""

AB_SWITCH_JS = """() => {
    const a = document.querySelector('#ab-a audio'), b = document.querySelector('#ab-b audio');
    if (!a || !b) return;
    // Nothing playing: start with A. Otherwise hand over to the other one at the same moment.
    const [from, to] = !a.paused ? [a, b] : !b.paused ? [b, a] : [b, a];
    const at = from.currentTime || 0;
    from.pause();
    to.currentTime = Math.min(at, to.duration || at);
    to.play();
    document.querySelector('#ab-playing').textContent = 'Playing ' + (to === a ? 'A' : 'B');
}"""


def build_play_tab(c: Components, play: PlayPage) -> None:
    """Lay out the Play tab inside the current gr.Tab and wire its events (``c`` gains its components)."""
    models, sounds, library, export = play.models, play.sounds, play.library, play.export
    limits = play.settings  # a public server's limits: sliders end where they do, or say them
    c["play"] = gr.State(None)

    gr.Markdown(
        "## Play with a model\nPick one of your models, move its sliders, and make new sounds, variations and morphs."
    )
    with gr.Row(equal_height=False):
        c["model_select"] = gr.Dropdown(label="Model", choices=[], interactive=True, elem_id="model-select", scale=1)
        c["model_info"] = gr.Markdown(elem_id="model-info")
    manage = "Manage your models (rename, describe, remove, import, export)"
    with gr.Accordion(manage, open=False, elem_id="model-manage"):
        with gr.Row(equal_height=False):
            with gr.Column():
                c["model_name"] = gr.Textbox(label="Name", max_lines=1, elem_id="model-name")
                c["model_description"] = gr.Textbox(label="Description", lines=2, elem_id="model-description")
                with gr.Row():
                    c["model_save_btn"] = gr.Button("Save name and description", size="sm", elem_id="model-save-btn")
                    c["model_delete_btn"] = gr.Button(
                        "Remove this model…", size="sm", variant="stop", elem_id="model-delete-btn"
                    )
                with gr.Row(visible=False, elem_id="model-delete-row") as c["model_delete_row"]:
                    c["model_delete_confirm_btn"] = gr.Button(
                        "Yes, remove it", size="sm", variant="stop", elem_id="model-delete-confirm-btn"
                    )
                    c["model_delete_cancel_btn"] = gr.Button("Keep it", size="sm", elem_id="model-delete-cancel-btn")
            with gr.Column():
                c["model_import"] = gr.File(
                    label="Import a model file (.sdamodel)", file_types=[".sdamodel"], elem_id="model-import",
                    height=110,
                )
                c["model_export_btn"] = gr.Button("Export this model as a file", size="sm", elem_id="model-export-btn")
                c["model_export_file"] = gr.File(
                    label="Model file", interactive=False, visible=False, elem_id="model-export-file"
                )
        c["models_note"] = gr.Markdown(elem_id="models-note")

    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            gr.Markdown(
                "### Sliders\nEach slider is one way this model's sounds differ. "
                "Shaded ends lie outside the range of your sounds."
            )
            with gr.Column(elem_id="axes"):
                for name in AXIS_NAMES:
                    c[name] = gr.Slider(
                        -1, 1, value=0.0, visible=False, elem_id=name.replace("_", "-"), elem_classes=["sda-axis"]
                    )
            with gr.Row():
                c["randomize_btn"] = gr.Button("Randomize", size="sm", elem_id="randomize-btn")
                c["reset_btn"] = gr.Button("Reset", size="sm", elem_id="reset-btn")
            with gr.Row(equal_height=True):
                c["seed"] = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="seed", scale=3)
                c["dice_btn"] = gr.Button("Dice: new seed", size="sm", elem_id="dice-btn", scale=1)
            c["duration"] = gr.Slider(
                MIN_SECONDS, MAX_SECONDS, value=2.0, step=0.1, label="Duration (seconds)", elem_id="duration"
            )
            c["evolve"] = gr.Slider(
                0, 1, value=0.0, step=0.05, label="Evolve", info="How much a long sound changes over time (0 = steady)",
                elem_id="evolve",
            )
            c["generate_btn"] = gr.Button("Generate", variant="primary", elem_id="generate-btn")
            with gr.Accordion("Presets of this model", open=True, elem_id="presets"):
                c["preset_select"] = gr.Dropdown(
                    label="Recall a preset", choices=[], interactive=True, elem_id="preset-select"
                )
                c["preset_name"] = gr.Textbox(
                    label="Preset name", max_lines=1, placeholder="e.g. bright hit", elem_id="preset-name"
                )
                with gr.Row():
                    c["preset_save_btn"] = gr.Button(
                        "Save the sliders as a preset", size="sm", elem_id="preset-save-btn"
                    )
                    c["preset_rename_btn"] = gr.Button("Rename chosen", size="sm", elem_id="preset-rename-btn")
                    c["preset_delete_btn"] = gr.Button(
                        "Delete chosen", size="sm", variant="stop", elem_id="preset-delete-btn"
                    )
                c["preset_note"] = gr.Markdown(elem_id="preset-note")
        with gr.Column(scale=2):
            c["gen_audio"] = gr.Audio(label="Your sound", elem_id="gen-audio", **PLAYER)
            c["gen_picture"] = gr.Image(
                label="Waveform and spectrogram", type="filepath", interactive=False, elem_id="gen-picture", height=300
            )
            c["play_note"] = gr.Markdown(elem_id="play-note")
            c["results"] = gr.File(
                label="All sounds of the last action", file_count="multiple", interactive=False, visible=False,
                elem_id="results",
            )
            with gr.Row(equal_height=False):
                with gr.Column():
                    gr.Markdown("#### Variations of a sound")
                    c["vary_input"] = gr.File(
                        label="Drop a sound", file_types=AUDIO_TYPES, elem_id="vary-input", height=110
                    )
                    c["vary_count"] = gr.Slider(
                        1, 16, value=4, step=1, label="How many", elem_id="vary-count",
                        info=_cap_note(limits, "max_variation_seconds",
                                       "s of variations at once (how many × the sound's length)"),
                    )
                    c["vary_amount"] = gr.Slider(
                        0, 1, value=0.5, step=0.05, label="How different",
                        info="0 = the sound itself, through the model", elem_id="vary-amount",
                    )
                    c["vary_btn"] = gr.Button("Make variations", elem_id="vary-btn")
                with gr.Column():
                    gr.Markdown("#### Morph one sound into another")
                    with gr.Row():
                        c["morph_a"] = gr.File(label="Sound A", file_types=AUDIO_TYPES, elem_id="morph-a", height=110)
                        c["morph_b"] = gr.File(label="Sound B", file_types=AUDIO_TYPES, elem_id="morph-b", height=110)
                    c["morph_mode"] = gr.Radio(
                        ["Steps", "Continuous"], value="Steps", label="Morph as", elem_id="morph-mode"
                    )
                    steps = max(2, min(16, limits.max_morph_steps))  # the slider ends where the server's limit does
                    c["morph_steps"] = gr.Slider(
                        2, steps, value=min(5, steps), step=1, label="Steps (files from A to B)", elem_id="morph-steps"
                    )
                    longest = max(0.5, min(MAX_SECONDS, limits.max_morph_seconds))
                    c["morph_seconds"] = gr.Slider(
                        0.5, longest, value=min(4.0, longest), step=0.5,
                        label="Length of a continuous morph (seconds)", elem_id="morph-seconds",
                    )
                    c["morph_btn"] = gr.Button("Morph", elem_id="morph-btn")
                with gr.Column():
                    gr.Markdown(
                        "#### Resynthesis\nAny recording played through the model; the sliders push it along the axes."
                    )
                    c["resynth_input"] = gr.File(
                        label="Drop a recording", file_types=AUDIO_TYPES, elem_id="resynth-input", height=110
                    )
                    c["resynth_btn"] = gr.Button("Play it through the model", elem_id="resynth-btn")

    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown("### Export the sound in the player")
            with gr.Row():
                c["export_format"] = gr.Dropdown(FORMAT_CHOICES, value="wav", label="Format", elem_id="export-format")
                c["export_rate"] = gr.Dropdown(RATE_CHOICES, value=48000, label="Sample rate", elem_id="export-rate")
                c["export_depth"] = gr.Dropdown(
                    DEPTH_CHOICES, value="24", label="Bit depth", info="WAV: all; FLAC: 16/24; OGG/MP3: none",
                    elem_id="export-depth",
                )
            c["export_normalise"] = gr.Checkbox(
                False, label="Normalise each sound to -1 dBFS",
                info="Off: the model's level, one gain for all its sounds, so soft sounds stay soft and the "
                     "level slider is heard. A pack always shares one gain.",
                elem_id="export-normalise",
            )
            c["export_btn"] = gr.Button("Export", elem_id="export-btn")
            c["export_note"] = gr.Markdown(elem_id="export-note")
            c["export_file"] = gr.File(
                label="Sound and its settings (sidecar)", file_count="multiple", interactive=False, visible=False,
                elem_id="export-file",
            )
        with gr.Column():
            gr.Markdown(
                "### Sample pack\nMany sounds in one zip, in the export format above: the sliders as set "
                "(seeds counting up from the seed), or random positions inside the safe ranges."
            )
            c["pack_count"] = gr.Slider(
                1, 64, value=8, step=1, label="Sounds", elem_id="pack-count",
                info=_cap_note(limits, "max_pack_seconds", "s of sound per pack (sounds × duration)"),
            )
            c["pack_random"] = gr.Checkbox(
                False, label="Random slider positions (inside the safe ranges)", elem_id="pack-random"
            )
            c["pack_btn"] = gr.Button("Make the pack", elem_id="pack-btn")
            c["pack_note"] = gr.Markdown(elem_id="pack-note")
            c["pack_file"] = gr.File(label="Sample pack (.zip)", interactive=False, visible=False, elem_id="pack-file")
        with gr.Column():
            build_instrument_panel(c)

    gr.Markdown(
        "### History\nEvery sound made here, newest first. "
        "Click one to play it, download it, compare it or bring back its settings."
    )
    c["history"] = gr.Dataframe(headers=HISTORY_COLUMNS, interactive=False, elem_id="history", max_height=320)
    with gr.Row(equal_height=False):
        with gr.Column():
            c["history_audio"] = gr.Audio(label="Chosen sound", elem_id="history-audio", **PLAYER)
            c["history_note"] = gr.Markdown(elem_id="history-note")
            with gr.Row():
                c["ab_a_btn"] = gr.Button("Compare as A", size="sm", elem_id="ab-a-btn")
                c["ab_b_btn"] = gr.Button("Compare as B", size="sm", elem_id="ab-b-btn")
                c["recall_btn"] = gr.Button("Use its settings", size="sm", elem_id="recall-btn")
            c["history_file"] = gr.File(
                label="Download", file_count="multiple", interactive=False, visible=False, elem_id="history-file"
            )
        with gr.Column():
            gr.Markdown("#### A/B")
            c["ab_a_label"] = gr.Markdown("**A**: pick a sound in the history", elem_id="ab-a-label")
            c["ab_a"] = gr.Audio(show_label=False, elem_id="ab-a", **PLAYER)
            c["ab_b_label"] = gr.Markdown("**B**: pick another one", elem_id="ab-b-label")
            c["ab_b"] = gr.Audio(show_label=False, elem_id="ab-b", **PLAYER)
            with gr.Row():
                c["ab_switch_btn"] = gr.Button("Switch A/B at the same moment", size="sm", elem_id="ab-switch-btn")
                gr.Markdown("", elem_id="ab-playing")

    build_keys_panel(c, play)

    with gr.Accordion("Use this workspace from a script", open=False, elem_id="api-access"):
        gr.Markdown(
            "Scripts reach your models through the API (see README, \"Scripting the app\") with an **API key**, "
            "passed as the first argument. The key is shown once; making a new one replaces the old one, "
            "which stops working at once."
        )
        c["api_key_btn"] = gr.Button("Make a new API key", size="sm", elem_id="api-key-btn")
        c["api_key"] = gr.Textbox(
            label="Your API key (keep it to yourself)", interactive=False, visible=False, elem_id="api-key",
            buttons=["copy"],
        )
        c["api_key_note"] = gr.Markdown(elem_id="api-key-note")

    # ---------------------------------------------------------------- events
    bind = Binder(c, play.settings, api_prefix="play")

    state, axes = c["play"], [c[name] for name in AXIS_NAMES]
    controls = [c[name] for name in CONTROLS]
    c["api_key_btn"].click(inputs=[state], **bind(play.replace_api_key))
    c["model_select"].input(inputs=[state, c["model_select"]], **bind(models.select))
    c["model_save_btn"].click(inputs=[state, c["model_name"], c["model_description"]], **bind(models.save_info))
    c["model_delete_btn"].click(inputs=[state], **bind(models.ask_remove))
    c["model_delete_confirm_btn"].click(inputs=[state], **bind(models.confirm_remove))
    c["model_delete_cancel_btn"].click(inputs=[state], **bind(models.cancel_remove))
    c["model_import"].upload(inputs=[state, c["model_import"]], **bind(models.import_file, progress_on="model_import"))
    c["model_export_btn"].click(inputs=[state], **bind(models.export_file, progress_on="model_export_file"))

    c["randomize_btn"].click(inputs=[state], **bind(sounds.randomize))
    c["reset_btn"].click(inputs=[state], **bind(sounds.reset))
    c["dice_btn"].click(**bind(sounds.dice))
    # Actions that run the model: one shared queue, progress on the main player.
    making = dict(generation=True, progress_on="gen_audio")
    c["generate_btn"].click(inputs=[state, *controls, *axes], **bind(sounds.generate, **making))
    c["vary_btn"].click(
        inputs=[state, c["vary_input"], c["vary_count"], c["vary_amount"], c["seed"], *axes],
        **bind(sounds.vary, **making),
    )
    c["morph_btn"].click(
        inputs=[state, c["morph_a"], c["morph_b"], c["morph_mode"], c["morph_steps"], c["morph_seconds"]],
        **bind(sounds.morph, **making),
    )
    c["resynth_btn"].click(inputs=[state, c["resynth_input"], *axes], **bind(sounds.resynthesise, **making))

    c["history"].select(inputs=[state], **bind(library.pick))
    c["ab_a_btn"].click(inputs=[state, gr.State("a")], **bind(library.put_in))
    c["ab_b_btn"].click(inputs=[state, gr.State("b")], **bind(library.put_in))
    c["ab_switch_btn"].click(None, None, None, js=AB_SWITCH_JS)
    c["recall_btn"].click(inputs=[state], **bind(library.recall))

    c["preset_save_btn"].click(inputs=[state, c["preset_name"], *controls, *axes], **bind(library.save_preset))
    c["preset_select"].input(inputs=[state, c["preset_select"]], **bind(library.load_preset))
    c["preset_rename_btn"].click(inputs=[state, c["preset_select"], c["preset_name"]], **bind(library.rename_preset))
    c["preset_delete_btn"].click(inputs=[state, c["preset_select"]], **bind(library.delete_preset))

    export_inputs = [c["export_format"], c["export_rate"], c["export_depth"], c["export_normalise"]]
    c["export_btn"].click(
        inputs=[state, *export_inputs], **bind(export.export, generation=True, progress_on="export_file")
    )
    c["pack_btn"].click(
        inputs=[state, c["pack_count"], c["pack_random"], *controls, *export_inputs, *axes],
        **bind(export.pack, generation=True, progress_on="pack_file"),
    )
    c["instrument_sources"].focus(inputs=[state], **bind(play.instrument.sources))
    c["instrument_btn"].click(
        inputs=[state, *[c[name] for name in INSTRUMENT_INPUTS], c["seed"], c["duration"], *axes],
        **bind(play.instrument.make, generation=True, progress_on="instrument_file"),
    )


def _cap_note(settings: AppSettings, name: str, what: str) -> str | None:
    """The line under a slider whose reach this server limits below a local run's (None otherwise)."""
    limit = getattr(settings, name)
    return f"This server makes at most {limit:g} {what}." if limit < fairness_default(name, public=False) else None


def build_play_api(play: PlayPage) -> None:
    """The public API of the Play tab: generate, vary, morph, resynthesise, list_models (see README)."""

    def api(method: Callable[..., Any]) -> Callable[..., Any]:
        return public_errors(method, play.settings)

    text, number = (lambda: gr.Textbox(visible=False)), (lambda: gr.Number(visible=False))
    queue = dict(concurrency_limit=GENERATION_ADMITTED, concurrency_id="generation")  # PlayPage.gate runs them
    gr.Button(visible=False).click(
        api(play.api_generate), [text(), text(), number(), number(), gr.JSON(visible=False), number()],
        [gr.File(visible=False), gr.JSON(visible=False)], api_name="generate", **queue,
    )
    gr.Button(visible=False).click(
        api(play.api_vary), [text(), text(), gr.File(visible=False), number(), number(), number()],
        [gr.File(file_count="multiple", visible=False), gr.JSON(visible=False)], api_name="vary", **queue,
    )
    gr.Button(visible=False).click(
        api(play.api_morph), [text(), text(), gr.File(visible=False), gr.File(visible=False), number(), number()],
        [gr.File(file_count="multiple", visible=False), gr.JSON(visible=False)], api_name="morph", **queue,
    )
    gr.Button(visible=False).click(
        api(play.api_resynthesise), [text(), text(), gr.File(visible=False), gr.JSON(visible=False)],
        [gr.File(visible=False), gr.JSON(visible=False)], api_name="resynthesise", **queue,
    )
    gr.api(api(play.models.api_list), api_name="list_models")
