"""A run's files name no folder above the run: a checkpoint handed to someone else tells them
nothing of where the server keeps its data, and the run still finds its own files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from audio_files import write_sound_folder
from helpers import make_tiny_config

from sda.generation.model_source import recorded_files
from sda.runs.folder import data_inputs, dataset_files
from sda.training import PreviewEvent, train
from sda.training.metrics_log import read_events

pytestmark = pytest.mark.usefixtures("fast_previews")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("private-data-root")
    sounds = root / "workspace-0123456789abcdef" / "dataset"
    write_sound_folder(sounds)
    run_dir = root / "workspace-0123456789abcdef" / "runs" / "run-1"
    config = make_tiny_config(max_epochs=2, preview_interval=1, preview_interval_short=1, checkpoint_interval=1)
    result = train(config=config, file_paths=[sounds], output_dir=run_dir, device=torch.device("cpu"))
    return root, run_dir, result


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def test_no_file_of_the_run_names_a_folder_above_it(trained):
    root, run_dir, _ = trained
    secrets = (str(root), "workspace-0123456789abcdef")
    checkpoints = sorted((run_dir / "checkpoints").glob("*.pt"))
    assert checkpoints
    stored = {path.name: list(_strings(torch.load(path, weights_only=True))) for path in checkpoints}
    for name in ("run.json", "metrics.jsonl"):
        stored[name] = [(run_dir / name).read_text("utf-8")]
    leaks = {name: [s for s in strings if any(secret in s for secret in secrets)] for name, strings in stored.items()}
    assert not any(leaks.values()), leaks


def test_the_run_still_finds_its_sounds_previews_and_checkpoints(trained):
    root, run_dir, result = trained
    files = dataset_files(run_dir)
    assert len(files) == 6 and all(Path(f["path"]).is_file() for f in files)
    assert sorted(p.name for p in recorded_files(run_dir)) == sorted(Path(f["path"]).name for f in files)
    assert [Path(p).resolve() for p in data_inputs(run_dir)] == [
        (root / "workspace-0123456789abcdef" / "dataset").resolve()
    ]
    events, _ = read_events(run_dir)
    previews = [e for e in events if isinstance(e, PreviewEvent)]
    assert previews and all(Path(e.audio_path).is_file() for e in previews)
    info = json.loads((run_dir / "run.json").read_text("utf-8"))
    assert (run_dir / info["best_checkpoint"]).is_file() and (run_dir / info["last_checkpoint"]).is_file()
    history = torch.load(result["best_checkpoint_path"], weights_only=True)["metrics_history"]
    assert history["previews"] and not any(p["audio_path"].startswith("/") for p in history["previews"])

