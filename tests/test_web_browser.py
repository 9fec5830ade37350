"""End to end: the real page in headless Chromium against `python app.py`, with real training.

The server runs the tiny test model (SDA_TEST_TINY=1), so a run of a few
epochs on six short files takes seconds. Each test is one musician's story.
"""

from __future__ import annotations

import base64
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from audio_files import write_sound_folder, write_tone
from web_helpers import (
    DEMO_COUNT,
    AppServer,
    download_model,
    epoch_shown,
    line_points,
    make_zip,
    open_app,
    require_browser,
    set_advanced,
    text,
    upload_sounds,
    wait_enabled,
    wait_line_points,
    wait_text,
)

require_browser()

# A file dropped on the upload area, as the browser delivers it.
DROP_FILE_JS = """(b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "dropped.wav", { type: "audio/wav" }));
    const event = new DragEvent("drop", { bubbles: true, cancelable: true, dataTransfer: transfer });
    document.querySelector("#dataset-upload [aria-dropeffect]").dispatchEvent(event);
}"""

# A folder dropped on the upload area. Scripts cannot make real folder entries,
# so this builds the same shape (webkitGetAsEntry, createReader, readEntries).
DROP_FOLDER_JS = """(b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const file = (name) => ({ isFile: true, isDirectory: false, name,
                              file: (ok) => ok(new File([bytes], name, { type: "audio/wav" })) });
    const folder = (name, children) => {
        let given = false;
        return { isFile: false, isDirectory: true, name,
                 createReader: () => ({ readEntries: (ok) => { ok(given ? [] : children); given = true; } }) };
    };
    const tree = folder("my sounds", [file("a.wav"), file(".hidden.wav"), file("notes.txt"),
                                      folder("sub", [file("b.wav")])]);
    const event = new Event("drop", { bubbles: true, cancelable: true });
    Object.defineProperty(event, "dataTransfer", { value: { items: [{ webkitGetAsEntry: () => tree }], files: [] } });
    document.querySelector("#dataset-upload [aria-dropeffect]").dispatchEvent(event);
}"""


def _run_id(page) -> str:
    match = re.search(r"run-[0-9-]+", text(page, "#status"))
    assert match, text(page, "#status")
    return match.group(0)


def _runs_table(page) -> str:
    return text(page, "#runs")


def test_train_watch_save_cancel_resume_reload_and_download(server, browser, sounds):
    context, page = open_app(browser, server)
    upload_sounds(page, sounds)
    summary = wait_text(page, "#dataset-summary", "6 files")
    assert "WAV" in summary and "44.1 kHz" in summary and "mono" in summary
    page.wait_for_selector("#dataset-picture img", timeout=15_000)  # the waveform picture
    assert "Conservative" in wait_text(page, "#preset-reason", "Auto picked")

    # Far more epochs than the test waits for: training is still running whenever
    # the test presses Save or Cancel, however fast this machine trains.
    set_advanced(page, epochs=100000, preview_interval=10, checkpoint_interval=10)
    wait_enabled(page, "#start-btn")
    page.click("#start-btn")
    wait_text(page, "#status", "is training")
    run_id = _run_id(page)
    wait_enabled(page, "#start-btn", False)
    wait_enabled(page, "#cancel-btn")
    wait_enabled(page, "#resume-btn", False)

    # The loss plot gains points and previews appear, labelled, playable, silent until played.
    wait_line_points(page, "#loss-plot", 2)
    page.wait_for_selector("#previews audio", timeout=60_000)
    first = page.locator("#previews .sda-preview").first
    assert re.match(r"Epoch \d+ · ", first.locator(".sda-preview-label").inner_text())
    assert page.evaluate("[...document.querySelectorAll('#previews audio')].every(a => a.paused && !a.autoplay)")
    assert "training" in _runs_table(page)

    page.click("#save-btn")
    wait_text(page, "#status", "as you asked", timeout=30)

    page.click("#cancel-btn")
    status = wait_text(page, "#status", "was cancelled", timeout=60)
    assert "checkpoint was saved" in status
    wait_enabled(page, "#resume-btn")
    wait_enabled(page, "#cancel-btn", False)
    wait_enabled(page, "#save-btn", False)
    done = epoch_shown(page)
    assert f"from epoch {done}" in wait_text(page, "#resume-info", "Resume continues")
    previews_before = page.locator("#previews audio").count()

    page.click("#resume-btn")
    wait_text(page, "#status", f"Resumed from epoch {done}")
    wait_text(page, "#status", "is training")
    wait_enabled(page, "#cancel-btn")

    # Closing the tab does not stop training; a new tab of the same browser re-attaches.
    page.close()
    page = context.new_page()
    page.goto(server.url)
    wait_text(page, "#status", run_id)
    wait_text(page, "#status", "is training")
    wait_line_points(page, "#loss-plot", done + 1)  # the whole history, and the resumed run's new epochs
    page.wait_for_function(f"document.querySelectorAll('#previews audio').length >= {previews_before}", timeout=30_000)
    wait_enabled(page, "#cancel-btn")
    page.click("#cancel-btn")
    wait_text(page, "#status", "was cancelled", timeout=60)
    final = epoch_shown(page)
    assert final > done and line_points(page, "#loss-plot") == final, "one point per epoch, across the resume"
    labels = page.locator("#previews .sda-preview-label").all_inner_texts()
    newest = max(int(re.match(r"Epoch (\d+)", label).group(1)) for label in labels)
    assert labels[0].startswith(f"Epoch {newest} "), "newest first"
    assert len(labels) == len(set(labels)), "each preview once"

    download_model(page)
    assert "cancelled" in _runs_table(page)
    context.close()


