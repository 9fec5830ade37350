"""The server's trainings: one TrainingRunner per active run, a cap, a queue.

Training belongs to the server, not to a browser tab: a run keeps going when
its page is closed, and any page of the same workspace re-attaches to it by
its run directory. Pages never hold a runner; they ask this registry about a
run directory and read the events the engine appends to its metrics.jsonl.

At most ``max_concurrent`` runs train at once. A start over the cap waits in
a first-come queue of at most ``max_queue`` runs and starts by itself when a
training ends; beyond that, ``submit`` refuses it (QueueFull). A workspace
has at most one run queued or training: ``submit`` refuses a second
(WorkspaceBusy), so one visitor cannot fill the queue.

Each workspace has a lock (``workspace_lock``): a start checks that the
workspace has no run going and submits under it, so two tabs of one
workspace cannot start two trainings, and Clear cannot remove the files a
start is about to hand over.

With a disk quota, ``quota_watch(workspace_id, run_dir)`` is asked about
each running run every few seconds; a reason it gives cancels the run (a
checkpoint is saved) and is kept for the page (``stop_note``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sda.atomic import atomic_write_bytes
from sda.audio.validation import DurationLimits
from sda.training.config import TrainingConfig

_PUMP_SECONDS = 0.5
_QUOTA_WATCH_SECONDS = 2.0
QUOTA_STOP_FILE = "stopped_by_quota.txt"  # in a run folder: why the disk quota stopped its training


class QueueFull(RuntimeError):
    """Every training slot is taken and the queue holds as many runs as the server allows."""


class WorkspaceBusy(QueueFull):
    """The workspace already has a run queued or training (one per workspace)."""


@dataclass
class TrainingJob:
    """A start (or, with ``checkpoint_path``, a resume) of the run in ``run_dir``."""

    run_dir: Path
    workspace_id: str
    config: TrainingConfig | None
    file_paths: list[Path]
    checkpoint_path: Path | None = None
    limits: DurationLimits | None = None  # how much audio it may decode (None: the engine's default)


def _default_runner():
    from sda.training.runner import TrainingRunner

    return TrainingRunner()


def _default_device():
    from sda.runs.device import resolve_device

    return resolve_device("auto")


class TrainingManager:
    """Starts, queues, cancels and checkpoints runs for every session of the server."""

    def __init__(
        self,
        max_concurrent: int | None = None,
        runner_factory: Callable[[], object] = _default_runner,
        device_resolver: Callable[[], object] = _default_device,
        max_queue: int | None = None,
        quota_watch: Callable[[str, Path], str] | None = None,
    ) -> None:
        self._runner_factory = runner_factory
        self._device_resolver = device_resolver
        self._device = None
        self._max_concurrent = max_concurrent
        self.max_queue = max_queue  # None: no limit
        self._workspace_locks: dict[str, threading.Lock] = {}
        self._lock = threading.RLock()
        self._runners: dict[Path, object] = {}  # run_dir -> runner (running or finished)
        self._jobs: dict[Path, TrainingJob] = {}  # run_dir -> its latest job
        self._queue: list[TrainingJob] = []
        self._errors: dict[Path, str] = {}  # a start that failed before training began
        self._pump_thread: threading.Thread | None = None
        self._quota_watch = quota_watch  # None: no disk quota, nothing to watch
        self._watch_thread: threading.Thread | None = None
        self._stop_notes: dict[Path, str] = {}  # run_dir -> why the quota stopped it

    # -------------------------------------------------------------- settings
    @property
    def device(self):
        if self._device is None:
            self._device = self._device_resolver()
        return self._device

    @property
    def max_concurrent(self) -> int:
        if self._max_concurrent is None:
            # One CPU training already uses every core; a GPU has room for two small ones.
            self._max_concurrent = 1 if getattr(self.device, "type", "cpu") == "cpu" else 2
        return self._max_concurrent

    # --------------------------------------------------------------- queries
    def _is_running(self, run_dir: Path) -> bool:
        runner = self._runners.get(Path(run_dir))
        return bool(runner is not None and runner.is_running())

    def running_count(self) -> int:
        with self._lock:
            return sum(1 for runner in self._runners.values() if runner.is_running())

    def phase(self, run_dir: Path) -> str:
        """"running", "queued" or "idle" (idle: finished, or never started here)."""
        with self._lock:
            if self._is_running(run_dir):
                return "running"
            if any(job.run_dir == Path(run_dir) for job in self._queue):
                return "queued"
            return "idle"

    def queue_position(self, run_dir: Path) -> int | None:
        with self._lock:
            for index, job in enumerate(self._queue):
                if job.run_dir == Path(run_dir):
                    return index + 1
            return None

    def start_error(self, run_dir: Path) -> str | None:
        """Why the last start of ``run_dir`` failed before training began (or None)."""
        with self._lock:
            error = self._errors.get(Path(run_dir))
            runner = self._runners.get(Path(run_dir))
            if error is None and runner is not None and not runner.is_running():
                last = runner.last_error()
                error = str(last) if last else None
            return error

    def stop_note(self, run_dir: Path) -> str:
        """Why the disk quota stopped the last training of ``run_dir`` ("" if it did not), after a restart too."""
        with self._lock:
            note = self._stop_notes.get(Path(run_dir))
        if note is not None:
            return note
        try:
            return (Path(run_dir) / QUOTA_STOP_FILE).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def is_workspace_busy(self, workspace_id: str) -> bool:
        """True while a run of ``workspace_id`` trains or waits in the queue."""
        with self._lock:
            if any(job.workspace_id == workspace_id for job in self._queue):
                return True
            return any(
                self._jobs[run_dir].workspace_id == workspace_id
                for run_dir in self._runners
                if run_dir in self._jobs and self._is_running(run_dir)
            )

    def files_in_use(self, workspace_id: str) -> set[Path]:
        """Files that runs of ``workspace_id`` waiting or training will read (or are reading)."""
        with self._lock:
            jobs = [job for job in self._queue if job.workspace_id == workspace_id]
            jobs += [
                self._jobs[run_dir]
                for run_dir in self._runners
                if run_dir in self._jobs
                and self._jobs[run_dir].workspace_id == workspace_id
                and self._is_running(run_dir)
            ]
            return {Path(path) for job in jobs for path in job.file_paths}

    def workspace_lock(self, workspace_id: str) -> threading.Lock:
        """The lock a workspace's start, resume and clear hold from their check to their action."""
        with self._lock:
            return self._workspace_locks.setdefault(workspace_id, threading.Lock())

    # --------------------------------------------------------------- actions
    def submit(self, job: TrainingJob) -> int:
        """Start ``job`` now (returns 0) or queue it (returns its place in the queue).

        Raises QueueFull when every slot is taken and the queue is full.
        """
        with self._lock:
            if self.is_workspace_busy(job.workspace_id):
                raise WorkspaceBusy(
                    "A run of yours is already training or waiting; this server trains one run per visitor at a "
                    "time. Cancel it first, or wait for it to finish."
                )
            if (self.max_queue is not None and len(self._queue) >= self.max_queue
                    and self.running_count() >= self.max_concurrent):
                raise QueueFull(
                    f"This server is busy: {self.running_count()} training{'s' if self.running_count() != 1 else ''} "
                    f"running and {len(self._queue)} waiting, the most it keeps in line. Try again in a while."
                )
            self._errors.pop(job.run_dir, None)
            self._stop_notes.pop(job.run_dir, None)
            (job.run_dir / QUOTA_STOP_FILE).unlink(missing_ok=True)
            self._jobs[job.run_dir] = job
            self._queue.append(job)
            self._start_queued()
            position = self.queue_position(job.run_dir)
            if position is not None:
                self._ensure_pump()
            return position or 0

    def cancel(self, run_dir: Path) -> str:
        """"dequeued" (it had not started), "cancelling" (checkpoint being saved) or "idle"."""
        run_dir = Path(run_dir)
        with self._lock:
            for job in self._queue:
                if job.run_dir == run_dir:
                    self._queue.remove(job)
                    return "dequeued"
            if self._is_running(run_dir):
                self._runners[run_dir].cancel()
                return "cancelling"
            return "idle"

    def request_checkpoint(self, run_dir: Path) -> bool:
        with self._lock:
            if not self._is_running(run_dir):
                return False
            self._runners[Path(run_dir)].request_checkpoint()
            return True

    def wait(self, run_dir: Path, timeout: float) -> bool:
        """Wait up to ``timeout`` s for a run to stop; True if it has."""
        with self._lock:
            runner = self._runners.get(Path(run_dir))
        if runner is None:
            return True
        runner.wait(timeout)
        return not runner.is_running()

    # -------------------------------------------------------------- internal
    def _start_queued(self) -> None:
        """Start queued jobs, oldest first, while there is room (lock held)."""
        while self._queue and self.running_count() < self.max_concurrent:
            job = self._queue.pop(0)
            runner = self._runner_factory()
            self._runners[job.run_dir] = runner
            options = {} if job.limits is None else {"limits": job.limits}
            try:
                if job.checkpoint_path is None:
                    runner.start(job.config, job.file_paths, job.run_dir, self.device, **options)
                else:
                    runner.resume(job.config, job.file_paths, job.run_dir, self.device, job.checkpoint_path, **options)
            except Exception as exc:  # ConfigError, DatasetError, ...: shown on the page
                self._errors[job.run_dir] = str(exc) or type(exc).__name__
            else:
                self._ensure_watch()

    def _ensure_pump(self) -> None:
        if self._pump_thread is None or not self._pump_thread.is_alive():
            self._pump_thread = threading.Thread(target=self._pump, name="sda-queue", daemon=True)
            self._pump_thread.start()

    def _pump(self) -> None:
        while True:
            time.sleep(_PUMP_SECONDS)
            with self._lock:
                self._start_queued()
                if not self._queue:
                    return

    def _ensure_watch(self) -> None:
        """Watch running runs against the disk quota (lock held); one thread, while any run trains."""
        if self._quota_watch is None or (self._watch_thread is not None and self._watch_thread.is_alive()):
            return
        self._watch_thread = threading.Thread(target=self._watch, name="sda-quota", daemon=True)
        self._watch_thread.start()

    def _watch(self) -> None:
        while True:
            time.sleep(_QUOTA_WATCH_SECONDS)
            with self._lock:
                running = [(d, self._jobs[d]) for d in self._runners if d in self._jobs and self._is_running(d)]
                if not running:
                    self._watch_thread = None
                    return
            for run_dir, job in running:  # measuring the disk happens outside the lock
                reason = self._quota_watch(job.workspace_id, run_dir)
                if reason:
                    with self._lock:
                        if self._is_running(run_dir) and run_dir not in self._stop_notes:
                            self._stop_notes[run_dir] = reason
                            _keep_note(run_dir, reason)  # the page still says why after the server restarts
                            self._runners[run_dir].cancel()


def _keep_note(run_dir: Path, reason: str) -> None:
    try:
        atomic_write_bytes(Path(run_dir) / QUOTA_STOP_FILE, (reason + "\n").encode("utf-8"))
    except OSError:  # the run folder went away: nothing to explain
        pass
