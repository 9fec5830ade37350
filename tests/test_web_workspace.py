"""Workspaces: uploads stay inside, limits hold, sessions cannot reach each other, old ones go."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from audio_files import write_sound_folder, write_tone
from helpers import REPO_ROOT
from web_helpers import make_zip

from sda.runs.folder import update_run_info
from sda.server.cleanup import cleanup_workspaces
from sda.server.credentials import ApiKeyRefused, new_api_key
from sda.server.ingest import safe_file_name
from sda.server.secret import browser_secret
from sda.server.sessions import TrainingManager
from sda.server.settings import AppSettings, SettingsError
from sda.server.workspace import Workspace, is_valid_workspace_id, new_workspace_id
from sda.ui.train.page import TrainPage


@pytest.fixture
def settings(tmp_path) -> AppSettings:
    return AppSettings(data_root=tmp_path / "data")


@pytest.fixture
def workspace(settings) -> Workspace:
    return Workspace(settings, new_workspace_id()).ensure()


def _all_files(root: Path) -> set[Path]:
    return {p.resolve() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kick.wav", "kick.wav"),
        ("../../etc/passwd.wav", "passwd.wav"),
        ("/etc/cron.d/evil.wav", "evil.wav"),
        ("C:\\Users\\x\\..\\evil.wav", "evil.wav"),
        ("folder/sub/snare.flac", "snare.flac"),
        ('a<b>:"c|d?.wav', "a_b___c_d_.wav"),
        ("..", None),
        ("../", None),
        (".DS_Store", None),
        ("._kick.wav", None),
        ("", None),
    ],
)
def test_uploaded_names_become_plain_file_names(name, expected):
    assert safe_file_name(name) == expected


def test_long_names_keep_their_extension():
    name = safe_file_name("x" * 500 + ".flac")
    assert name.endswith(".flac") and len(name) <= 120


def test_hostile_zip_entries_are_written_only_inside_the_dataset(tmp_path, workspace):
    sound = write_tone(tmp_path / "src" / "tone.wav").read_bytes()
    archive = make_zip(
        tmp_path / "hostile.zip",
        {
            "../../escape.wav": sound,
            "/tmp/absolute.wav": sound,
            "sub/../../../deep.wav": sound,
            "C:\\windows\\drive.wav": sound,
            "good/kick.wav": sound,
            "__MACOSX/good/._kick.wav": b"resource fork",
            ".DS_Store": b"junk",
            "notes.txt": b"not audio",
            "inner.zip": b"PK...",
        },
    )
    before = _all_files(tmp_path) - _all_files(workspace.dir)
    report = workspace.add_uploads([archive])
    after = _all_files(tmp_path) - _all_files(workspace.dir)

    assert after == before, "nothing may be written outside the workspace"
    names = sorted(p.name for p in workspace.dataset_files())
    assert names == sorted(["absolute.wav", "deep.wav", "drive.wav", "escape.wav", "kick.wav"])
    assert all(p.parent == workspace.dataset_dir() for p in workspace.dataset_files())
    rejected = dict(report.rejected)
    assert "not an audio file" in rejected["hostile.zip: notes.txt"]
    assert "zip inside a zip" in rejected["hostile.zip: inner.zip"]
    assert not any("DS_Store" in name or "__MACOSX" in name for name in rejected)


def test_uploaded_file_with_traversal_name_stays_inside(tmp_path, workspace):
    # Gradio keeps the client's file name as the last path component of the upload;
    # on Linux a backslash is an ordinary character in it.
    source = write_tone(tmp_path / "upload" / "..\\..\\evil.wav")
    before = _all_files(tmp_path) - _all_files(workspace.dir)
    report = workspace.add_uploads([source])
    assert report.added == ["evil.wav"]
    assert (workspace.dataset_dir() / "evil.wav").is_file()
    assert _all_files(tmp_path) - _all_files(workspace.dir) == before


def test_same_name_twice_is_kept_as_two_files(tmp_path, workspace):
    first = write_tone(tmp_path / "a" / "kick.wav", freq=100)
    second = write_tone(tmp_path / "b" / "kick.wav", freq=200)
    workspace.add_uploads([first, second])
    assert sorted(p.name for p in workspace.dataset_files()) == ["kick (2).wav", "kick.wav"]


def test_a_too_large_file_and_files_past_the_count_are_refused_naming_the_limit(tmp_path, settings):
    tight = AppSettings(data_root=settings.data_root, max_file_mb=0.15, max_files=2, max_upload_mb=0.4)
    workspace = Workspace(tight, new_workspace_id()).ensure()
    small = write_sound_folder(tmp_path / "small", count=3)  # ~110-150 KB each
    big = write_tone(tmp_path / "big.wav", seconds=4.0, sr=44100)  # ~350 KB
    report = workspace.add_uploads([big, *small])
    reasons = dict(report.rejected)
    assert "too large" in reasons["big.wav"] and "0.15 MB" in reasons["big.wav"]
    assert len(report.added) == 2
    assert "already has 2 files" in reasons["tone_02.wav"]


def test_files_past_the_total_upload_size_are_refused_naming_the_limit(tmp_path, settings):
    tight = AppSettings(data_root=settings.data_root, max_upload_mb=0.2)
    workspace = Workspace(tight, new_workspace_id()).ensure()
    files = write_sound_folder(tmp_path / "s", count=3)
    report = workspace.add_uploads(files)
    assert len(report.added) == 1
    assert any("would pass 0.2 MB" in reason for _, reason in report.rejected)


def test_zip_entry_larger_than_declared_is_refused(tmp_path, settings):
    """A zip entry is read with a byte cap, not trusted for its declared size."""
    from sda.server import ingest as ingest_module

    destination = tmp_path / "out.bin"
    with open(write_tone(tmp_path / "x.wav", seconds=2.0), "rb") as source:
        assert ingest_module._copy_capped(source, destination, cap=1000) is None
    assert not destination.exists()


def test_rejected_files_are_remembered_for_the_dataset_table(tmp_path, workspace):
    note = tmp_path / "readme.txt"
    note.write_text("hello")
    workspace.add_uploads([note])
    assert workspace.rejected()[0][0] == "readme.txt"
    workspace.clear_dataset()
    assert workspace.rejected() == []


def test_workspace_ids_are_random_and_checked(settings):
    ids = {new_workspace_id() for _ in range(50)}
    assert len(ids) == 50 and all(is_valid_workspace_id(i) for i in ids)
    for bad in ["", "../x", "A" * 32, "0" * 31, "0" * 33, None, 5, "/" + "0" * 31]:
        assert not is_valid_workspace_id(bad)
        with pytest.raises(ValueError):
            Workspace(settings, bad)


def test_one_workspace_cannot_address_another_workspaces_runs(settings):
    alice = Workspace(settings, new_workspace_id()).ensure()
    bob = Workspace(settings, new_workspace_id()).ensure()
    run = alice.runs / "run-1"
    run.mkdir()
    update_run_info(run, status="completed", created_at=time.time(), config={"max_epochs": 3})

    assert alice.run_dir("run-1") == run
    assert bob.run_dir("run-1") is None
    for hostile in [
        "../" + alice.id + "/runs/run-1",
        "../../workspaces/" + alice.id + "/runs/run-1",
        str(run),
        "..",
        ".",
    ]:
        assert bob.run_dir(hostile) is None
    assert [r.run_id for r in alice.list_runs()] == ["run-1"]
    assert bob.list_runs() == []


def test_list_runs_api_shows_only_the_workspace_its_key_opens(settings):
    runs = TrainPage(settings, TrainingManager(max_concurrent=1, device_resolver=lambda: "cpu")).runs
    alice = Workspace(settings, new_workspace_id()).ensure()
    run = alice.runs / "run-1"
    run.mkdir()
    update_run_info(run, status="cancelled", created_at=time.time(), config={"max_epochs": 3}, epochs_done=1)

    assert [r["Run"] for r in runs.api_list_runs(new_api_key(alice))] == ["run-1"]
    for refused in (alice.id, new_workspace_id(), "../" + alice.id, None):
        with pytest.raises(ApiKeyRefused):
            runs.api_list_runs(refused)


def test_clearing_keeps_files_a_run_still_needs(tmp_path, workspace):
    workspace.add_uploads(write_sound_folder(tmp_path / "s", count=2))
    used = workspace.dataset_files()
    run = workspace.runs / "run-1"
    run.mkdir()
    update_run_info(
        run, status="cancelled", created_at=time.time(), dataset={"files": [{"path": str(p)} for p in used]}
    )

    workspace.clear_dataset()
    assert workspace.dataset_files() == []
    assert all(p.is_file() for p in used), "a run's sounds stay so it can be resumed"

    workspace.add_uploads(write_sound_folder(tmp_path / "t", count=1))
    unused_dir = workspace.dataset_dir()
    workspace.clear_dataset()
    assert not unused_dir.exists(), "sounds no run needs are deleted"


def test_old_idle_workspaces_are_cleaned_up(settings):
    old = Workspace(settings, new_workspace_id()).ensure()
    busy = Workspace(settings, new_workspace_id()).ensure()
    fresh = Workspace(settings, new_workspace_id()).ensure()
    long_ago = time.time() - 30 * 86400
    for ws in (old, busy):
        os.utime(ws.dir / ".last_seen", (long_ago, long_ago))
    (settings.workspaces_root / "not-a-workspace").mkdir()

    removed = cleanup_workspaces(settings, is_busy=lambda wid: wid == busy.id)
    assert removed == [old.id]
    assert not old.dir.exists() and busy.dir.exists() and fresh.dir.exists()
    assert (settings.workspaces_root / "not-a-workspace").exists()


def test_with_cleanup_switched_off_an_old_idle_workspace_stays(settings):
    keep = AppSettings(data_root=settings.data_root, workspace_ttl_days=0)
    ws = Workspace(keep, new_workspace_id()).ensure()
    write_sound_folder(ws.dataset_dir(), count=1)
    os.utime(ws.dir / ".last_seen", (0, 0))
    assert cleanup_workspaces(keep, is_busy=lambda wid: False) == []
    assert ws.dir.is_dir() and [p.name for p in ws.dataset_files()] == ["tone_00.wav"], "the workspace and its sounds"


def test_browser_secret_survives_a_restart(settings, monkeypatch):
    monkeypatch.delenv("SDA_BROWSER_SECRET", raising=False)
    first = browser_secret(settings)
    assert browser_secret(settings) == first
    assert oct((settings.data_root / ".sda-browser-secret").stat().st_mode & 0o777) == "0o600"


def test_settings_are_read_from_the_environment_and_nonsense_is_refused_by_name(monkeypatch, tmp_path):
    monkeypatch.setenv("SDA_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("SDA_MAX_FILES", "12")
    monkeypatch.setenv("SDA_MAX_CONCURRENT_TRAININGS", "3")
    monkeypatch.setenv("SDA_TEST_TINY", "1")
    settings = AppSettings.from_env()
    assert settings.data_root == tmp_path.resolve() and settings.max_files == 12
    assert settings.max_concurrent_trainings == 3 and settings.test_tiny
    monkeypatch.setenv("SDA_MAX_FILES", "lots")
    with pytest.raises(SettingsError, match="SDA_MAX_FILES"):
        AppSettings.from_env()


def test_dataset_summary_lists_unusable_files_and_the_duration_limit(tmp_path, settings):
    from sda.server.dataset_summary import summarise_dataset

    limited = AppSettings(data_root=settings.data_root, max_total_minutes=0.02)  # 1.2 s
    workspace = Workspace(limited, new_workspace_id()).ensure()
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF....WAVEfmt nonsense")
    note = tmp_path / "notes.txt"
    note.write_text("x")
    workspace.add_uploads([*write_sound_folder(tmp_path / "s", count=2), broken, note])

    report = summarise_dataset(workspace, limited)
    # The first sound (1.2 s) fills the limit; the second is left out, saying why, before it is decoded.
    assert report.check.file_count == 1
    issues = dict(report.issues)
    assert "not an audio file" in issues["notes.txt"] and "broken.wav" in issues
    assert "lasts 1.4 s" in issues["tone_01.wav"] and "1.2 s limit for all files together" in issues["tone_01.wav"]
    assert report.check.ok, "what fits the limit can be trained on"
    text = report.markdown(limited)
    assert "1 file" in text and "WAV" in text and "44.1 kHz" in text
    assert report.picture is not None and report.picture.is_file()
    cached = json.loads((workspace.dataset_dir() / ".summary.json").read_text())
    assert cached["summary"]["file_count"] == 1


def test_the_signing_key_is_private_survives_a_restart_and_is_never_served(settings):
    from sda.server import credentials
    from sda.ui.serving import blocked_paths

    token = credentials.browser_token(settings, new_workspace_id())
    path = credentials.server_key_path(settings)
    assert path.stat().st_mode & 0o777 == 0o600 and str(path) in blocked_paths(settings)
    credentials._KEYS.clear()  # a restart: the key is read back from its file
    assert credentials.workspace_of_token(settings, token), "a token signed before the restart still opens"
    assert ".sda-server-key" in (REPO_ROOT / ".gitignore").read_text().split()


def test_only_a_token_the_server_signed_opens_a_workspace_and_a_replaced_api_key_opens_nothing(settings, workspace):
    from sda.server import credentials

    token = credentials.browser_token(settings, workspace.id)
    assert credentials.workspace_of_token(settings, token) == workspace.id
    other = new_workspace_id()
    for forged in (workspace.id, token[:-1] + ("0" if token[-1] != "0" else "1"), token.replace(workspace.id, other),
                   "sdab_" + workspace.id, None, 7, token + "0"):
        assert credentials.workspace_of_token(settings, forged) is None
    elsewhere = AppSettings(data_root=settings.data_root.parent / "other-server")
    assert credentials.workspace_of_token(elsewhere, token) is None, "another server's key signs other tokens"

    old = credentials.new_api_key(workspace)
    assert credentials.workspace_of_api_key(settings, old).id == workspace.id
    assert old[5:] not in (workspace.dir / credentials.API_KEY_FILE).read_text(), "only a hash is kept"
    new = credentials.new_api_key(workspace)
    assert credentials.workspace_of_api_key(settings, old) is None
    assert credentials.workspace_of_api_key(settings, new).id == workspace.id
    assert credentials.workspace_of_api_key(settings, token) is None, "the browser token is no API key"


def test_a_damaged_signing_key_stops_the_app_naming_the_file(settings):
    from sda.server import credentials

    credentials.server_key_path(settings).parent.mkdir(parents=True, exist_ok=True)
    credentials.server_key_path(settings).write_text("not hex")
    with pytest.raises(RuntimeError, match=r"\.sda-server-key.*Delete it"):
        credentials.server_key(settings)
