"""The Keys panel in the real page: pads, the computer keyboard, MIDI, MIDI learn, Explore, recording, reload.

The app runs as README starts it, with the shared tiny kit model put into the
browser's workspace (as test_web_play does). Headless Chromium needs
--autoplay-policy=no-user-gesture-required for its AudioContext. MIDI comes from
a stand-in for navigator.requestMIDIAccess installed before the page loads: one
input device whose messages the test sends; the page's own MIDI code is unchanged.
"""

from __future__ import annotations

import io
import shutil
import struct
import time
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from helpers import REPO_ROOT
from web_helpers import CHROMIUM, CHROMIUM_ARGS, open_app, readme_app, require_browser, text, wait_text

api = require_browser()

MIDI_STAND_IN = """
(() => {
  const listeners = [];
  const input = { id: "test-in", name: "Test Keys 49", manufacturer: "sda tests", type: "input",
                  state: "connected", connection: "open", onmidimessage: null };
  const access = { inputs: new Map([[input.id, input]]), outputs: new Map(), sysexEnabled: false, onstatechange: null };
  window.__midi = {
    send(bytes) {
      const event = { data: new Uint8Array(bytes), timeStamp: performance.now(), target: input };
      if (input.onmidimessage) input.onmidimessage(event);
      return event.timeStamp;
    },
  };
  navigator.requestMIDIAccess = () => Promise.resolve(access);
})();
"""


@pytest.fixture(scope="module")
def browser():
    with api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
            headless=True,
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def keys(browser, kit_run, tmp_path_factory):
    with readme_app(tmp_path_factory.mktemp("keys") / "server.log") as (server, before):
        context, page = open_app(browser, server)
        context.add_init_script(MIDI_STAND_IN)
        (workspace,) = set((REPO_ROOT / "workspaces").iterdir()) - before[0]
        shutil.copytree(kit_run, workspace / "runs" / "run-20250101-000000")
        page.reload()
        open_play(page)
        yield SimpleNamespace(page=page, server=server)
        context.close()


def open_play(page) -> None:
    page.click("#play-tab-button, button[role=tab]:has-text('Play')")
    page.wait_for_selector("#keys-pad-15", state="visible")
    wait_text(page, "#model-info", "ax")


def data(page, name: str) -> str:
    return page.eval_on_selector("#keys", f"e => e.dataset.{name} || ''")


def notes(page) -> int:
    return int(data(page, "notes") or 0)


def send(page, *message: int) -> float:
    return page.evaluate("(m) => window.__midi.send(m)", list(message))


def choose_mode(page, mode: str) -> None:
    page.click(f"#keys-mode label:has-text('{mode}')")
    page.wait_for_function("(m) => document.querySelector('#keys').dataset.mode === m", arg=mode, timeout=30_000)


