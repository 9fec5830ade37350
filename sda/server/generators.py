"""Loaded generators, shared by every page of the server, and the generation queue's manners.

Loading a model costs far more than one generation, so the last few models
used stay loaded. A run that trains on keeps writing better checkpoints: the
key includes the weights file's name and time, so the newest best model is
what plays.

Generation runs beside training on the same cores, at most
``GENERATION_CONCURRENCY`` at once (generation_gate.py; the rest wait). A
2-second sound costs a few hundredths of a second of model time, so a
training beside a generation every 2 s keeps about 95 % of its speed
(scripts/bench_play.py); no further throttling is needed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from sda.server.models_store import ModelEntry

CACHE_SIZE = 4
GENERATION_CONCURRENCY = 2  # generations at once on this server (the rest wait in the queue)
# Jobs Gradio's "generation" queue lets reach the GenerationGate at once: the gate refuses a workspace's
# second job there, at once, instead of after a wait in Gradio's line.
GENERATION_ADMITTED = 16


def _load(path: Path):
    from sda.generation import load_generator

    return load_generator(path)


class GeneratorCache:
    """The last ``size`` generators used, keyed by their weights file."""

    def __init__(self, size: int = CACHE_SIZE, loader: Callable[[Path], object] = _load) -> None:
        self.size = size
        self._loader = loader
        self._items: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple, threading.Lock] = {}

    def get(self, entry: ModelEntry):
        """The generator of ``entry``, loaded once (two pages asking at once load it once)."""
        weights = entry.weights_path()
        if weights is None:
            raise ValueError(f"The model '{entry.name}' has no weights on disk any more. Pick another one.")
        stat = weights.stat()
        key = (str(entry.source), str(weights), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            generator = self._loader(entry.source)
            with self._lock:
                self._items[key] = generator
                self._loading.pop(key, None)
                # Older weights of the same model are never asked for again.
                for old in [k for k in self._items if k[0] == key[0] and k != key]:
                    del self._items[old]
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return generator
