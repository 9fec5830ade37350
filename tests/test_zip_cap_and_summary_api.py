"""Cheap refusals: a zip of very many entries, and the dataset summary API (a session, one at a time, a cap).

Issue 13, "Small inputs, large memory": a zip with a huge entry count cost
about 1.1 GB just to list (scripts/bench_zip_bomb.py prints the figures),
and /summarize_dataset decoded up to 120 minutes of audio per call, for
anyone, 8 calls at once.
"""

from __future__ import annotations

import threading
import time
import zipfile

import gradio as gr
import pytest
from audio_files import write_sound_folder, write_tone

from sda.bench.zip_bomb import write_many_entry_zip
from sda.server import ingest
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.train import dataset as dataset_module
from sda.ui.train.page import TrainPage
from sda.ui.train.state import PageState


@pytest.fixture
def settings(tmp_path):
    return AppSettings(data_root=tmp_path / "data", max_files=5)  # zips may hold 5 x 4 = 20 entries


@pytest.fixture
def never_listed(monkeypatch):
    """Fail the test if the upload lists the zip with the zipfile module (the costly step)."""

    def refuse(*args, **kwargs):
        raise AssertionError("the zip was opened with zipfile.ZipFile before its entry count was checked")

    monkeypatch.setattr(ingest.zipfile, "ZipFile", refuse)


def test_a_zip_claiming_more_entries_than_the_limit_is_refused_unlisted_naming_the_zip_and_limit(
    settings, tmp_path, never_listed
):
    bomb = write_many_entry_zip(tmp_path / "many.zip", 5000)
    workspace = Workspace(settings, new_workspace_id()).ensure()
    report = workspace.add_uploads([bomb])
    assert report.added == [] and workspace.dataset_files() == []
    [(name, reason)] = report.rejected
    assert name == "many.zip"
    assert "more than 20 entries" in reason and "SDA_MAX_FILES = 5" in reason and "split it" in reason


def test_a_zip_declaring_fewer_entries_than_it_holds_is_refused_as_well(settings, tmp_path, never_listed):
    liar = write_many_entry_zip(tmp_path / "liar.zip", 5000, declared=3)
    report = ingest.ingest_uploads([liar], Workspace(settings, new_workspace_id()).ensure().dataset_dir(), settings)
    assert [name for name, _ in report.rejected] == ["liar.zip"]
    assert "more than 20 entries" in report.rejected[0][1]


def test_a_zip_within_the_entry_limit_is_still_unpacked(settings, tmp_path):
    sounds = write_sound_folder(tmp_path / "s", count=3)
    with zipfile.ZipFile(tmp_path / "ok.zip", "w") as archive:
        for path in sounds:
            archive.write(path, f"folder/{path.name}")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    report = workspace.add_uploads([tmp_path / "ok.zip"])
    assert sorted(report.added) == sorted(p.name for p in sounds) and report.rejected == []


# ------------------------------------------------------------------ summary API
def _page(settings) -> PageState:
    return PageState(workspace_id=Workspace(settings, new_workspace_id()).ensure().id)


def test_the_summary_api_is_refused_without_a_page_session(settings, tmp_path):
    handlers = TrainPage(settings).dataset
    files = [str(p) for p in write_sound_folder(tmp_path / "s", count=2)]
    with pytest.raises(gr.Error, match="needs a session of the page"):
        handlers.api_summarise(files, None)
    assert handlers.api_summarise(files, _page(settings))["file_count"] == 2


def test_the_summary_names_unusable_files_without_server_paths(settings, tmp_path):
    files = write_sound_folder(tmp_path / "s", count=2)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVE")
    summary = TrainPage(settings).dataset.api_summarise([str(p) for p in (*files, broken)], _page(settings))
    assert summary["file_count"] == 2
    assert summary["formats"] == {"WAV": 2} and summary["sample_rates"] == {"44100": 2}
    assert summary["issues"][0]["file"] == "broken.wav", "only the file name, never a server path"
    assert "not a readable audio file" in summary["issues"][0]["reason"]


def test_summary_api_calls_run_one_at_a_time(settings, tmp_path, monkeypatch):
    handlers = TrainPage(settings).dataset
    real_decode = dataset_module.decode_dataset
    running, most = [0], [0]
    guard = threading.Lock()

    def slow_decode(*args, **kwargs):
        with guard:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.3)  # long enough for the other calls to arrive meanwhile
        try:
            return real_decode(*args, **kwargs)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(dataset_module, "decode_dataset", slow_decode)
    files = [str(p) for p in write_sound_folder(tmp_path / "s", count=1)]
    results = []
    calls = [threading.Thread(target=lambda: results.append(handlers.api_summarise(files, _page(settings))))
             for _ in range(3)]
    for call in calls:
        call.start()
    for call in calls:
        call.join(timeout=30)
    assert [r["file_count"] for r in results] == [1, 1, 1]
    assert most[0] == 1, "two summaries decoded at the same time"


def test_the_summary_event_has_a_queue_of_one(settings):
    from sda.ui.app import build_demo

    demo = build_demo(settings)
    [event] = [fn for fn in demo.fns.values() if fn.api_name == "summarize_dataset"]
    assert event.concurrency_limit == 1
    assert any(isinstance(block, gr.State) for block in event.inputs), "the page's state is one of its inputs"


def test_the_summary_api_decodes_at_most_SDA_SUMMARY_MAX_MINUTES(tmp_path):
    settings = AppSettings(data_root=tmp_path / "data", summary_max_minutes=1.5 / 60)  # 1.5 s of audio a call
    files = [str(write_tone(tmp_path / f"t{i}.wav", seconds=1.0)) for i in range(2)]
    summary = TrainPage(settings).dataset.api_summarise(files, _page(settings))
    assert summary["file_count"] == 1
    [issue] = summary["issues"]
    assert issue["file"] == "t1.wav" and "limit for all files together" in issue["reason"]


def test_SDA_SUMMARY_MAX_MINUTES_is_read_and_defaults_to_the_dataset_limit(monkeypatch, tmp_path):
    monkeypatch.setenv("SDA_DATA_ROOT", str(tmp_path))
    assert AppSettings.from_env().summary_max_minutes == AppSettings.from_env().max_total_minutes == 120
    monkeypatch.setenv("SDA_SUMMARY_MAX_MINUTES", "5")
    assert AppSettings.from_env().summary_limits().max_total_s == 300