@pytest.mark.steps
class TestPlayingLive:
    def test_filled_pads_play_from_the_computer_keyboard_within_5_ms(self, keys):
        page = keys.page
        assert "Test Keys 49" in wait_text(page, "#midi-status", "Test Keys 49")
        box = page.locator("#keys-seconds input[type=number]")
        box.fill("0.3")
        box.press("Enter")
        page.click("#keys-fill-btn")
        page.wait_for_function("document.querySelector('#keys').dataset.pads === '16'", timeout=120_000)
        names = page.eval_on_selector_all("#keys-pads .keys-name", "e => e.map((n) => n.textContent)")
        assert len(set(names)) == 16 and "empty" not in names
        assert "1" in text(page, "#keys-pad-0") and "Q" in text(page, "#keys-pad-8")
        before = notes(page)
        page.keyboard.press("1")  # not armed: nothing plays
        assert notes(page) == before
        page.click("#keys-arm")
        page.wait_for_timeout(1000)  # the sounds just fetched are decoded and drawn
        for key in "12345678qwertyui" * 2:
            page.keyboard.press(key)
        assert notes(page) == before + 32
        median = float(data(page, "latencyMedianMs"))
        print(f"\nkeyboard: event to start() median {median:.3f} ms, last {data(page, 'latencyMs')} ms;",
              text(page, "#keys-latency"))
        assert median < 5.0
        assert "audio output" in text(page, "#keys-latency")

    def test_typing_in_a_text_box_plays_nothing(self, keys):
        page = keys.page
        before = notes(page)
        page.click("#preset-name input")
        page.keyboard.type("12345678 qwertyui zsxdc")
        assert notes(page) == before

    def test_a_midi_note_plays_its_pad_at_the_velocity_sent(self, keys):
        page = keys.page
        before = notes(page)
        page.click("#keys-pad-15")  # out of the text box
        before = notes(page)
        send(page, 0x99, 38, 37)  # note on, channel 10, pad 3 at velocity 37
        send(page, 0x89, 38, 0)
        assert notes(page) == before + 1
        assert data(page, "lastVelocity") == "37"
        assert abs(float(data(page, "lastGain")) - 37 / 127) < 1e-3
        assert float(data(page, "latencyMs")) < 5.0

    def test_midi_learn_maps_a_knob_to_a_slider(self, keys):
        page = keys.page
        page.click("#midi-learn-btn")
        page.locator("#axis-0 input[type=range]").click()
        send(page, 0xB0, 21, 127)
        wait_text(page, "#midi-map", "CC 21")
        high = float(page.get_attribute("#axis-0 input[type=range]", "max"))
        low = float(page.get_attribute("#axis-0 input[type=range]", "min"))
        page.wait_for_function("(v) => Math.abs(Number(document.querySelector('#axis-0 input[type=number]').value)"
                               " - v) < 1e-6", arg=high, timeout=10_000)
        send(page, 0xB0, 21, 0)
        page.wait_for_function("(v) => Math.abs(Number(document.querySelector('#axis-0 input[type=number]').value)"
                               " - v) < 1e-6", arg=low, timeout=10_000)
        loads = int(data(page, "loads"))
        send(page, 0xB0, 21, 64)  # back near the centre: once the knob rests, the pads are made again there
        wait_text(page, "#keys-note", "made again", timeout=60)
        page.wait_for_function("(n) => Number(document.querySelector('#keys').dataset.loads) > n", arg=loads)

    def test_velocity_layers_play_soft_and_hard_sounds(self, keys):
        page = keys.page
        page.check("#keys-layers input")
        page.click("#keys-fill-btn")
        wait_text(page, "#keys-note", "16 pad(s) ready", timeout=120)
        page.wait_for_function("document.querySelector('#keys').dataset.pads === '16'", timeout=60_000)
        page.wait_for_timeout(500)
        names = page.eval_on_selector_all("#keys-pads .keys-name", "e => e.map((n) => n.textContent)")
        assert "empty" not in names, "every pad and its three layers arrived"
        for velocity, layer in ((20, "0"), (64, "1"), (120, "2")):
            send(page, 0x90, 40, velocity)
            assert data(page, "lastLayer") == layer
        page.uncheck("#keys-layers input")

    def test_a_recording_renders_the_notes_where_they_were_played(self, keys):
        page = keys.page
        page.wait_for_timeout(1500)
        page.click("#keys-record-btn")
        start = float(data(page, "recordStart"))
        sent = []
        for k in range(8):
            velocity = 40 + 10 * k
            sent.append((send(page, 0x90, 36 + k, velocity) - start, 36 + k, velocity))
            page.wait_for_timeout(150)
            send(page, 0x80, 36 + k, 0)
            page.wait_for_timeout(300)
        page.click("#keys-record-btn")
        page.wait_for_selector("#keys-midi-file a[href]", timeout=60_000)
        page.wait_for_function("!!(document.querySelector('#keys-recording audio') || {}).src", timeout=30_000)
        wav_url = page.eval_on_selector("#keys-recording audio", "a => a.src")
        audio, rate = sf.read(io.BytesIO(page.request.get(wav_url).body()), dtype="float32")
        onsets = onset_times(audio, rate)
        assert len(onsets) == 8, onsets
        for (at_ms, _, _), onset in zip(sent, onsets):
            assert abs(onset * 1000 - at_ms) <= 10.0, (onset * 1000, at_ms)
        midi_url = page.eval_on_selector("#keys-midi-file a[href]", "a => a.href")
        read = read_midi_notes(page.request.get(midi_url).body())
        assert [(n, v) for _, n, v in read] == [(n, v) for _, n, v in sent]
        for (at, _, _), (ms, _, _) in zip(sent, read):
            assert abs(at - ms) <= 2.0
        assert "performance" in text(page, "#history")

    def test_a_dropped_file_and_a_dragged_history_row_replace_pads(self, keys, tmp_path):
        page = keys.page
        tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(12000) / 48000)).astype(np.float32)
        buffer = io.BytesIO()
        sf.write(buffer, tone, 48000, format="WAV")
        page.evaluate(
            """(bytes) => { const data = new DataTransfer();
                data.items.add(new File([new Uint8Array(bytes)], 'my snare.wav', { type: 'audio/wav' }));
                const pad = document.querySelector('#keys-pad-4');
                pad.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })); }""",
            list(buffer.getvalue()),
        )
        wait_text(page, "#keys-pad-4", "my snare", timeout=60)
        page.hover('#history [data-testid="cell-0-1"]')
        page.evaluate(
            """() => { const data = new DataTransfer();
                const cell = document.querySelector('#history [data-testid="cell-0-1"]');
                cell.dispatchEvent(new DragEvent('dragstart', { dataTransfer: data, bubbles: true }));
                document.querySelector('#keys-pad-5').dispatchEvent(
                    new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })); }"""
        )
        wait_text(page, "#keys-pad-5", "performance", timeout=60)
        assert "Pad 6: performance" in text(page, "#keys-note")

    def test_pads_mode_and_mappings_come_back_after_a_reload(self, keys):
        page = keys.page
        names = page.eval_on_selector_all("#keys-pads .keys-name", "e => e.map((n) => n.textContent)")
        page.reload()
        open_play(page)
        page.wait_for_function("document.querySelector('#keys').dataset.pads === '16'", timeout=60_000)
        assert page.eval_on_selector_all("#keys-pads .keys-name", "e => e.map((n) => n.textContent)") == names
        assert "CC 21" in text(page, "#midi-map")
        assert page.is_checked("#keys-mode input[value=Kit]")

    def test_a_choke_group_cuts_and_gate_mode_stops_on_release(self, keys):
        page = keys.page
        voices = lambda: int(data(page, "voices") or 0)  # noqa: E731
        page.wait_for_timeout(500)  # the notes before have ended
        send(page, 0x90, 36, 100)
        send(page, 0x90, 37, 100)
        assert voices() == 2, "without a choke group two pads ring together"
        page.fill("#keys-chokes", "1 2")
        page.press("#keys-chokes", "Tab")
        page.wait_for_timeout(500)
        send(page, 0x90, 36, 100)
        send(page, 0x90, 37, 100)
        assert voices() == 1, "pad 2 cut pad 1"
        page.select_option("#keys-gate", "gate")
        page.wait_for_timeout(500)
        send(page, 0x90, 38, 100)
        send(page, 0x80, 38, 0)
        assert voices() == 0, "gate mode: the note stops when its key goes up"
        page.select_option("#keys-gate", "oneshot")
        page.fill("#keys-chokes", "")
        page.press("#keys-chokes", "Tab")

    def test_pitched_mode_plays_one_sound_across_the_keys(self, keys):
        page = keys.page
        choose_mode(page, "Pitched")
        page.check("#keys-octaves input")
        page.click("#keys-fill-btn")
        wait_text(page, "#keys-note", "pad(s) ready", timeout=120)
        page.wait_for_function("document.querySelector('#keys').dataset.pads === '1'", timeout=60_000)
        assert "C4" in text(page, "#keys-pad-0") and "D#5" in text(page, "#keys-pad-15")
        send(page, 0x90, 62, 100)  # a tone above the root C4: the sound itself, faster
        assert abs(float(data(page, "lastRate")) - 2 ** (2 / 12)) < 1e-3
        send(page, 0x90, 72, 100)  # an octave up: the model's own octave render, at its own rate
        assert abs(float(data(page, "lastRate")) - 1.0) < 1e-3
        send(page, 0x90, 67, 100)  # a fifth up is nearer the octave render: it plays a fourth lower
        assert abs(float(data(page, "lastRate")) - 2 ** (-5 / 12)) < 1e-3
        page.uncheck("#keys-octaves input")
        choose_mode(page, "Kit")

    def test_explore_never_repeats_a_sound_in_40_notes(self, keys):
        page = keys.page
        choose_mode(page, "Explore")
        page.wait_for_function("Number(document.querySelector('#keys').dataset.exploreQueued || 0) >= 8",
                               timeout=120_000)
        heard, started = [], time.time()
        for _ in range(40):
            before = notes(page)
            send(page, 0x90, 60, 100)
            send(page, 0x80, 60, 0)
            if notes(page) == before:  # the pool ran dry for a moment: wait for the next sounds, then go on
                page.wait_for_function("Number(document.querySelector('#keys').dataset.exploreQueued || 0) > 0",
                                       timeout=60_000)
                send(page, 0x90, 60, 100)
                send(page, 0x80, 60, 0)
            heard.append(data(page, "lastSound"))
            page.wait_for_timeout(100)
        took = time.time() - started
        assert len(heard) == 40 and len(set(heard)) == 40
        print(f"\nexplore: 40 notes in {took:.1f} s ({40 / took:.1f} notes/s);", text(page, "#keys-note"))
        page.reload()
        open_play(page)
        page.wait_for_function("document.querySelector('#keys').dataset.mode === 'Explore'", timeout=60_000)


