"""Who may make sounds now: a few generations at once, and at most N waiting or running per workspace.

Gradio's "generation" queue lets many jobs in (so that a refusal comes at
once instead of after a long wait in line); the gate then runs at most
``slots`` of them at a time and refuses, before any work, a workspace's job
beyond its ``per_workspace`` share. One visitor flooding the server so holds
one slot at most, and everyone else's Generate still gets the other.

The jobs are counted once for the whole process (``generating``): the same
count is a workspace's share, and what keeps cleanup away from a workspace
whose sound is being made or waiting for a slot.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sda.runs.device import CPU_THREADS, use_cpu_threads
from sda.server.generators import GENERATION_CONCURRENCY
from sda.server.settings import AppSettings


class GenerationBusy(ValueError):
    """This workspace already has as many sounds being made (or waiting) as the server allows."""


_lock = threading.Lock()
_jobs: Counter[str] = Counter()  # workspace -> its jobs waiting for a slot or running, in any gate


def jobs_of(workspace: str) -> int:
    """Jobs of ``workspace`` waiting for a slot or running."""
    with _lock:
        return _jobs[workspace]


def generating(workspace: str) -> bool:
    """True while a sound of ``workspace`` is being made or waits for a slot (cleanup leaves it alone)."""
    return jobs_of(workspace) > 0


class GenerationGate:
    """``slots`` generations at once for the whole server; ``per_workspace`` (None: no cap) each.

    ``share_cores``: each running job works on its share of the CPU cores
    (cores / slots threads), so two jobs at once never fight over the same
    cores. Without it, each job takes every core: the fastest single sound
    on a machine with one user, but two at once oversubscribe the CPU and
    both crawl. A public server shares; a local run does not.
    """

    def __init__(self, slots: int, per_workspace: int | None = None, share_cores: bool = False) -> None:
        self.slots = slots
        self.per_workspace = per_workspace
        self.threads = max(1, CPU_THREADS // slots) if share_cores else CPU_THREADS
        self._running = threading.BoundedSemaphore(slots)

    def jobs_of(self, workspace: str) -> int:
        """Jobs of ``workspace`` waiting for a slot or running."""
        return jobs_of(workspace)

    @contextmanager
    def job(self, workspace: str) -> Iterator[None]:
        """Hold a generation slot for ``workspace`` (waiting for one); GenerationBusy at once beyond its share."""
        with _lock:
            if self.per_workspace is not None and _jobs[workspace] >= self.per_workspace:
                raise GenerationBusy(
                    "Your last sound is still being made (or waiting its turn): this server makes "
                    f"{_count(self.per_workspace)} at a time per visitor, so everyone gets a turn. "
                    "Wait for it to finish, then try again."
                )
            _jobs[workspace] += 1
        try:
            with self._running:
                use_cpu_threads(self.threads)  # this worker thread's count, for the job it runs now
                yield
        finally:
            with _lock:
                _jobs[workspace] -= 1
                if _jobs[workspace] <= 0:
                    del _jobs[workspace]


def _count(n: int) -> str:
    return "one job" if n == 1 else f"{n} jobs"


def fair_gate(settings: AppSettings) -> GenerationGate:
    """The gate of a server with ``settings``: its per-workspace share, and the cores shared in public mode."""
    return GenerationGate(GENERATION_CONCURRENCY, settings.max_generations_per_workspace, share_cores=settings.public)
