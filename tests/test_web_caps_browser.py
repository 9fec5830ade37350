"""A public server's caps, as its users meet them on the real page: epochs, minutes, a full queue."""

from __future__ import annotations

import pytest
from web_helpers import (
    open_app,
    require_browser,
    set_advanced,
    text,
    upload_sounds,
    wait_enabled,
    wait_text,
)

require_browser()

# The module's `server` (conftest.py) runs with these caps.
pytestmark = pytest.mark.app_env({"SDA_MAX_EPOCHS": "5000", "SDA_MAX_TRAINING_MINUTES": "0.25", "SDA_MAX_QUEUE": "0"})


def test_caps_are_explained_and_a_run_out_of_minutes_stops_with_its_model(server, browser, sounds):
    alice, alice_page = open_app(browser, server)
    bob, bob_page = open_app(browser, server)
    for page in (alice_page, bob_page):
        upload_sounds(page, sounds[:4])
        wait_text(page, "#dataset-summary", "4 files")

    set_advanced(alice_page, epochs=10000)
    alice_page.click("#start-btn")
    wait_text(alice_page, "#settings-msg", "this server trains at most 5000 epochs per run")
    set_advanced(alice_page, epochs=5000)
    alice_page.click("#start-btn")
    wait_text(alice_page, "#status", "run-", timeout=60)

    # The only slot is taken and the server keeps no queue: Bob is told, nothing is made.
    bob_page.click("#start-btn")
    assert "busy" in wait_text(bob_page, "#settings-msg", "Try again")
    assert "run-" not in text(bob_page, "#runs")

    status = wait_text(alice_page, "#status", "Time limit", timeout=120)
    assert "0.25 min" in status and "checkpoint is kept" in status
    assert "cannot be resumed here" in wait_text(alice_page, "#resume-info", "cannot be resumed")
    wait_enabled(alice_page, "#resume-btn", False)
    wait_enabled(alice_page, "#start-btn")
    assert "time limit" in text(alice_page, "#runs")
    alice_page.click("#download-model-btn")
    wait_text(alice_page, "#model-note", "Best model so far")
    alice.close()
    bob.close()