def test_other_users_see_nothing_of_a_run_and_wait_for_the_training_slot(server, browser, sounds):
    alice, alice_page = open_app(browser, server)
    upload_sounds(alice_page, sounds)
    wait_text(alice_page, "#dataset-summary", "6 files")
    set_advanced(
        alice_page, epochs=100000, preview_interval=10, checkpoint_interval=10
    )  # still training when Bob comes
    alice_page.click("#start-btn")
    wait_text(alice_page, "#status", "is training")
    alice_run = _run_id(alice_page)
    wait_line_points(alice_page, "#loss-plot", 1)

    bob, bob_page = open_app(browser, server)
    assert alice_run not in _runs_table(bob_page)
    assert "Add your sounds" in text(bob_page, "#status")
    assert "No usable sounds" in text(bob_page, "#dataset-summary")
    assert bob_page.locator("#previews audio").count() == 0

    # Alice's files are not reachable by path, even for someone who knows where they are.
    run_dir = next((server.data_root / "workspaces").glob(f"*/runs/{alice_run}"))
    for path in (run_dir / "metrics.jsonl", next(run_dir.glob("previews/*.wav"), None)):
        if path is None:
            continue
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{server.url}/gradio_api/file={path}")
        assert refused.value.code == 403

    # The server trains one run at a time: Bob waits, and starts when Alice's run ends.
    upload_sounds(bob_page, sounds[:3])
    wait_text(bob_page, "#dataset-summary", "3 files")
    set_advanced(bob_page, epochs=2)
    bob_page.click("#start-btn")
    wait_text(bob_page, "#status", "waiting for a free training slot")
    bob_run = _run_id(bob_page)
    wait_enabled(bob_page, "#cancel-btn")
    assert "waiting" in _runs_table(bob_page)

    alice_page.click("#cancel-btn")
    wait_text(alice_page, "#status", "was cancelled")
    wait_text(bob_page, "#status", "finished 2 epochs", timeout=90)
    assert bob_run not in _runs_table(alice_page) and alice_run not in _runs_table(bob_page)
    alice.close()
    bob.close()


def test_zip_and_folder_uploads_and_unusable_files_are_explained(server, browser, tmp_path):
    context, page = open_app(browser, server)
    good = write_tone(tmp_path / "src" / "good.wav").read_bytes()
    archive = make_zip(
        tmp_path / "pack.zip",
        {"../../escape.wav": good, "/abs/rooted.wav": good, "drums/kick.wav": good, "readme.txt": b"hi"},
    )
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF0000WAVEnot really audio")
    upload_sounds(page, [archive, broken])
    summary = wait_text(page, "#dataset-summary", "3 files")
    assert "2 files cannot be used" in summary
    issues = text(page, "#dataset-issues")
    assert "readme.txt" in issues and "not an audio file" in issues and "broken.wav" in issues
    outside = [p for p in server.data_root.parent.rglob("*.wav") if "uploads" not in p.parts and "src" not in p.parts]
    assert not [p for p in outside if p.name in ("escape.wav", "rooted.wav")], "a zip entry escaped"
    stored = {p.name for p in server.data_root.rglob("*.wav") if "uploads" in p.parts}
    assert {"escape.wav", "rooted.wav", "kick.wav"} <= stored

    folder = tmp_path / "my folder"
    write_sound_folder(folder / "sub", count=2, suffix=".flac")
    page.set_input_files(
        "input[type=file]:has(+ #folder-upload)", str(folder)
    )  # Gradio puts the input beside the button
    summary = wait_text(page, "#dataset-summary", "5 files")
    assert "FLAC" in summary

    # Dropping files onto the page, and dropping a whole folder (walked by the page's script).
    sound = base64.b64encode(good).decode()
    page.evaluate(DROP_FILE_JS, sound)
    wait_text(page, "#dataset-summary", "6 files")
    page.evaluate(DROP_FOLDER_JS, sound)
    summary = wait_text(page, "#dataset-summary", "8 files")
    assert "hidden" not in text(page, "#dataset-issues")

    page.click("#clear-data-btn")
    wait_text(page, "#dataset-summary", "No usable sounds")
    wait_enabled(page, "#start-btn", False)
    context.close()


