"""Taking sounds out of the Play tab in a real browser: dragging a player into a DAW (Chromium's DownloadURL
drag data) and "Export as instrument", against `python app.py` with the tiny kit model in the workspace."""

from __future__ import annotations

import io
import shutil
import zipfile
from urllib.parse import urlparse

import pytest
import soundfile as sf
from web_helpers import open_app, require_browser, wait_text

require_browser()


@pytest.fixture(scope="module")
def page_with_kit(server, browser, kit_run):
    context, page = open_app(browser, server)
    (workspace,) = list((server.data_root / "workspaces").iterdir())
    shutil.copytree(kit_run, workspace / "runs" / "run-20250101-000000")
    page.reload()
    page.click("#play-tab-button, button[role=tab]:has-text('Play')")
    page.wait_for_selector("#generate-btn", state="visible")
    wait_text(page, "#model-info", "ax")
    yield page, workspace
    context.close()


def _drag_data(page, selector: str) -> dict:
    """What a dragstart on ``selector`` puts in the drag's data, as a drop target outside the page reads it."""
    transfer = page.evaluate_handle("() => new DataTransfer()")
    page.dispatch_event(selector, "dragstart", {"dataTransfer": transfer})
    return transfer.evaluate("t => ({download: t.getData('DownloadURL'), uri: t.getData('text/uri-list')})")


def _wait_src(page, selector: str, old: str = "") -> str:
    page.wait_for_function(
        "([sel, old]) => { const a = document.querySelector(sel + ' audio');"
        " return !!a && !!a.getAttribute('src') && a.src !== old; }", arg=[selector, old], timeout=60_000)
    return page.eval_on_selector(selector + " audio", "a => a.src")


def _check_download_url(page, data: dict, workspace, server) -> bytes:
    kind, name, url = data["download"].split(":", 2)
    assert kind == "audio/wav" and name.endswith(".wav") and "/" not in name
    assert url.startswith(server.url + "/") and data["uri"] == url and urlparse(url).path.endswith(name)
    response = page.request.get(url)
    assert response.ok
    body = response.body()
    kept = [p.read_bytes() for p in workspace.rglob(name)]  # the files the server keeps under that name
    assert body in kept
    return body


def test_the_player_and_the_chosen_history_sound_drag_out_as_their_files(page_with_kit, server):
    page, workspace = page_with_kit
    assert _drag_data(page, "#gen-audio")["download"] == ""  # nothing to drag before a sound is made
    page.click("#generate-btn")
    first = _wait_src(page, "#gen-audio")
    assert page.eval_on_selector("#gen-audio", "e => e.draggable")
    body = _check_download_url(page, _drag_data(page, "#gen-audio"), workspace, server)
    assert sf.info(io.BytesIO(body)).duration == pytest.approx(2.0, abs=0.01)

    page.fill("#seed input", "9")
    page.click("#generate-btn")
    _wait_src(page, "#gen-audio", first)
    page.locator('#history [data-testid="cell-1-1"]').click()  # the older sound, second row
    _wait_src(page, "#history-audio")
    data = _drag_data(page, "#history-audio")
    assert _check_download_url(page, data, workspace, server) == body  # the first sound made
    # The row clicked drags out as the same file; a row not chosen drags nothing (its sound is not served yet).
    row = _drag_data(page, '#history [data-testid="cell-1-2"]')
    assert row["download"] == data["download"]
    assert _drag_data(page, '#history [data-testid="cell-0-2"]')["download"] == ""


def test_export_as_instrument_gives_a_kit_of_the_picked_history_sounds(page_with_kit, server):
    page, _ = page_with_kit
    page.locator("#instrument-sources input").click()
    options = page.locator("ul[role=listbox] li")
    options.first.wait_for(timeout=30_000)
    assert options.count() >= 2
    options.nth(0).click()
    page.locator("#instrument-sources input").click()
    page.locator("ul[role=listbox] li").nth(1).click()
    page.keyboard.press("Escape")
    for elem_id, value in (("instrument-layers", 2), ("instrument-robins", 1)):
        box = page.locator(f"#{elem_id} input[type=number]")
        box.fill(str(value))
        box.press("Enter")
    page.click("#instrument-btn")
    note = wait_text(page, "#instrument-note", "samples in", timeout=180)
    assert "4 samples" in note and "notes 36-37" in note
    link = page.eval_on_selector("#instrument-file a[href]", "a => a.href")
    archive = zipfile.ZipFile(io.BytesIO(page.request.get(link).body()))
    names = archive.namelist()
    assert any(n.endswith(".sfz") for n in names) and any(n.endswith(".sf2") for n in names)
    readme = archive.read("readme.txt").decode()
    assert "(note 36): pad 1" in readme and "(note 37): pad 2" in readme
    assert "seed 0" in readme and "seed 9" in readme  # the two sounds picked
