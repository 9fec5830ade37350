"""The Explore pool: new sounds near the sliders, made in the background before anyone plays them.

In Explore mode every note of the Keys panel plays a sound never heard
before. The browser holds a few decoded ones ahead and asks for more as it
uses them (``take``); this pool keeps up to ``size`` more rendered on the
server, in its own thread, so that a note never waits for the model. The
thread renders one sound at a time through the shared GenerationGate (in
public mode a visitor's pool and their own Generate take turns), stops when
the pool is full, and ends when nobody took from it for ``IDLE_SECONDS``.

A sound is handed out once and never again; its file is removed a while
after, once the browser has long fetched it.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sda.server.generation_gate import GenerationBusy, GenerationGate
from sda.server.keys_render import render_at, scatter, write

IDLE_SECONDS = 120.0
KEEP_HANDED_OUT = 64  # files of sounds already handed out that stay on disk (the browser may still fetch them)


@dataclass
class PoolStats:
    """What the pool did: sounds made, seconds spent making them, sounds handed out."""

    made: int = 0
    busy_seconds: float = 0.0
    handed_out: int = 0

    @property
    def per_second(self) -> float:
        """Sounds made per second of rendering (the pool's refill rate)."""
        return self.made / self.busy_seconds if self.busy_seconds > 0 else 0.0


@dataclass
class ExplorePool:
    """Sounds of one model for one workspace, made ahead near ``sliders``."""

    workspace_id: str
    generator_of: Callable[[], object]
    folder: Path
    gate: GenerationGate
    size: int = 48
    seconds: float = 1.0
    sliders: dict = field(default_factory=dict)
    stats: PoolStats = field(default_factory=PoolStats)

    def __post_init__(self) -> None:
        self._ready: deque[Path] = deque()
        self._handed: deque[Path] = deque()
        self._lock = threading.Condition()
        self._thread: threading.Thread | None = None
        self._last_take = time.monotonic()
        self._rng = random.Random()
        self._error = ""
        self._closed = False

    # ---------------------------------------------------------------- the page's side
    def aim(self, sliders: dict[str, float], seconds: float) -> None:
        """Make the next sounds near ``sliders``; sounds made for another position are dropped."""
        with self._lock:
            if sliders != self.sliders or abs(seconds - self.seconds) > 1e-6:
                self.sliders, self.seconds = dict(sliders), float(seconds)
                while self._ready:
                    self._ready.popleft().unlink(missing_ok=True)
            self._last_take = time.monotonic()
            self._start()

    def take(self, count: int, wait: float = 0.0) -> list[Path]:
        """Up to ``count`` sounds never handed out before (waiting up to ``wait`` s for the first one)."""
        deadline = time.monotonic() + wait
        with self._lock:
            self._last_take = time.monotonic()
            self._start()
            while not self._ready and time.monotonic() < deadline and not self._error:
                self._lock.wait(timeout=max(0.0, deadline - time.monotonic()))
            out = [self._ready.popleft() for _ in range(min(count, len(self._ready)))]
            self._handed.extend(out)
            self.stats.handed_out += len(out)
            while len(self._handed) > KEEP_HANDED_OUT:
                self._handed.popleft().unlink(missing_ok=True)
            self._lock.notify_all()  # room again: the thread goes on
            return out

    def stop(self) -> None:
        """Stop making sounds (the thread ends after the sound it is making)."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    def close(self) -> None:
        """``stop``, and wait for the thread to end."""
        self.stop()
        if self._thread is not None:
            self._thread.join(timeout=30)

    @property
    def error(self) -> str:
        return self._error

    def ready(self) -> int:
        with self._lock:
            return len(self._ready)

    # ---------------------------------------------------------------- the thread
    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._error = ""
            self._thread = threading.Thread(target=self._run, name="sda-keys-explore", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._lock:
                while len(self._ready) >= self.size and not self._closed:
                    if time.monotonic() - self._last_take > IDLE_SECONDS:
                        return
                    self._lock.wait(timeout=1.0)
                if self._closed or time.monotonic() - self._last_take > IDLE_SECONDS:
                    return
                sliders, seconds = dict(self.sliders), self.seconds
            try:
                path = self._make_one(sliders, seconds)
            except GenerationBusy:
                time.sleep(0.25)  # the visitor's own sound is being made: take turns
                continue
            except Exception as exc:  # the model cannot make sounds: say so to the page, stop
                with self._lock:
                    self._error = str(exc)
                    self._lock.notify_all()
                return
            with self._lock:
                if sliders == self.sliders and seconds == self.seconds:
                    self._ready.append(path)
                    self._lock.notify_all()
                else:
                    path.unlink(missing_ok=True)

    def _make_one(self, sliders: dict, seconds: float) -> Path:
        generator = self.generator_of()
        seed = self._rng.randrange(2**31 - 1)
        offsets = scatter(generator, self._rng)
        with self.gate.job(self.workspace_id):
            started = time.perf_counter()
            audio = render_at(generator, sliders, seed, offsets, seconds)
            self.folder.mkdir(parents=True, exist_ok=True)
            path = write(self.folder / f"e-{time.time_ns():020d}-{seed:010d}.wav", audio, generator.sample_rate)
            self.stats.busy_seconds += time.perf_counter() - started
            self.stats.made += 1
        return path


class ExplorePools:
    """Every workspace's Explore pool on this server (one per workspace: its current model)."""

    def __init__(self, gate: GenerationGate) -> None:
        self.gate = gate
        self._pools: dict[str, tuple[str, ExplorePool]] = {}
        self._lock = threading.Lock()

    def of(self, workspace_id: str, model_key: str, generator_of: Callable[[], object], folder: Path,
           size: int) -> ExplorePool:
        with self._lock:
            held = self._pools.get(workspace_id)
            if held is None or held[0] != model_key or held[1].size != size:
                if held is not None:
                    held[1].stop()  # the old model's pool stops after its current sound
                pool = ExplorePool(workspace_id, generator_of, folder, self.gate, size=size)
                self._pools[workspace_id] = (model_key, pool)
            return self._pools[workspace_id][1]
