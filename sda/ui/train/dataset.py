"""The Train page's dataset handlers: add files, demo sounds, Clear, presets, the summary API.

Each handler takes the page's server-side state and returns {component
name: new value}; the summary (and its picture) comes from
sda/server/dataset_summary.py, the files from the page's Workspace.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import gradio as gr

from sda.audio.validation import decode_dataset
from sda.server.dataset_summary import DatasetReport, summarise_dataset
from sda.server.sessions import TrainingManager
from sda.server.settings import AppSettings
from sda.server.usage import mark_used
from sda.server.workspace import Workspace
from sda.ui.binding import Outputs, fills
from sda.ui.public_text import public_text
from sda.ui.serving import servable
from sda.ui.train import config_form
from sda.ui.train.live import BUTTONS, LiveRun
from sda.ui.train.state import PageState

DEMO_DIR = Path(__file__).resolve().parents[3] / "assets" / "demo"
ADVANCED = tuple(f"adv_{f.key}" for f in config_form.ADVANCED_FIELDS)  # the Advanced boxes, blank = the preset's
PRESET_OUT = ("preset_reason", *ADVANCED)
NO_SESSION = (
    "The dataset summary needs a session of the page: open the app in a browser, then call "
    "summarize_dataset from that session (a call without one is refused, so that it costs nobody's share)."
)
DATASET_OUT = (
    "dataset_upload", "dataset_note", "dataset_summary", "dataset_picture", "dataset_issues", *PRESET_OUT, *BUTTONS,
)


class DatasetHandlers:
    """Handlers for the dataset panel: one instance per server, per-page data in PageState."""

    def __init__(
        self, settings: AppSettings, manager: TrainingManager, live: LiveRun, demo_dir: Path = DEMO_DIR
    ) -> None:
        self.settings = settings
        self.manager = manager
        self.live = live
        self.demo_dir = demo_dir
        self._summary_lock = threading.Lock()  # one summary API call decodes at a time

    def _workspace(self, page: PageState) -> Workspace:
        return Workspace(self.settings, page.workspace_id)

    @fills(*DATASET_OUT)
    def add_files(self, files: list[Any] | None, page: PageState | None, preset: str,
                  progress: gr.Progress = gr.Progress()) -> Outputs:
        """Files, folders or zips dropped on the page: add them to the dataset and summarise it."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        report = workspace.add_uploads(_paths(files))
        out = self._summarise(page, workspace, preset, progress)
        out["dataset_upload"] = None  # empty the drop zone again: the summary lists what was added
        out["dataset_note"] = report.message()
        return out

    @fills(*DATASET_OUT)
    def use_demo(self, page: PageState | None, preset: str, progress: gr.Progress = gr.Progress()) -> Outputs:
        """Replace the dataset with the bundled demo sounds."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        if not self.demo_dir.is_dir() or not any(self.demo_dir.iterdir()):
            return {"dataset_note": "The demo sounds are not installed here (assets/demo is empty)."}
        with self.manager.workspace_lock(workspace.id):  # not while a start hands the old files to a run
            report, outcome = workspace.use_demo(self.demo_dir, self.manager.files_in_use(workspace.id))
        out = self._summarise(page, workspace, preset, progress)
        kept = (
            " Your previous sounds stay on the server while your run that is training or waiting reads them."
            if outcome == "in use"
            else ""
        )
        out["dataset_note"] = f"Loaded the demo sounds. {report.message()}{kept}"
        return out

    @fills(*DATASET_OUT)
    def clear_dataset(self, page: PageState | None, preset: str) -> Outputs:
        """Start an empty dataset; sounds a run still reads (or may resume from) stay on the server."""
        if page is None:
            return {}
        workspace = self._workspace(page)
        with self.manager.workspace_lock(workspace.id):
            outcome = workspace.clear_dataset(self.manager.files_in_use(workspace.id))
        out = self._summarise(page, workspace, preset, None)
        out["dataset_note"] = {
            "deleted": "The dataset is empty; its sounds were deleted from the server.",
            "in use": "The dataset is empty. Its sounds could not be deleted now: your run that is training or "
                      "waiting reads them. They stay with that run (so that it can be resumed later too).",
            "kept": "The dataset is empty. Its sounds stay on the server with the past runs that trained on them, "
                    "so that those can be resumed.",
        }[outcome]
        return out

    def _summarise(self, page: PageState, workspace: Workspace, preset: str, progress: gr.Progress | None) -> Outputs:
        def report_progress(done: int, total: int, name: str) -> None:
            if progress is not None:
                progress(done / max(total, 1), desc=f"Reading {name}")

        report = summarise_dataset(workspace, self.settings, report_progress)
        out = self.outputs(page, report, preset)
        out.update(self.live.buttons(page, force=True))
        return out

    def outputs(self, page: PageState, report: DatasetReport, preset: str) -> Outputs:
        """The dataset panel for ``report`` (and the preset hints that depend on it)."""
        page.dataset = report.check
        picture = servable(report.picture, name="dataset.png") if report.picture else None
        return {
            "dataset_summary": report.markdown(self.settings),
            "dataset_picture": gr.update(value=picture, visible=picture is not None),
            "dataset_issues": gr.update(
                value=[list(row) for row in report.issues] or None, visible=bool(report.issues)
            ),
            **self.preset_changed(preset, page),
        }

    @fills(*PRESET_OUT)
    def preset_changed(self, preset: str, page: PageState | None) -> Outputs:
        """Say which preset Auto picks for this dataset and why, and show its values as hints."""
        count = page.dataset.file_count if page else 0
        config = config_form.build_config(
            max(count, 1), preset, tiny=self.settings.test_tiny, caps=config_form.ServerCaps.of(self.settings)
        )
        reason = config.preset_reason if count else "Add sounds to see which preset Auto picks for them."
        if preset != "Auto" and count:
            reason = f"{preset}: {_preset_blurb(config.preset)}"
        lowered = config_form.epochs_lowered_note(
            max(count, 1), preset, tiny=self.settings.test_tiny, caps=config_form.ServerCaps.of(self.settings)
        )
        out = {"preset_reason": f"{reason}  \n{lowered}" if lowered else reason}
        for key, value in config_form.preset_hint(config).items():
            out[f"adv_{key}"] = gr.update(placeholder=f"{value:g}" if isinstance(value, float) else str(value))
        return out

    def api_summarise(self, files: list[Any] | None, page: PageState | None = None) -> dict[str, Any]:
        """Summary of uploaded files: file_count, total_duration_s, formats, sample_rates, channels,
        issues [{file, reason}]. Keeps nothing.

        Only within a page's session (``page``; refused without one), one call at a time, decoding at
        most SDA_SUMMARY_MAX_MINUTES of audio.
        """
        if page is None:
            raise gr.Error(NO_SESSION)
        mark_used(self.settings, page.workspace_id)
        with self._summary_lock:
            return self._summary(files)

    def _summary(self, files: list[Any] | None) -> dict[str, Any]:
        paths = _paths(files)[: self.settings.max_files]
        if not paths:
            return {
                "file_count": 0,
                "total_duration_s": 0.0,
                "formats": {},
                "sample_rates": {},
                "channels": {},
                "issues": [],
            }
        summary = decode_dataset(paths, limits=self.settings.summary_limits()).summary()
        # Only the file name: server paths are nobody's business (and a "path" key reads as a file to clients).
        summary["issues"] = [
            {"file": Path(i["path"]).name, "reason": public_text(i["reason"])} for i in summary["issues"]
        ]
        return json.loads(json.dumps(summary))  # JSON keys are text (sample rates are numbers here)


def _paths(files: list[Any] | None) -> list[str]:
    """Paths of uploaded files (Gradio hands over paths, or objects with .name)."""
    return [f if isinstance(f, str) else getattr(f, "name", f) for f in (files or [])]


def _preset_blurb(preset: str) -> str:
    return {
        "conservative": "strong regularization and extra augmented copies, for small datasets.",
        "balanced": "moderate regularization, for medium datasets.",
        "aggressive": "light regularization, for large datasets.",
    }.get(preset, "")
