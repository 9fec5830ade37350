"""Cleanup that respects use: open tabs and API scripts keep their workspace; busy ones and page loads are spared.

Issue 13, "Smaller faults": cleanup counted only page loads and uploads as
use (a tab kept open on Play, or a script using the API daily, lost
everything after 7 days), could delete a workspace during a generation, and
ran inside some visitor's page load.
"""

from __future__ import annotations

import os
import threading
import time

import gradio as gr
import pytest

from sda.server import usage
from sda.server.cleanup import CleanupSchedule, cleanup_workspaces
from sda.server.credentials import new_api_key
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.binding import Binder, fills
from sda.ui.play.page import PlayPage
from sda.ui.play.state import PlayState
from sda.ui.train.page import TrainPage
from sda.ui.train.state import PageState

LONG_AGO = time.time() - 30 * 86400  # far past the 7-day TTL


@pytest.fixture
def settings(tmp_path):
    usage.forget_marks()  # each test starts with no mark remembered
    return AppSettings(data_root=tmp_path / "data")


def _old_workspace(settings) -> Workspace:
    workspace = Workspace(settings, new_workspace_id()).ensure()
    _age(workspace)
    return workspace


def _age(workspace: Workspace) -> None:
    os.utime(workspace.dir / ".last_seen", (LONG_AGO, LONG_AGO))


def _bound(settings, handler, **options):
    """The function Gradio would call for ``handler`` (through the app's Binder)."""
    binder = Binder({"note": gr.Markdown()}, settings, api_prefix="test")
    return binder(handler, **options)["fn"]


@fills("note")
def _refresh(state) -> dict:
    return {"note": "refreshed"}


@pytest.mark.parametrize("state_kind", [PageState, PlayState])
def test_a_tab_kept_open_keeps_its_workspace_past_the_ttl(settings, state_kind):
    open_tab, closed_tab = _old_workspace(settings), _old_workspace(settings)
    assert _bound(settings, _refresh)(state_kind(workspace_id=open_tab.id)) == "refreshed"
    assert cleanup_workspaces(settings, is_busy=lambda _id: False) == [closed_tab.id]
    assert open_tab.dir.is_dir() and not closed_tab.dir.exists()


def test_marks_are_written_at_most_once_a_minute(settings):
    workspace = _old_workspace(settings)
    usage.mark_used(settings, workspace.id)
    _age(workspace)
    usage.mark_used(settings, workspace.id)  # a second later: the file is not touched again
    assert (workspace.dir / ".last_seen").stat().st_mtime == pytest.approx(LONG_AGO, abs=1)


def test_a_mark_for_an_unknown_id_creates_nothing(settings):
    usage.mark_used(settings, new_workspace_id())
    assert not settings.workspaces_root.exists() or list(settings.workspaces_root.iterdir()) == []


def test_an_api_script_listing_runs_or_models_keeps_its_workspace(settings):
    by_runs, by_models, unused = (_old_workspace(settings) for _ in range(3))
    assert TrainPage(settings).runs.api_list_runs(new_api_key(by_runs)) == []
    assert PlayPage(settings).models.api_list(new_api_key(by_models)) == []
    assert cleanup_workspaces(settings, is_busy=lambda _id: False) == [unused.id]


def test_a_workspace_with_a_generation_running_on_the_page_is_not_cleaned(settings):
    train, gate = TrainPage(settings), PlayPage(settings).gate
    workspace = _old_workspace(settings)
    seen_during = []

    @fills("note")
    def generate(play) -> dict:
        with gate.job(play.workspace_id):  # as every Play handler that runs the model
            _age(workspace)  # as if the page had been idle for weeks until this very sound
            seen_during.append(train.cleanup.run_once())
        return {"note": "made"}

    _bound(settings, generate, generation=True)(PlayState(workspace_id=workspace.id))
    assert seen_during == [[]] and workspace.dir.is_dir(), "deleted while its sound was being made"
    _age(workspace)
    assert train.cleanup.run_once() == [workspace.id], "once the sound is made, an old workspace goes"


def test_a_workspace_with_an_api_generation_running_is_not_cleaned(settings, monkeypatch):
    train, play = TrainPage(settings), PlayPage(settings)
    workspace = _old_workspace(settings)
    monkeypatch.setattr(play, "_api_state", lambda ws, model: PlayState(workspace_id=ws, model_key=model))
    with play._api_play(new_api_key(workspace), "run-x"):
        _age(workspace)
        assert train.cleanup.run_once() == [] and workspace.dir.is_dir()
    assert train.cleanup.run_once() == [workspace.id]


def test_cleanup_does_not_run_inside_a_page_load(settings):
    train = TrainPage(settings)
    old = _old_workspace(settings)
    train.load(None)  # a visitor opens the page
    assert old.dir.is_dir(), "a page load deleted another workspace"
    assert train.cleanup.run_once() == [old.id]


def test_the_cleanup_schedule_runs_in_a_background_thread(settings):
    old = _old_workspace(settings)
    ran_in = []
    schedule = CleanupSchedule(settings, lambda _id: ran_in.append(threading.current_thread().name) or False,
                               first_s=0.05, every_s=0.05)
    schedule.start()
    try:
        deadline = time.monotonic() + 10
        while old.dir.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        schedule.stop()
    assert not old.dir.exists() and schedule.removed[:1] == [old.id]
    assert set(ran_in) == {"sda-workspace-cleanup"}


def test_cleanup_waits_for_the_workspace_lock_and_checks_again(settings):
    train = TrainPage(settings)
    workspace = _old_workspace(settings)
    removed = []
    with train.manager.workspace_lock(workspace.id):  # a start or a Clear is under way
        sweep = threading.Thread(target=lambda: removed.extend(train.cleanup.run_once()))
        sweep.start()
        sweep.join(timeout=0.5)
        assert sweep.is_alive(), "cleanup went ahead without the workspace's lock"
        workspace.touch()  # the start used the workspace
    sweep.join(timeout=10)
    assert removed == [] and workspace.dir.is_dir()
