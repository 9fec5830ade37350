"""The Play tab end to end: the real page in headless Chromium against `python app.py`.

A tiny model is trained through the Train tab (SDA_TEST_TINY=1), then one
musician plays with it, step by step on one page (TestPlayingATrainedModel):
sliders, generate, variations, morph, resynthesis, export, sample pack,
history, A/B, presets, model management; a second browser sees none of it.
Then the app as README starts it (no SDA_* variables, data under the
repository) plays the tiny kit model put into the browser's workspace, and
its history survives a server restart.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from helpers import REPO_ROOT
from web_helpers import (
    open_app,
    readme_app,
    require_browser,
    set_advanced,
    text,
    upload_sounds,
    wait_text,
)

require_browser()

# ---------------------------------------------------------------- helpers
def audio_url(page, selector: str, timeout: float = 60.0, not_url: str | None = None) -> str:
    """The src of the <audio> inside ``selector`` once it is set (and differs from ``not_url``)."""
    page.wait_for_function(
        "([sel, old]) => { const a = document.querySelector(sel + ' audio'); return !!a && !!a.src && a.src !== old; }",
        arg=[selector, not_url or ""], timeout=timeout * 1000,
    )
    return page.eval_on_selector(selector + " audio", "a => a.src")


def fetch(page, url: str) -> bytes:
    response = page.request.get(url)
    assert response.ok, url
    return response.body()


def file_links(page, selector: str, timeout: float = 60.0) -> list[str]:
    page.wait_for_selector(f"{selector} a[href]", timeout=timeout * 1000)
    return page.eval_on_selector_all(f"{selector} a[href]", "links => [...new Set(links.map(a => a.href))]")


def set_slider(page, elem_id: str, value: float) -> None:
    """Type a value in a slider's number box, as a user does."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def slider_value(page, elem_id: str) -> float:
    return float(page.input_value(f"#{elem_id} input[type=range]"))


_ROWS_JS = "document.querySelectorAll('#history [data-testid^=\"cell-\"][data-testid$=\"-0\"]').length"


def history_rows(page) -> int:
    return page.evaluate(_ROWS_JS)


def wait_history(page, rows: int, timeout: float = 60.0) -> None:
    page.wait_for_function(f"{_ROWS_JS} >= {rows}", timeout=timeout * 1000)


def click_history(page, row: int) -> None:
    page.locator(f'#history [data-testid="cell-{row}-1"]').click()


def drop_file(page, elem_id: str, path: Path) -> None:
    """Put ``path`` in a file box (emptying it first, as a user does with its clear button)."""
    clear = page.locator(f"#{elem_id} button[aria-label=Clear]")
    if clear.count():
        clear.first.click()
    page.set_input_files(f"#{elem_id} input[type=file]", str(path))
    page.wait_for_function(
        f"!!document.querySelector('#{elem_id} a[href], #{elem_id} .file-name, #{elem_id} td')", timeout=30_000
    )


def open_play(page) -> None:
    page.click("#play-tab-button, button[role=tab]:has-text('Play')")
    page.wait_for_selector("#generate-btn", state="visible")


def train_tiny_model(page, sounds) -> None:
    upload_sounds(page, sounds)
    wait_text(page, "#dataset-summary", "6 files")
    set_advanced(page, epochs=3)
    page.click("#start-btn")
    wait_text(page, "#status", "finished 3 epochs", timeout=180)


# ------------------------------------------------------------------ tests
@pytest.fixture(scope="class")
def played(server, browser, sounds):
    """One musician's page, a tiny model trained through the Train tab; the steps below share it (and notes)."""
    context, page = open_app(browser, server)
    train_tiny_model(page, sounds)
    yield SimpleNamespace(page=page, sounds=sounds, notes={})
    context.close()


