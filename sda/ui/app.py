"""The page: a Train tab laid out here, a Play tab (play_layout.py), every event wired where it is seen.

Handlers live in train_dataset.py, train_runs.py and train_live.py (put together
in train_page.py) and return {component name: value}; ``bind``
turns that into Gradio's output tuple, with ``gr.skip()`` for every name a
handler left out (so an idle refresh sends nothing).
"""

from __future__ import annotations

import functools

import gradio as gr

from sda.audio.io import AUDIO_EXTENSIONS
from sda.ui import frontend
from sda.ui.train.config_form import ADVANCED_FIELDS, PRESET_CHOICES
from sda.ui.train.state import PageState
from sda.ui.play.layout import PLAY_CSS, PLAY_LOAD_OUT, build_play_api, build_play_tab
from sda.ui.play.layout import bind as play_bind
from sda.ui.play.models import MODEL_OUT
from sda.ui.play.page import PlayPage
from sda.ui.public_text import public_value
from sda.ui.train.run_status import RUN_COLUMNS
from sda.ui.serving import blocked_paths
from sda.server.settings import AppSettings
from sda.ui.train.live import BUTTONS, PLOTS
from sda.ui.train.page import TrainPage
from sda.server.secret import browser_secret

ADVANCED = [f"adv_{f.key}" for f in ADVANCED_FIELDS]
DATASET_OUT = ["dataset_upload", "dataset_note", "dataset_summary", "dataset_picture", "dataset_issues", "preset_reason", *ADVANCED, *BUTTONS]
REFRESH_OUT = [
    "status", "progress", "warnings", *PLOTS, "preview_feed", "preview_marker", *BUTTONS,
    "resume_info", "timer", "runs", "model_file", "model_note", "settings_msg",
]
LOAD_OUT = ["browser_ws", "page", *dict.fromkeys(DATASET_OUT + REFRESH_OUT)]

# Fixed colours: a plot that starts empty learns its series from these.
LOSS_COLORS = {"train": "#f97316", "validation": "#2563eb"}
PART_COLORS = {
    "reconstruction (train)": "#f97316", "reconstruction (validation)": "#2563eb",
    "KL (train)": "#16a34a", "KL (validation)": "#9333ea",
}

INTRO = """# sda · train a sound model on your own sounds
Drop in 5 to 500 of your sound files, press **Start**, and listen to the model learn.
Training runs on this server: you can close the page and come back to it."""


