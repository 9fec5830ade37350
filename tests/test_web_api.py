"""The app's API through gradio_client: the summary needs a session, list a workspace's runs."""

from __future__ import annotations

import time

import pytest
from audio_files import write_sound_folder
from web_helpers import free_port

from sda.runs.folder import update_run_info
from sda.server.credentials import new_api_key
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.app import build_demo, launch_options

gradio_client = pytest.importorskip("gradio_client")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = AppSettings(data_root=tmp_path_factory.mktemp("sda-api"))
    demo = build_demo(settings)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_options(settings)
    )
    yield settings, f"http://127.0.0.1:{port}/"
    demo.close()


def test_the_summary_api_is_refused_to_a_caller_without_a_page_session(app, tmp_path):
    _, url = app
    client = gradio_client.Client(url, verbose=False)
    files = write_sound_folder(tmp_path, count=2)
    with pytest.raises(Exception, match="needs a session of the page"):
        client.predict([gradio_client.handle_file(str(p)) for p in files], api_name="/summarize_dataset")


def test_the_api_lists_only_the_runs_of_the_workspace_its_key_opens(app):
    settings, url = app
    owner = Workspace(settings, new_workspace_id()).ensure()
    run = owner.runs / "run-20250101-000000"
    run.mkdir()
    update_run_info(
        run, status="completed", created_at=time.time(), config={"max_epochs": 4}, epochs_done=4, best_val_loss=0.5
    )

    client = gradio_client.Client(url, verbose=False)
    runs = client.predict(new_api_key(owner), api_name="/list_runs")
    assert [(r["Run"], r["Status"], r["Epochs"]) for r in runs] == [("run-20250101-000000", "finished", "4 / 4")]
    for refused in (owner.id, new_workspace_id(), "../" + owner.id):
        with pytest.raises(Exception, match="opens no workspace") as error:
            client.predict(refused, api_name="/list_runs")
        assert owner.id not in str(error.value)


def test_api_lists_only_the_public_endpoints(app):
    _, url = app
    info = gradio_client.Client(url, verbose=False).view_api(return_format="dict", print_info=False)
    assert set(info["named_endpoints"]) == {
        "/summarize_dataset", "/list_runs", "/list_models", "/generate", "/vary", "/morph", "/resynthesise",
    }