@pytest.mark.steps
class TestPlayingATrainedModel:
    """Everything a musician does on the Play tab, in order, on one page (a later step builds on the earlier)."""

    def test_the_trained_model_opens_with_one_labelled_slider_per_axis(self, played):
        page = played.page
        page.click("#play-model-btn")
        page.wait_for_selector("#generate-btn", state="visible", timeout=60_000)
        wait_text(page, "#model-info", "ax")
        assert page.input_value("#model-select input") != ""
        # One slider per axis, labelled as the engine labels it, safe range given.
        sliders = page.locator("#axes input[type=range]")
        assert sliders.count() >= 1
        label = text(page, "#axes")
        assert "%" in label and "safe range" in label
        # Named by what each moves, each end in words ("◀ soft · loud ▶"), no name twice.
        ends = re.findall(r"◀ ([^·]+) · ([^▶]+) ▶", label)
        assert len(ends) == sliders.count() and all(low.strip() != high.strip() for low, high in ends), label
        titles = re.findall(r"([a-z0-9+ ]+) \(\d+ %\)", label)
        assert len(titles) == sliders.count() and len(set(titles)) == len(titles), label

    def test_generate_gives_a_player_that_plays_a_wav_of_the_asked_length_and_a_picture(self, played):
        page = played.page
        page.fill("#seed input", "11")
        set_slider(page, "duration", 1.5)
        page.click("#generate-btn")
        first_url = audio_url(page, "#gen-audio")
        audio, rate = sf.read(io.BytesIO(fetch(page, first_url)))
        assert abs(len(audio) / rate - 1.5) < 0.01
        page.wait_for_selector("#gen-picture img", timeout=30_000)
        played_for = page.evaluate(
            """async () => { const a = document.querySelector('#gen-audio audio'); a.muted = true; await a.play();
                await new Promise((ok) => setTimeout(ok, 700)); const t = a.currentTime; a.pause(); return t; }"""
        )
        assert played_for > 0.1, "the player plays"
        played.notes.update(first_url=first_url, first_audio=audio)

    def test_moving_a_slider_changes_the_sound(self, played):
        page = played.page
        set_slider(page, "axis-0", round(slider_value(page, "axis-0") + 0.8 * _safe_width(page), 3))
        page.click("#generate-btn")
        second_url = audio_url(page, "#gen-audio", not_url=played.notes["first_url"])
        second, _ = sf.read(io.BytesIO(fetch(page, second_url)))
        first = played.notes["first_audio"]
        assert second.shape == first.shape and not np.allclose(second, first, atol=1e-4), "the slider changed the sound"

    def test_randomize_moves_the_sliders_reset_centres_them_and_the_dice_changes_the_seed(self, played):
        page = played.page
        page.click("#randomize-btn")
        page.wait_for_function("document.querySelector('#axis-0 input[type=range]').value !== '0'", timeout=15_000)
        page.click("#reset-btn")
        page.wait_for_function("Number(document.querySelector('#axis-0 input[type=range]').value) === 0",
                               timeout=15_000)
        page.click("#dice-btn")
        page.wait_for_function("document.querySelector('#seed input').value !== '11'", timeout=15_000)

    def test_variations_a_morph_and_a_resynthesis_each_land_in_the_history(self, played):
        page, sounds = played.page, played.sounds
        drop_file(page, "vary-input", sounds[0])
        set_slider(page, "vary-count", 2)
        page.click("#vary-btn")
        wait_history(page, 4)
        drop_file(page, "morph-a", sounds[1])
        drop_file(page, "morph-b", sounds[2])
        set_slider(page, "morph-steps", 3)
        page.click("#morph-btn")
        wait_history(page, 7)
        drop_file(page, "resynth-input", sounds[3])
        page.click("#resynth-btn")
        wait_history(page, 8)
        assert "through the model" in text(page, "#history")

    def test_a_dropped_file_that_is_not_audio_is_refused_with_its_name(self, played, tmp_path):
        page = played.page
        bogus = tmp_path / "notes.wav"
        bogus.write_bytes(b"RIFF not really")
        drop_file(page, "resynth-input", bogus)
        page.click("#resynth-btn")
        wait_text(page, "#play-note", "notes.wav")

    def test_export_writes_the_asked_format_rate_and_depth_with_a_sidecar(self, played):
        page = played.page
        click_history(page, 7)  # the first generated sound
        wait_text(page, "#history-note", "Selected")
        _choose(page, "export-format", "FLAC")
        _choose(page, "export-rate", "96 kHz")
        _choose(page, "export-depth", "16-bit")
        page.click("#export-btn")
        wait_text(page, "#export-note", "FLAC")
        links = file_links(page, "#export-file")
        exported = next(u for u in links if ".flac" in u)
        info = sf.info(io.BytesIO(fetch(page, exported)))
        assert (info.format, info.samplerate, info.subtype) == ("FLAC", 96000, "PCM_16")
        sidecar = json.loads(fetch(page, next(u for u in links if ".json" in u)))
        assert sidecar, "the sidecar has the settings"

    def test_a_sample_pack_holds_the_asked_number_of_sounds(self, played):
        page = played.page
        set_slider(page, "pack-count", 3)
        page.click("#pack-btn")
        (pack_url,) = file_links(page, "#pack-file", timeout=120)
        with zipfile.ZipFile(io.BytesIO(fetch(page, pack_url))) as pack:
            sounds_in_pack = [n for n in pack.namelist() if n.endswith(".flac")]
        assert len(sounds_in_pack) == 3

    def test_ab_puts_two_history_sounds_in_two_players_and_switches_between_them(self, played):
        page = played.page
        click_history(page, 0)
        wait_text(page, "#history-note", "Selected")
        page.click("#ab-a-btn")
        click_history(page, 1)
        page.click("#ab-b-btn")
        assert audio_url(page, "#ab-a") != audio_url(page, "#ab-b")
        page.evaluate("document.querySelectorAll('#ab-a audio, #ab-b audio').forEach((a) => { a.muted = true; })")
        page.click("#ab-switch-btn")
        wait_text(page, "#ab-playing", "Playing A")
        page.click("#ab-switch-btn")
        wait_text(page, "#ab-playing", "Playing B")
        assert page.evaluate(
            "document.querySelector('#ab-a audio').paused && !document.querySelector('#ab-b audio').paused")
        page.evaluate("document.querySelector('#ab-b audio').pause()")

    def test_a_saved_preset_and_the_history_are_still_there_after_a_reload(self, played):
        page = played.page
        step = float(page.get_attribute("#axis-0 input[type=range]", "step"))
        kept = round(7 * step, 6)  # a position on the slider's grid
        set_slider(page, "axis-0", kept)
        page.fill("#preset-name input", "warm hit")
        page.click("#preset-save-btn")
        wait_text(page, "#preset-note", "Saved preset")
        rows = history_rows(page)
        page.reload()
        open_play(page)
        wait_history(page, rows)
        page.click("#preset-select input")
        page.get_by_role("option", name="warm hit").click()
        page.wait_for_function(
            "([v, step]) => Math.abs(Number(document.querySelector('#axis-0 input[type=range]').value) - v) < step / 2",
            arg=[kept, step], timeout=15_000,
        )

    def test_a_model_is_renamed_exported_and_imported_and_a_file_that_is_not_one_refused(self, played, tmp_path):
        page = played.page
        page.click("#model-manage")
        page.fill("#model-name input", "My tones")
        page.click("#model-save-btn")
        wait_text(page, "#models-note", "Saved")
        fake = tmp_path / "fake.sdamodel"
        fake.write_bytes(b"not a model")
        page.set_input_files("#model-import input[type=file]", str(fake))
        wait_text(page, "#models-note", "was not imported")
        page.click("#model-export-btn")
        (model_url,) = file_links(page, "#model-export-file", timeout=120)
        model_file = tmp_path / "My tones.sdamodel"
        model_file.write_bytes(fetch(page, model_url))
        page.set_input_files("#model-import input[type=file]", str(model_file))
        wait_text(page, "#models-note", "Imported", timeout=120)

    def test_someone_else_on_the_same_server_sees_none_of_it(self, played, server, browser):
        other, other_page = open_app(browser, server)
        open_play(other_page)
        assert "No model yet" in wait_text(other_page, "#model-info", "No model yet")
        history = text(other_page, "#history")
        assert history_rows(other_page) == 0 or "When" in history and "generate" not in history
        other.close()


