"""Who may make sounds now: a few generations at once, and at most N waiting or running per workspace.

Gradio's "generation" queue lets many jobs in (so that a refusal comes at
once instead of after a long wait in line); the gate then runs at most
``slots`` of them at a time and refuses, before any work, a workspace's job
beyond its ``per_workspace`` share. One visitor flooding the server so holds
one slot at most, and everyone else's Generate still gets the other.

Both slots share the same cores, so a long job (a sample pack) also makes
way between its sounds while another workspace's short job (one sound) runs:
the short one then has the machine to itself for its fraction of a second.
"""

from __future__ import annotations

import threading
import time
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
        self._changed = threading.Condition(self._lock)
        self._jobs: Counter[str] = Counter()  # workspace -> jobs waiting or running
        self._short: Counter[str] = Counter()  # workspace -> short jobs running (holding a slot)

    def jobs_of(self, workspace: str) -> int:
        """Jobs of ``workspace`` waiting for a slot or running."""
        with self._lock:
            return self._jobs[workspace]

    @contextmanager
    def job(self, workspace: str, short: bool = False) -> Iterator[None]:
        """Hold a generation slot for ``workspace`` (waiting for one); GenerationBusy at once beyond its share.

        ``short``: one sound, which long jobs of other workspaces make way for (see ``make_way``).
        """
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
                if not short:
                    yield
                else:
                    self._count_short(workspace, +1)
                    try:
                        yield
                    finally:
                        self._count_short(workspace, -1)
        finally:
            with self._lock:
                self._jobs[workspace] -= 1
                if self._jobs[workspace] <= 0:
                    del self._jobs[workspace]

    def _count_short(self, workspace: str, change: int) -> None:
        with self._changed:
            self._short[workspace] += change
            if self._short[workspace] <= 0:
                del self._short[workspace]
            self._changed.notify_all()

    def make_way(self, workspace: str, longest_s: float = 10.0) -> None:
        """Called by a long job between its sounds: wait while another workspace's short job runs.

        Only short jobs are waited for, and never for more than ``longest_s``,
        so two long jobs never wait for each other.
        """
        deadline = time.monotonic() + longest_s
        with self._changed:
            while any(count for owner, count in self._short.items() if owner != workspace):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)


def _count(n: int) -> str:
    return "one job" if n == 1 else f"{n} jobs"
