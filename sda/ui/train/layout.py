"""The Train tab: every component laid out in one function, every event wired where it is seen.

Handlers live in dataset.py, runs.py and live.py (put together in page.py);
each says with ``@fills`` which components it fills, and ``Binder``
(sda/ui/binding.py) turns it into a Gradio event. The page's state, its
timer and the events that reach into the Play tab belong to the app shell
(sda/ui/app.py).
"""

from __future__ import annotations

import gradio as gr

from sda.audio.io import AUDIO_EXTENSIONS
from sda.ui import frontend
from sda.ui.api_errors import public_errors
from sda.ui.binding import Binder, Components
from sda.ui.train.config_form import ADVANCED_FIELDS, PRESET_CHOICES
from sda.ui.train.dataset import ADVANCED
from sda.ui.train.page import TrainPage
from sda.ui.train.run_status import RUN_COLUMNS

# Fixed colours: a plot that starts empty learns its series from these.
LOSS_COLORS = {"train": "#f97316", "validation": "#2563eb"}
PART_COLORS = {
    "reconstruction (train)": "#f97316", "reconstruction (validation)": "#2563eb",
    "KL (train)": "#16a34a", "KL (validation)": "#9333ea",
}
LOSS_LABEL = "Loss per epoch (lower is better): orange = train, blue = validation"
PARTS_LABEL = "Loss parts: reconstruction (orange train, blue validation), KL (green train, purple validation)"