def _safe_width(page) -> float:
    """The first axis's safe width, read from its label."""
    import re

    numbers = re.findall(r"safe range ([+-]\d+\.\d+) to ([+-]\d+\.\d+)", text(page, "#axes"))
    low, high = map(float, numbers[0])
    return high - low


def _choose(page, elem_id: str, option: str) -> None:
    page.click(f"#{elem_id} input")
    page.get_by_role("option", name=option, exact=True).click()


def test_play_as_readme_runs_the_app_and_history_survives_a_restart(browser, kit_run, tmp_path):
    with readme_app(tmp_path / "server.log") as (server, before):
        context, page = open_app(browser, server)
        (workspace,) = set((REPO_ROOT / "workspaces").iterdir()) - before[0]  # this browser's, as the server made it
        shutil.copytree(kit_run, workspace / "runs" / "run-20250101-000000")

        page.reload()
        open_play(page)
        wait_text(page, "#model-info", "ax")
        page.click("#generate-btn")
        url = audio_url(page, "#gen-audio")
        audio, rate = sf.read(io.BytesIO(fetch(page, url)))
        assert rate == 48000 and abs(len(audio) / rate - 2.0) < 0.01
        page.wait_for_selector("#gen-picture img", timeout=30_000)
        _choose(page, "export-format", "WAV")
        _choose(page, "export-rate", "44.1 kHz")
        _choose(page, "export-depth", "32-bit float")
        page.click("#export-btn")
        wait_text(page, "#export-note", "WAV")
        exported = next(u for u in file_links(page, "#export-file") if ".wav" in u)
        info = sf.info(io.BytesIO(fetch(page, exported)))
        assert (info.format, info.samplerate, info.subtype) == ("WAV", 44100, "FLOAT")

        server.stop()
        server.start()
        page.reload()
        open_play(page)
        wait_history(page, 1)
        assert "generate" in text(page, "#history")
        context.close()