def onset_times(audio: np.ndarray, rate: int, gap: float = 0.08) -> list[float]:
    """Times (s) where sound starts after at least ``gap`` seconds of silence."""
    loud = np.flatnonzero(np.abs(audio) > 1e-6)
    if not len(loud):
        return []
    starts = [loud[0]] + [b for a, b in zip(loud[:-1], loud[1:]) if b - a > gap * rate]
    return [s / rate for s in starts]


def read_midi_notes(blob: bytes) -> list[tuple[float, int, int]]:
    """(ms, note, velocity) of every note on in a format 0 standard MIDI file, read by hand."""
    assert blob[:4] == b"MThd"
    division = struct.unpack(">H", blob[12:14])[0]
    assert blob[14:18] == b"MTrk"
    track, pos, tick, tempo, out, status = blob[22:], 0, 0, 500000, [], 0
    while pos < len(track):
        delta = 0
        while True:
            byte = track[pos]
            pos += 1
            delta = (delta << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        tick += delta
        if track[pos] == 0xFF:
            kind, size = track[pos + 1], track[pos + 2]
            if kind == 0x51:
                tempo = int.from_bytes(track[pos + 3: pos + 6], "big")
            pos += 3 + size
            continue
        status = track[pos]
        note, velocity = track[pos + 1], track[pos + 2]
        pos += 3
        if status & 0xF0 == 0x90 and velocity:
            out.append((tick * tempo / division / 1000, note, velocity))
    return out


def test_where_midi_is_missing_the_panel_says_why(keys, browser):
    """Not supported, or no permission: one line each (pads and keys play on)."""
    cases = [
        ("delete Navigator.prototype.requestMIDIAccess;", "not supported"),
        ("navigator.requestMIDIAccess = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));",
         "no permission"),
    ]
    for script, expected in cases:
        context = browser.new_context(viewport={"width": 1400, "height": 2000})
        context.add_init_script(script)
        page = context.new_page()
        page.goto(keys.server.url)
        # A new browser gets a workspace of its own: no model yet, but the panel and its MIDI line are there.
        page.click("#play-tab-button, button[role=tab]:has-text('Play')")
        page.wait_for_selector("#keys-pad-0", state="visible", timeout=60_000)
        wait_text(page, "#midi-status", expected)
        context.close()
