"""In Chromium, on the app started as README says: nothing a user downloads names the workspace or the server.

A model checkpoint ("Get the best model"), a .sdamodel export, an exported
sound and its sidecar, and a sample pack are fetched as the page offers them
and searched (every zip member unpacked) for the workspace id, the data root
and the "workspaces/" folder. Whoever is later handed one of these files gets
nothing that opens the workspace. The API key shown on the Play page works
for scripts until it is replaced, then is refused.
"""

from __future__ import annotations

import io
import shutil
import zipfile

import pytest
from helpers import REPO_ROOT
from web_helpers import download_model, open_app, readme_app, require_browser, text, wait_text

require_browser()
gradio_client = pytest.importorskip("gradio_client")
RUN = "run-20250101-000000"


def _fetch(page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok, url
    return response.body()


def _links(page, selector: str) -> list[str]:
    page.wait_for_selector(f"{selector} a[href]", timeout=60_000)
    return page.eval_on_selector_all(f"{selector} a[href]", "links => [...new Set(links.map(a => a.href))]")


def _contents(data: bytes) -> list[bytes]:
    """The file, and every member if it is a zip (checkpoints, .sdamodel files and packs are)."""
    if not data.startswith(b"PK"):
        return [data]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [data, *(archive.read(name) for name in archive.namelist())]


def _assert_nothing_of_the_server(data: bytes, what: str, workspace_id: str) -> None:
    for part in _contents(data):
        for secret in (workspace_id, str(REPO_ROOT), "workspaces/"):
            assert secret.encode() not in part, f"{what} holds {secret!r}"


def test_downloads_name_no_workspace_or_path_and_the_api_key_can_be_replaced(browser, kit_run, tmp_path):
    with readme_app(tmp_path / "server.log") as (server, before):
        context, page = open_app(browser, server)
        (workspace,) = set((REPO_ROOT / "workspaces").iterdir()) - before[0]  # this browser's, as the server made it
        shutil.copytree(kit_run, workspace / "runs" / RUN)
        page.reload()
        wait_text(page, "#status", RUN)

        downloads = {"the best model (.pt)": download_model(page)}
        page.click("button[role=tab]:has-text('Play')")
        wait_text(page, "#model-info", "ax")
        page.click("#generate-btn")
        page.wait_for_function("!!(document.querySelector('#gen-audio audio') || {}).src", timeout=60_000)
        page.click("#export-btn")
        for url in _links(page, "#export-file"):
            downloads["an exported sound or its sidecar: " + url.rsplit("/", 1)[-1]] = _fetch(page, url)
        count = page.locator("#pack-count input[type=number]")
        count.fill("2")
        count.press("Enter")
        page.click("#pack-btn")
        downloads["the sample pack"] = _fetch(page, _links(page, "#pack-file")[0])
        page.click("#model-manage")
        page.click("#model-export-btn")
        downloads["the .sdamodel export"] = _fetch(page, _links(page, "#model-export-file")[0])
        assert any(".json" in name for name in downloads), "the sidecar was among the downloads"
        for what, data in downloads.items():
            _assert_nothing_of_the_server(data, what, workspace.name)
        shown = page.evaluate("() => document.body.innerText")
        assert workspace.name not in shown and str(REPO_ROOT) not in shown

        page.click("#api-access")
        page.click("#api-key-btn")
        wait_text(page, "#api-key-note", "Copy it now")
        first = page.input_value("#api-key textarea, #api-key input")
        client = gradio_client.Client(server.url, verbose=False)
        assert [r["Run"] for r in client.predict(first, api_name="/list_runs")] == [RUN]
        page.click("#api-key-btn")
        wait_text(page, "#api-key-note", "previous key no longer works")
        second = page.input_value("#api-key textarea, #api-key input")
        assert second != first
        with pytest.raises(Exception, match="opens no workspace"):
            client.predict(first, api_name="/list_models")
        assert any(m["model"] == RUN for m in client.predict(second, api_name="/list_models"))
        assert "previous key" in text(page, "#api-key-note")
        context.close()