@pytest.mark.skipif(not DEMO_COUNT, reason="no demo sounds in assets/demo")
def test_the_demo_button_loads_the_demo_sounds_and_enables_start(server, browser):
    context, page = open_app(browser, server)
    page.click("#demo-data-btn")
    summary = wait_text(page, "#dataset-summary", f"{DEMO_COUNT} files")
    assert "OGG" in summary or "FLAC" in summary
    wait_enabled(page, "#start-btn")
    context.close()


def test_an_invalid_setting_is_explained_next_to_the_settings(server, browser, sounds):
    context, page = open_app(browser, server)
    upload_sounds(page, sounds[:2])
    wait_text(page, "#dataset-summary", "2 files")
    set_advanced(page, learning_rate="-1")
    page.click("#start-btn")
    message = wait_text(page, "#settings-msg", "learning rate")
    assert "-1" in message and "Traceback" not in message
    set_advanced(page, learning_rate="fast")
    page.click("#start-btn")
    wait_text(page, "#settings-msg", "'fast'")
    assert "run-" not in _runs_table(page)
    wait_enabled(page, "#start-btn")
    context.close()


def _write_past_run(runs: Path, name: str, events: list, status: str, error: str | None = None) -> Path:
    """A run directory as the engine leaves it (run.json, metrics.jsonl, previews/)."""
    from sda.runs.folder import update_run_info
    from sda.training.metrics_log import MetricsLog

    run = runs / name
    (run / "previews").mkdir(parents=True)
    write_tone(run / "previews" / "preview_epoch0002_00.wav", seconds=1.0)
    log = MetricsLog(run)
    for event in events:
        log.append(event)
    log.close()
    update_run_info(run, status=status, created_at=time.time(), config={"max_epochs": 10}, epochs_done=2,
                    best_val_loss=0.9, error=error, dataset={"files": []})
    return run


def test_a_past_run_opens_with_its_warnings_previews_and_error(server, browser):
    from sda.training.metrics import EpochMetrics, PreviewEvent, TrainingCompleteEvent, WarningEvent

    workspaces = server.data_root / "workspaces"
    before = set(workspaces.iterdir()) if workspaces.is_dir() else set()
    context, page = open_app(browser, server)
    (mine,) = set(workspaces.iterdir()) - before  # this browser's workspace, as the server made it
    epochs = [
        EpochMetrics(n, 10, 1.0 / n, 1.3 / n, 1.2 / n, 0.1 / n, 0.02, 0.3, 1e-3, 60, 10.0 * n) for n in (1, 2)
    ]
    trace = "Traceback (most recent call last):\n  File \"loop.py\", line 9\nRuntimeError: the device ran out of memory"
    _write_past_run(
        mine / "runs", "run-20250101-000000",
        [*epochs, PreviewEvent(2, str(mine / "runs" / "run-20250101-000000" / "previews" / "preview_epoch0002_00.wav")),
         WarningEvent(2, "overfitting", "Validation loss is 30% above training loss."),
         WarningEvent(2, "posterior_collapse", "KL divergence is 0.02: the model ignores its latent code."),
         TrainingCompleteEvent(0.5, 0.65, 0.65, None, 10, 20.0, error=trace)],
        status="failed", error=trace,
    )
    page.click("#runs-refresh-btn")
    page.locator("#runs [data-testid=cell-0-0]").get_by_text("run-20250101-000000").click()
    status = wait_text(page, "#status", "stopped with an error")
    assert "RuntimeError: the device ran out of memory" in status and "Traceback" not in status
    warnings = wait_text(page, "#warnings", "Overfitting")
    assert "Posterior collapse" in warnings
    wait_line_points(page, "#loss-plot", 2)
    page.wait_for_selector("#previews audio", timeout=15_000)
    assert "Epoch 2 · new sound 1" in text(page, "#previews")
    context.close()


def test_runs_survive_a_server_restart_and_resume(browser, sounds, tmp_path):
    app = AppServer(tmp_path / "data").start()
    try:
        context, page = open_app(browser, app)
        upload_sounds(page, sounds)
        wait_text(page, "#dataset-summary", "6 files")
        set_advanced(page, epochs=100000, preview_interval=10)  # still running when the server stops
        page.click("#start-btn")
        wait_line_points(page, "#loss-plot", 2)
        run_id = _run_id(page)

        app.stop()  # the server goes away mid-run
        app.start()
        page.reload()
        status = wait_text(page, "#status", "was interrupted")
        assert run_id in status and run_id in _runs_table(page)
        page.wait_for_selector("#previews audio", timeout=15_000)
        wait_enabled(page, "#resume-btn")
        page.click("#resume-btn")
        wait_text(page, "#status", "Resumed from epoch")
        before = epoch_shown(page)
        deadline = time.time() + 60
        while epoch_shown(page) <= before and time.time() < deadline:
            time.sleep(0.5)
        assert epoch_shown(page) > before
        page.click("#cancel-btn")
        wait_text(page, "#status", "was cancelled")
        context.close()
    finally:
        app.stop()
