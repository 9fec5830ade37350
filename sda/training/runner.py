"""TrainingRunner: training in a background thread, with cancel, save-now and resume.

This is the only thread boundary. The web UI and the CLI are both clients of
it; events arrive through the callback on the training thread.

A server keeps a runner long after its run ends, so an ended run lets go of
everything big: its result keeps figures and paths but not the model or the
spectrogram settings on the device, and an error keeps its message and its
traceback as text, not the frames that hold the model, optimizer and data.
"""

from __future__ import annotations

import gc
import logging
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sda.audio.io import AudioLoadError
from sda.audio.validation import DatasetError
from sda.runs.checkpoints import CheckpointError
from sda.runs.device import DeviceError, use_cpu_threads
from sda.training.config import ConfigError, TrainingConfig
from sda.training.dataset import release_free_memory
from sda.training.loop import train

# Errors whose message is the whole story for a user (they name the file or setting).
USER_ERRORS = (DatasetError, ConfigError, CheckpointError, DeviceError, AudioLoadError)
# What train() returns that lives on the training device; a finished run does not keep it.
_HEAVY_RESULTS = ("model", "spectrogram")

log = logging.getLogger(__name__)


class TrainingRunner:
    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._cancel_event = threading.Event()
        self._save_event = threading.Event()
        self._is_running = False
        self._last_error: Exception | None = None
        self._error_details: str | None = None
        self._result: dict | None = None
        self._lock = threading.Lock()

    def start(self, config: TrainingConfig, file_paths, output_dir: Path, device="cpu",
              callback: Callable[[Any], None] | None = None, **train_options: Any) -> None:
        """Start training in the background. Raises RuntimeError if already running.

        ``train_options`` go to ``sda.training.train`` (``decoded``, ``release_audio``).
        """
        self._launch(config, file_paths, output_dir, device, callback, None, train_options)

    def resume(self, config: TrainingConfig | None, file_paths, output_dir: Path, device="cpu",
               checkpoint_path: Path | None = None, callback: Callable[[Any], None] | None = None,
               **train_options: Any) -> None:
        """Continue from ``checkpoint_path`` (a .pt file or a run directory).

        ``config`` None uses the checkpoint's own config. Pass the run's own
        ``output_dir`` to continue the same run directory and curves.
        """
        self._launch(config, file_paths, output_dir, device, callback, checkpoint_path or output_dir, train_options)

    def _launch(self, config, file_paths, output_dir, device, callback, resume, train_options) -> None:
        with self._lock:
            if self.is_running():
                raise RuntimeError("Training is already running; cancel it or wait for it to finish.")
            self._cancel_event.clear()
            self._save_event.clear()
            self._last_error = None
            self._error_details = None
            self._result = None
            self._is_running = True
            self._thread = threading.Thread(
                target=self._run_training,
                args=(config, file_paths, Path(output_dir), device, callback, resume, train_options),
                name="sda-training",
                daemon=True,
            )
            self._thread.start()

    def _run_training(self, config, file_paths, output_dir, device, callback, resume, train_options) -> None:
        use_cpu_threads()  # every core, whatever count a generation thread set last
        try:
            result = train(config, file_paths, output_dir, device, callback=callback,
                           cancel_event=self._cancel_event, resume_checkpoint=resume,
                           save_event=self._save_event, **train_options)
            self._result = {key: value for key, value in result.items() if key not in _HEAVY_RESULTS}
            del result
        except USER_ERRORS as exc:  # a clear message for the user; no traceback to log
            self._error_details = _forget_frames(exc)
            self._last_error = exc
            log.info("Training stopped: %s", exc)
        except Exception as exc:  # kept for the client to show; the thread must not die silently
            self._error_details = _forget_frames(exc)
            self._last_error = exc
            # Logged as text: a log record holding the traceback would keep its frames alive.
            log.error("Training failed\n%s", self._error_details.rstrip())
        finally:
            train_options.clear()  # a caller's decoded dataset
            gc.collect()  # the model and optimizer sit in reference cycles (modules, hooks)
            release_free_memory()
            self._is_running = False

    def cancel(self) -> None:
        """Stop training; a checkpoint is saved at once (mid-epoch if need be). Does not block."""
        self._cancel_event.set()

    def request_checkpoint(self) -> None:
        """Save a checkpoint at the next step; training continues."""
        if self.is_running():
            self._save_event.set()

    def is_running(self) -> bool:
        return self._is_running

    def last_error(self) -> Exception | None:
        """Why the last run failed (None if it did not); it holds no traceback frames."""
        return self._last_error

    def last_error_details(self) -> str | None:
        """The last error's traceback as text, for a report of something that is not the user's mistake."""
        return self._error_details

    def result(self) -> dict | None:
        return self._result

    def wait(self, timeout: float | None = None) -> bool:
        """Block until training ends (or ``timeout`` seconds pass); True if it ended."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()


def _forget_frames(error: BaseException) -> str:
    """Format `error` with its traceback, then drop the frames (and everything they hold) from its chain."""
    text = "".join(traceback.format_exception(error))
    pending, seen = [error], set()
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        exc.__traceback__ = None
        pending += [exc.__cause__, exc.__context__]
    return text
