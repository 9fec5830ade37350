"""The Play tab's "Export as instrument" handler without a browser: refusals named, nothing half-written."""

from __future__ import annotations

import shutil
import zipfile

import pytest

from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id
from sda.ui.play.page import PlayPage
from sda.ui.train.state import PageState


@pytest.fixture(scope="module")
def opened(kit_run, tmp_path_factory):
    settings = AppSettings(data_root=tmp_path_factory.mktemp("play") / "data")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    shutil.copytree(kit_run, workspace.runs / "run-20250101-000000")
    page = PlayPage(settings)
    play = page.load(PageState(workspace_id=workspace.id))["play"]
    return page, play, workspace


def test_the_page_refuses_what_cannot_be_an_instrument_in_a_sentence(opened):
    page, play, workspace = opened
    sliders = [0.0] * len(play.axes)
    short = page.instrument.make(play, "pitched", "both", 16, 1, 1, [], 0, 0.15, *sliders)
    assert "too short" in short["instrument_note"] and "instrument_file" not in short
    layers = page.instrument.make(play, "kit", "both", 2, 12, 1, [], 0, 0.5, *sliders)
    assert "Velocity layers 12" in layers["instrument_note"] and "instrument_file" not in layers
    fmt = page.instrument.make(play, "kit", "wav", 2, 1, 1, [], 0, 0.5, *sliders)
    assert "format" in fmt["instrument_note"]
    big = page.instrument.make(play, "kit", "both", 32, 8, 4, [], 0, 60.0, *sliders)
    assert "SDA_MAX_PACK_SECONDS" in big["instrument_note"]
    assert not list(workspace.dir.rglob("*.zip")), "nothing half-written"


def test_a_kit_from_the_sliders_spreads_its_pads_from_the_seed(opened):
    page, play, workspace = opened
    out = page.instrument.make(play, "kit", "sfz", 3, 1, 1, [], 5, 0.4, *[0.0] * len(play.axes))
    path = out["instrument_file"]["value"]
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        readme = zf.read("readme.txt").decode()
    assert [n for n in names if n.endswith(".sfz")] and not [n for n in names if n.endswith(".sf2")]
    assert len([n for n in names if n.endswith(".wav")]) == 3
    assert all(f"seed {seed}" in readme for seed in (5, 6, 7))
