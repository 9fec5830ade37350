"""Who may make sounds now: a few generations at once, and at most N waiting or running per workspace.

Gradio's "generation" queue lets many jobs in (so that a refusal comes at
once instead of after a long wait in line); the gate then runs at most
``slots`` of them at a time and refuses, before any work, a workspace's job
beyond its ``per_workspace`` share. One visitor flooding the server so holds
one slot at most, and everyone else's Generate still gets the other.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class GenerationBusy(ValueError):
    """This workspace already has as many sounds being made (or waiting) as the server allows."""


class GenerationGate:
    """``slots`` generations at once for the whole server; ``per_workspace`` (None: no cap) each."""

    def __init__(self, slots: int, per_workspace: int | None = None) -> None:
        self.slots = slots
        self.per_workspace = per_workspace
        self._running = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._jobs: Counter[str] = Counter()  # workspace -> jobs waiting or running

    def jobs_of(self, workspace: str) -> int:
        """Jobs of ``workspace`` waiting for a slot or running."""
        with self._lock:
            return self._jobs[workspace]

    @contextmanager
    def job(self, workspace: str) -> Iterator[None]:
        """Hold a generation slot for ``workspace`` (waiting for one); GenerationBusy at once beyond its share."""
        with self._lock:
            if self.per_workspace is not None and self._jobs[workspace] >= self.per_workspace:
                raise GenerationBusy(
                    "Your last sound is still being made (or waiting its turn): this server makes "
                    f"{_count(self.per_workspace)} at a time per visitor, so everyone gets a turn. "
                    "Wait for it to finish, then try again."
                )
            self._jobs[workspace] += 1
        try:
            with self._running:
                yield
        finally:
            with self._lock:
                self._jobs[workspace] -= 1
                if self._jobs[workspace] <= 0:
                    del self._jobs[workspace]


def _count(n: int) -> str:
    return "one job" if n == 1 else f"{n} jobs"