def build_train_tab(c: Components, train: TrainPage) -> None:
    """Lay out the Train tab inside the current gr.Tab and wire its events (``c`` gains its components).

    ``c`` already holds the page's state ("page") and its timer ("timer").
    """
    data, runs, live = train.dataset, train.runs, train.live
    with gr.Row(equal_height=False):
        with gr.Column():
            gr.Markdown("### 1 · Your sounds")
            c["dataset_upload"] = gr.File(
                label="Drop sound files, a folder or a .zip here (or click to pick files)",
                file_count="multiple", file_types=sorted(AUDIO_EXTENSIONS | {".zip"}),
                elem_id="dataset-upload", height=150,
            )
            with gr.Row():
                c["folder_upload"] = gr.UploadButton(
                    "Pick a folder…", file_count="directory", size="sm", elem_id="folder-upload"
                )
                c["demo_btn"] = gr.Button("Use the demo sounds", size="sm", elem_id="demo-data-btn")
                c["clear_btn"] = gr.Button("Clear", size="sm", variant="secondary", elem_id="clear-data-btn")
            c["dataset_note"] = gr.Markdown(elem_id="dataset-note")
            c["dataset_summary"] = gr.Markdown(elem_id="dataset-summary")
            c["dataset_picture"] = gr.Image(
                show_label=False, interactive=False, type="filepath", visible=False, elem_id="dataset-picture",
                height=220,
            )
            c["dataset_issues"] = gr.Dataframe(
                headers=["File", "Why it cannot be used"], interactive=False, visible=False,
                label="Files that cannot be used", elem_id="dataset-issues", max_height=240,
            )
        with gr.Column():
            gr.Markdown("### 2 · Settings")
            c["preset"] = gr.Radio(
                PRESET_CHOICES, value="Auto", label="How hard to fight overfitting", elem_id="preset"
            )
            c["preset_reason"] = gr.Markdown(elem_id="preset-reason")
            with gr.Accordion("Advanced (blank = the preset's value)", open=False, elem_id="advanced"):
                with gr.Row():
                    for field in ADVANCED_FIELDS:
                        # Text, not gr.Number: an untouched number box sends 0, and blank must mean "preset".
                        c[f"adv_{field.key}"] = gr.Textbox(
                            label=field.label, info=field.info, min_width=150, max_lines=1,
                            elem_id=f"adv-{field.key}",
                        )
            c["settings_msg"] = gr.Markdown(elem_id="settings-msg")
            gr.Markdown("### 3 · Train")
            with gr.Row():
                c["start_btn"] = gr.Button("Start", variant="primary", interactive=False, elem_id="start-btn")
                c["cancel_btn"] = gr.Button("Cancel", variant="stop", interactive=False, elem_id="cancel-btn")
                c["resume_btn"] = gr.Button("Resume", interactive=False, elem_id="resume-btn")
                c["save_btn"] = gr.Button("Save checkpoint now", interactive=False, elem_id="save-btn")
            c["resume_info"] = gr.Markdown(elem_id="resume-info")
            c["status"] = gr.Markdown(elem_id="status")

    gr.Markdown("### 4 · Watch it learn")
    c["progress"] = gr.Markdown(elem_id="progress")
    c["warnings"] = gr.Markdown("No warnings so far.", elem_id="warnings")
    with gr.Row():
        c["loss_plot"] = gr.LinePlot(
            x="epoch", y="loss", color="series", color_map=LOSS_COLORS, color_title="",
            label=LOSS_LABEL, elem_id="loss-plot", height=300,
        )
        c["step_plot"] = gr.LinePlot(
            x="step", y="train loss", label="Training loss per step", elem_id="step-plot", height=300
        )
    with gr.Row():
        c["parts_plot"] = gr.LinePlot(
            x="epoch", y="loss", color="series", color_map=PART_COLORS, color_title="",
            label=PARTS_LABEL, elem_id="parts-plot", height=300,
        )
        c["kl_plot"] = gr.LinePlot(
            x="epoch", y="KL divergence", label="KL divergence (near 0 = collapse)", elem_id="kl-plot", height=300
        )
        c["lr_plot"] = gr.LinePlot(x="epoch", y="learning rate", label="Learning rate", elem_id="lr-plot", height=300)

    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            gr.Markdown("### 5 · Previews")
            c["previews"] = gr.HTML(frontend.PREVIEWS_HTML, js_on_load=None, elem_id="previews")
        with gr.Column(scale=1):
            gr.Markdown("### 6 · Keep the result")
            c["model_btn"] = gr.Button("Get the best model", elem_id="download-model-btn")
            c["model_note"] = gr.Markdown(elem_id="model-note")
            c["model_file"] = gr.File(
                label="Model checkpoint (.pt)", interactive=False, visible=False, elem_id="model-file"
            )
        c["play_model_btn"] = gr.Button("Play with this model", variant="primary", elem_id="play-model-btn")
        c["play_model_note"] = gr.Markdown(elem_id="play-model-note")

    gr.Markdown("### Your runs")
    c["runs"] = gr.Dataframe(
        headers=RUN_COLUMNS, interactive=False, label="Click a run to open it", elem_id="runs", max_height=300
    )
    c["runs_refresh"] = gr.Button("Refresh the list", size="sm", elem_id="runs-refresh-btn")

    # Carriers for the browser-side preview list (see frontend.py).
    c["preview_feed"] = gr.File(file_count="multiple", visible="hidden", elem_id="preview-feed")
    c["preview_marker"] = gr.Textbox(visible="hidden", elem_id="preview-marker")

    # ---------------------------------------------------------------- events
    bind = Binder(c, train.settings, api_prefix="ui")
    page, preset, advanced = c["page"], c["preset"], [c[name] for name in ADVANCED]
    # Decoding a dataset can take a while: its progress shows on the summary.
    reading = dict(progress_on="dataset_summary")
    c["dataset_upload"].upload(inputs=[c["dataset_upload"], page, preset], **bind(data.add_files, **reading))
    c["folder_upload"].upload(inputs=[c["folder_upload"], page, preset], **bind(data.add_files, **reading))
    c["demo_btn"].click(inputs=[page, preset], **bind(data.use_demo, **reading))
    c["clear_btn"].click(inputs=[page, preset], **bind(data.clear_dataset, **reading))
    preset.change(inputs=[preset, page], **bind(data.preset_changed))
    c["start_btn"].click(inputs=[page, preset, *advanced], **bind(runs.start))
    c["cancel_btn"].click(inputs=[page], **bind(runs.cancel))
    c["resume_btn"].click(inputs=[page, *advanced], **bind(runs.resume))
    c["save_btn"].click(inputs=[page], **bind(runs.save_checkpoint))
    # The tick never waits behind a long action (it comes again in a second), nor for a queue slot.
    c["timer"].tick(inputs=[page], concurrency_limit=None, **bind(live.tick, wait=False))
    c["runs"].select(inputs=[page], **bind(runs.open_run))
    c["runs_refresh"].click(inputs=[page], **bind(runs.list_runs))
    c["model_btn"].click(inputs=[page], **bind(runs.model_file))
    c["preview_feed"].change(None, [c["preview_feed"], c["preview_marker"]], None, js=frontend.ADD_PREVIEWS_JS)
    c["preview_marker"].change(None, [c["preview_marker"]], None, js=frontend.RESET_PREVIEWS_JS)


def build_train_api(train: TrainPage, page: gr.State) -> None:
    """The public API of the Train tab: summarize_dataset (within a page's session ``page``), list_runs."""
    api_files = gr.File(file_count="multiple", visible=False)
    api_summary = gr.JSON(visible=False)
    summarise = public_errors(train.dataset.api_summarise, train.settings)
    # One summary at a time for the whole server: decoding is the costliest thing a visitor can ask for free.
    gr.Button(visible=False).click(
        summarise, [api_files, page], [api_summary], api_name="summarize_dataset", concurrency_limit=1,
        concurrency_id="summary",
    )
    gr.api(public_errors(train.runs.api_list_runs, train.settings), api_name="list_runs")
