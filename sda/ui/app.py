"""The app shell: the page with its Train tab (train/layout.py) and Play tab (play/layout.py).

Each tab lays itself out and wires its own events; the shell holds what
belongs to the whole page (its server-side state, the browser's copy of
the workspace id, the refresh timer), the events that reach from one tab
into the other, and the options ``demo.launch`` needs. Handlers return
{component name: value}; ``Binder`` (binding.py) turns them into events.
"""

from __future__ import annotations

import gradio as gr

from sda.server.credentials import server_key
from sda.server.secret import browser_secret
from sda.server.settings import AppSettings
from sda.ui import frontend
from sda.ui.binding import Binder, Components
from sda.ui.play.layout import PLAY_CSS, build_play_api, build_play_tab
from sda.ui.play.page import PlayPage
from sda.ui.serving import blocked_paths, cache_schedule
from sda.ui.train.layout import build_train_api, build_train_tab
from sda.ui.train.page import TrainPage

INTRO = """# sda · train a sound model on your own sounds
Drop in 5 to 500 of your sound files, press **Start**, and listen to the model learn.
Training runs on this server: you can close the page and come back to it."""


def build_demo(settings: AppSettings | None = None, train: TrainPage | None = None,
               play: PlayPage | None = None) -> gr.Blocks:
    """The whole web app as a gr.Blocks, a Train tab and a Play tab (launch it with ``launch_options``)."""
    settings = settings or AppSettings.from_env()
    server_key(settings)  # the token signing key: made (or found damaged) at start, not at a visitor's load
    train = train or TrainPage(settings)
    play = play or PlayPage(settings)
    c: Components = {}

    with gr.Blocks(
        title="sda · train a sound model on your sounds", delete_cache=cache_schedule(settings), analytics_enabled=False
    ) as demo:
        # The browser keeps the server-signed workspace token here; BrowserState's own secret is public (see secret.py).
        c["browser_ws"] = gr.BrowserState("", storage_key="sda-workspace", secret=browser_secret(settings))
        c["page"] = gr.State(None)
        c["timer"] = gr.Timer(1.0, active=False)
        gr.Markdown(INTRO)

        with gr.Tabs(elem_id="tabs") as c["tabs"]:
            with gr.Tab("Train", id="train", elem_id="train-tab"):
                build_train_tab(c, train)
            with gr.Tab("Play", id="play", elem_id="play-tab") as c["play_tab"]:
                build_play_tab(c, play)

        # ------------------------------------------- events across the tabs
        train_bind = Binder(c, settings, api_prefix="ui")
        play_bind = Binder(c, settings, api_prefix="play")
        # The page opens: the Train tab finds its workspace (decoding its dataset, with progress), then Play.
        demo.load(inputs=[c["browser_ws"]], **train_bind(train.load, progress_on="dataset_summary")).then(
            inputs=[c["page"]], **play_bind(play.load)
        )
        c["play_tab"].select(inputs=[c["play"]], **play_bind(play.refresh))  # runs trained meanwhile
        c["play_model_btn"].click(inputs=[c["page"], c["play"]], **train_bind(play.play_run))

        # --------------------------------------------------- public API
        build_train_api(train, c["page"])
        build_play_api(play)

    # A full queue refuses new events at once (SDA_MAX_EVENT_QUEUE; no cap on a local run).
    demo.queue(default_concurrency_limit=8, max_size=settings.max_event_queue)
    train.start_cleanup()  # old workspaces go in a thread of their own, never in a page load
    return demo


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
