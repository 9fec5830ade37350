"""Public-server mode: when it is on, which limits it brings, and how the Train tab explains them.

Findings covered (see tests/README.md): "Epochs and training minutes are uncapped by
default" (public defaults, one run per workspace), "The event queue has no
size limit" (its cap, printed at start) and "Oversized epochs are lowered,
and the page says so" (the Start and preset messages).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from audio_files import write_sound_folder
from web_helpers import FakeRunner

from sda.server.dataset_summary import DatasetCheck
from sda.server.limits_report import limit_rows, limits_report
from sda.server.sessions import TrainingJob, TrainingManager, WorkspaceBusy
from sda.server.settings import AppSettings, SettingsError
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.app import build_demo
from sda.ui.train.page import TrainPage
from sda.ui.train.state import PageState

REPO = Path(__file__).resolve().parents[1]
_MODE_VARIABLES = ("SDA_PUBLIC", "SPACE_ID", "GRADIO_SERVER_NAME")


def _settings(monkeypatch, tmp_path, **env: str) -> AppSettings:
    for name in _MODE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in __import__("os").environ if n.startswith("SDA_")]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SDA_DATA_ROOT", str(tmp_path / "data"))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return AppSettings.from_env()


@pytest.mark.parametrize(("env", "public"), [
    ({}, False),
    ({"GRADIO_SERVER_NAME": "127.0.0.1"}, False),
    ({"GRADIO_SERVER_NAME": "localhost"}, False),
    ({"GRADIO_SERVER_NAME": "::1"}, False),
    ({"GRADIO_SERVER_NAME": "0.0.0.0"}, True),
    ({"GRADIO_SERVER_NAME": "192.168.1.20"}, True),
    ({"SPACE_ID": "someone/sda"}, True),
    ({"SDA_PUBLIC": "1"}, True),
    ({"SDA_PUBLIC": "0", "SPACE_ID": "someone/sda", "GRADIO_SERVER_NAME": "0.0.0.0"}, False),
])
def test_public_mode_is_on_for_a_space_a_non_local_address_or_sda_public(monkeypatch, tmp_path, env, public):
    assert _settings(monkeypatch, tmp_path, **env).public is public


def test_public_mode_caps_what_one_visitor_may_ask_and_a_local_run_stays_generous(monkeypatch, tmp_path):
    local = _settings(monkeypatch, tmp_path)
    assert local.max_epochs is None and local.max_training_minutes is None and local.max_event_queue is None
    assert local.max_generations_per_workspace is None and local.max_pack_seconds >= 64 * 60

    shared = _settings(monkeypatch, tmp_path, SPACE_ID="someone/sda")
    assert shared.max_epochs == 300 and shared.max_training_minutes == 30
    assert shared.max_event_queue and shared.max_generations_per_workspace == 1
    assert shared.max_pack_seconds < 64 * 60 and shared.max_variation_seconds < local.max_variation_seconds
    assert shared.max_morph_steps < local.max_morph_steps and shared.max_play_input_seconds < 600

    chosen = _settings(monkeypatch, tmp_path, SDA_PUBLIC="1", SDA_MAX_EPOCHS="50", SDA_MAX_PACK_SECONDS="10")
    assert chosen.max_epochs == 50 and chosen.max_pack_seconds == 10, "each public default is a variable"


@pytest.mark.parametrize(("name", "value"), [("SDA_PUBLIC", "maybe"), ("SDA_MAX_EVENT_QUEUE", "0"),
                                             ("SDA_MAX_PACK_SECONDS", "-5"), ("SDA_MAX_MORPH_STEPS", "1"),
                                             ("SDA_MAX_GENERATIONS_PER_WORKSPACE", "lots")])
def test_a_nonsense_fairness_setting_stops_the_app_naming_its_variable(monkeypatch, tmp_path, name, value):
    with pytest.raises(SettingsError, match=name):
        _settings(monkeypatch, tmp_path, **{name: value})


def test_every_limit_is_printed_at_start_and_listed_in_readme(monkeypatch, tmp_path):
    shared = _settings(monkeypatch, tmp_path, SDA_PUBLIC="1")
    report = limits_report(shared)
    assert "public mode" in report
    assert re.search(r"SDA_MAX_EPOCHS\s+300\b", report) and re.search(r"SDA_MAX_PACK_SECONDS\s+120 s", report)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### On a shared server or a Hugging Face Space", 1)[1].split("\n## ", 1)[0]
    for variable, _, _ in limit_rows(shared):
        for name in re.findall(r"SDA_\w+", variable):
            assert f"`{name}`" in section, f"{name} is not in README's table"
    assert "print(limits_report(settings)" in (REPO / "app.py").read_text(encoding="utf-8")


def test_the_event_queue_has_the_size_public_mode_gives_it(monkeypatch, tmp_path):
    shared = _settings(monkeypatch, tmp_path, SDA_PUBLIC="1", SDA_MAX_EVENT_QUEUE="7")
    assert build_demo(shared)._queue.max_size == 7
    assert build_demo(_settings(monkeypatch, tmp_path))._queue.max_size is None, "a local run queues everything"


def _sliders(demo) -> dict:
    return {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None) in
            ("morph-steps", "morph-seconds", "pack-count", "vary-count")}


def test_play_sliders_end_where_a_public_servers_limits_do_and_say_them(monkeypatch, tmp_path):
    shared = _sliders(build_demo(_settings(monkeypatch, tmp_path, SDA_PUBLIC="1")))
    assert shared["morph-steps"].maximum == 8 and shared["morph-seconds"].maximum == 20
    assert "at most 120 s of sound per pack" in shared["pack-count"].info
    assert "at most 120 s of variations" in shared["vary-count"].info
    local = _sliders(build_demo(_settings(monkeypatch, tmp_path)))
    assert local["morph-steps"].maximum == 16 and local["morph-seconds"].maximum == 60
    assert local["pack-count"].info is None, "a local run shows no server limit"


def _manager(runners: list) -> TrainingManager:
    def factory():
        runners.append(FakeRunner())
        return runners[-1]

    return TrainingManager(max_concurrent=1, runner_factory=factory, device_resolver=lambda: "cpu", max_queue=20)


def test_a_workspace_has_one_run_queued_or_training_and_others_still_queue(tmp_path):
    manager = _manager([])
    alice, bob = new_workspace_id(), new_workspace_id()
    assert manager.submit(TrainingJob(tmp_path / "a1", alice, None, [])) == 0
    with pytest.raises(WorkspaceBusy, match="one run per visitor"):
        manager.submit(TrainingJob(tmp_path / "a2", alice, None, []))
    assert manager.submit(TrainingJob(tmp_path / "b1", bob, None, [])) == 1, "another workspace waits its turn"
    with pytest.raises(WorkspaceBusy):
        manager.submit(TrainingJob(tmp_path / "b2", bob, None, []))  # queued counts too
    assert manager.phase(tmp_path / "a2") == "idle" and manager.phase(tmp_path / "b2") == "idle"


def test_oversized_epochs_are_lowered_and_the_page_says_so(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data", max_epochs=4)
    train = TrainPage(settings, _manager([]))
    hint = train.dataset.preset_changed("Balanced", None)
    assert "at most 4 epochs per run" in hint["preset_reason"] and "lowered to 4" in hint["preset_reason"]

    workspace = Workspace(settings, new_workspace_id()).ensure()
    workspace.add_uploads(write_sound_folder(tmp_path / "src", count=3))
    page = PageState(workspace_id=workspace.id, dataset=DatasetCheck(file_count=3))
    out = train.runs.start(page, "Balanced", *[""] * 9)
    assert "lowered to 4" in out["settings_msg"] and "SDA_MAX_EPOCHS" in out["settings_msg"]
    assert train.manager.phase(page.view.run_dir) == "running"

    typed = train.runs.start(PageState(workspace_id=new_workspace_id(), dataset=DatasetCheck(file_count=3)),
                             "Balanced", "9", *[""] * 8)
    assert "at most 4 epochs" in typed["settings_msg"], "a typed-in number over the cap is refused, not lowered"

    roomy = TrainPage(AppSettings(data_root=tmp_path / "roomy"), _manager([]))
    assert "lowered" not in roomy.dataset.preset_changed("Balanced", None)["preset_reason"]