def build_demo(settings: AppSettings | None = None, train: TrainPage | None = None, play: PlayPage | None = None) -> gr.Blocks:
    """The whole web app as a gr.Blocks, a Train tab and a Play tab (launch it with ``launch_options``)."""
    settings = settings or AppSettings.from_env()
    train = train or TrainPage(settings)
    play = play or PlayPage(settings)
    data, runs, live = train.dataset, train.runs, train.live
    c: dict[str, gr.components.Component] = {}
    roots = (settings.data_root,)  # no message may show where the server keeps its data

    def bind(handler, names, *, tick: bool = False):
        """Gradio's view of ``handler``: output tuple in ``names`` order, one call per page at a time."""

        @functools.wraps(handler)
        def run(*args, **kwargs):
            page = next((a for a in args if isinstance(a, PageState)), None)
            if page is None:
                result = handler(*args, **kwargs)
            elif page.lock.acquire(blocking=not tick):  # a tick never waits behind a long action
                try:
                    result = handler(*args, **kwargs)
                finally:
                    page.lock.release()
            else:
                result = {}
            values = tuple(_shown(c[name], result[name], roots) if name in result else gr.skip() for name in names)
            return values[0] if len(values) == 1 else values

        # Progress shows on the dataset summary only (decoding can take a while); refreshes stay quiet.
        progress = dict(show_progress_on=[c["dataset_summary"]]) if "dataset_summary" in names else dict(show_progress="hidden")
        return dict(fn=run, outputs=[c[name] for name in names], api_name=f"ui_{handler.__name__}", api_visibility="private", **progress)

    with gr.Blocks(title="sda · train a sound model on your sounds", delete_cache=(6 * 3600, 2 * 86400), analytics_enabled=False) as demo:
        c["browser_ws"] = gr.BrowserState("", storage_key="sda-workspace", secret=browser_secret(settings))
        c["page"] = gr.State(None)
        c["timer"] = gr.Timer(1.0, active=False)
        gr.Markdown(INTRO)

        with gr.Tabs(elem_id="tabs") as c["tabs"]:
            with gr.Tab("Train", id="train", elem_id="train-tab"):
                with gr.Row(equal_height=False):
                    with gr.Column():
                        gr.Markdown("### 1 · Your sounds")
                        c["dataset_upload"] = gr.File(
                            label="Drop sound files, a folder or a .zip here (or click to pick files)",
                            file_count="multiple", file_types=sorted(AUDIO_EXTENSIONS | {".zip"}),
                            elem_id="dataset-upload", height=150,
                        )
                        with gr.Row():
                            c["folder_upload"] = gr.UploadButton("Pick a folder…", file_count="directory", size="sm", elem_id="folder-upload")
                            c["demo_btn"] = gr.Button("Use the demo sounds", size="sm", elem_id="demo-data-btn")
                            c["clear_btn"] = gr.Button("Clear", size="sm", variant="secondary", elem_id="clear-data-btn")
                        c["dataset_note"] = gr.Markdown(elem_id="dataset-note")
                        c["dataset_summary"] = gr.Markdown(elem_id="dataset-summary")
                        c["dataset_picture"] = gr.Image(show_label=False, interactive=False, type="filepath", visible=False, elem_id="dataset-picture", height=220)
                        c["dataset_issues"] = gr.Dataframe(
                            headers=["File", "Why it cannot be used"], interactive=False, visible=False,
                            label="Files that cannot be used", elem_id="dataset-issues", max_height=240,
                        )
                    with gr.Column():
                        gr.Markdown("### 2 · Settings")
                        c["preset"] = gr.Radio(PRESET_CHOICES, value="Auto", label="How hard to fight overfitting", elem_id="preset")
                        c["preset_reason"] = gr.Markdown(elem_id="preset-reason")
                        with gr.Accordion("Advanced (blank = the preset's value)", open=False, elem_id="advanced"):
                            with gr.Row():
                                for field in ADVANCED_FIELDS:
                                    # Text, not gr.Number: an untouched number box sends 0, and blank must mean "preset".
                                    c[f"adv_{field.key}"] = gr.Textbox(
                                        label=field.label, info=field.info, min_width=150, max_lines=1, elem_id=f"adv-{field.key}"
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
                        label="Loss per epoch (lower is better): orange = train, blue = validation", elem_id="loss-plot", height=300,
                    )
                    c["step_plot"] = gr.LinePlot(x="step", y="train loss", label="Training loss per step", elem_id="step-plot", height=300)
                with gr.Row():
                    c["parts_plot"] = gr.LinePlot(
                        x="epoch", y="loss", color="series", color_map=PART_COLORS, color_title="",
                        label="Loss parts: reconstruction (orange train, blue validation), KL (green train, purple validation)", elem_id="parts-plot", height=300,
                    )
                    c["kl_plot"] = gr.LinePlot(x="epoch", y="KL divergence", label="KL divergence (near 0 = collapse)", elem_id="kl-plot", height=300)
                    c["lr_plot"] = gr.LinePlot(x="epoch", y="learning rate", label="Learning rate", elem_id="lr-plot", height=300)

                with gr.Row(equal_height=False):
                    with gr.Column(scale=2):
                        gr.Markdown("### 5 · Previews")
                        c["previews"] = gr.HTML(frontend.PREVIEWS_HTML, js_on_load=None, elem_id="previews")
                    with gr.Column(scale=1):
                        gr.Markdown("### 6 · Keep the result")
                        c["model_btn"] = gr.Button("Get the best model", elem_id="download-model-btn")
                        c["model_note"] = gr.Markdown(elem_id="model-note")
                        c["model_file"] = gr.File(label="Model checkpoint (.pt)", interactive=False, visible=False, elem_id="model-file")
                    c["play_model_btn"] = gr.Button("Play with this model", variant="primary", elem_id="play-model-btn")
                    c["play_model_note"] = gr.Markdown(elem_id="play-model-note")

                gr.Markdown("### Your runs")
                c["runs"] = gr.Dataframe(headers=RUN_COLUMNS, interactive=False, label="Click a run to open it", elem_id="runs", max_height=300)
                c["runs_refresh"] = gr.Button("Refresh the list", size="sm", elem_id="runs-refresh-btn")

                # Carriers for the browser-side preview list (see frontend.py).
                c["preview_feed"] = gr.File(file_count="multiple", visible="hidden", elem_id="preview-feed")
                c["preview_marker"] = gr.Textbox(visible="hidden", elem_id="preview-marker")

            with gr.Tab("Play", id="play", elem_id="play-tab") as c["play_tab"]:
                build_play_tab(c, play)

        # ---------------------------------------------------------- events
        page, preset, advanced = c["page"], c["preset"], [c[name] for name in ADVANCED]
        demo.load(inputs=[c["browser_ws"]], **bind(train.load, LOAD_OUT)).then(
            inputs=[page], **play_bind(c, play.load, PLAY_LOAD_OUT)
        )
        c["dataset_upload"].upload(inputs=[c["dataset_upload"], page, preset], **bind(data.add_files, DATASET_OUT))
        c["folder_upload"].upload(inputs=[c["folder_upload"], page, preset], **bind(data.add_files, DATASET_OUT))
        c["demo_btn"].click(inputs=[page, preset], **bind(data.use_demo, DATASET_OUT))
        c["clear_btn"].click(inputs=[page, preset], **bind(data.clear_dataset, DATASET_OUT))
        preset.change(inputs=[preset, page], **bind(data.preset_changed, ["preset_reason", *ADVANCED]))
        c["start_btn"].click(inputs=[page, preset, *advanced], **bind(runs.start, REFRESH_OUT))
        c["cancel_btn"].click(inputs=[page], **bind(runs.cancel, REFRESH_OUT))
        c["resume_btn"].click(inputs=[page, *advanced], **bind(runs.resume, REFRESH_OUT))
        c["save_btn"].click(inputs=[page], **bind(runs.save_checkpoint, REFRESH_OUT))
        c["timer"].tick(inputs=[page], concurrency_limit=None, **bind(live.tick, REFRESH_OUT, tick=True))
        c["runs"].select(inputs=[page], **bind(runs.open_run, REFRESH_OUT))
        c["runs_refresh"].click(inputs=[page], **bind(runs.list_runs, ["runs"]))
        c["model_btn"].click(inputs=[page], **bind(runs.model_file, ["model_file", "model_note"]))
        c["play_tab"].select(inputs=[c["play"]], **play_bind(c, play.refresh, PLAY_LOAD_OUT[1:]))  # runs trained meanwhile
        c["play_model_btn"].click(inputs=[page, c["play"]], **bind(play.play_run, ["tabs", "play_model_note", *MODEL_OUT]))
        c["preview_feed"].change(None, [c["preview_feed"], c["preview_marker"]], None, js=frontend.ADD_PREVIEWS_JS)
        c["preview_marker"].change(None, [c["preview_marker"]], None, js=frontend.RESET_PREVIEWS_JS)

        # --------------------------------------------------- public API
        api_files = gr.File(file_count="multiple", visible=False)
        api_summary = gr.JSON(visible=False)
        gr.Button(visible=False).click(data.api_summarise, [api_files], [api_summary], api_name="summarize_dataset")
        gr.api(runs.api_list_runs, api_name="list_runs")
        build_play_api(play)

    demo.queue(default_concurrency_limit=8)
    return demo


# Components whose values are text a user reads: no server path or workspace id may reach them.
_TEXT_COMPONENTS = (gr.Markdown, gr.Textbox, gr.Dataframe, gr.HTML, gr.JSON)


def _shown(component, value, roots):
    """A handler's value as the browser may see it (see public_text.py)."""
    return public_value(value, roots) if isinstance(component, _TEXT_COMPONENTS) else value


def launch_options(settings: AppSettings) -> dict:
    """Arguments for ``demo.launch``: page assets, upload limits, what Gradio may serve.

    Host and port come from GRADIO_SERVER_*. Files reach the browser only
    through ``serving.servable``; the data root is blocked so that nothing
    else of it can.
    """
    return dict(
        blocked_paths=blocked_paths(settings),
        css=frontend.CSS + PLAY_CSS,
        head=frontend.HEAD,
        max_file_size=settings.max_file_bytes,
        ssr_mode=False,
        show_error=False,
    )
