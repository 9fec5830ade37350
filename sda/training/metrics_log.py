"""metrics.jsonl: every training event of a run, one JSON object per line, only ever appended.

A crash loses at most the line being written; readers skip a torn last line
until it is complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sda.runs.folder import METRICS_FILE
from sda.training.metrics import event_from_dict, event_to_dict


class MetricsLog:
    """Appends events to metrics.jsonl, one JSON object per line."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_last_line(self.path)
        self._handle = open(self.path, "a", encoding="utf-8")

    def append(self, event: Any) -> None:
        self._handle.write(json.dumps(event_to_dict(event, self.path.parent)) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def _drop_torn_last_line(path: Path) -> None:
    """Cut a last line that a crash left without its newline, so the next event starts a line of its own.

    Appended to as it is, the fragment and the next event would make one
    unreadable line, and that event would be lost to every reader.
    """
    try:
        with open(path, "rb+") as handle:
            size = handle.seek(0, 2)
            if size == 0:
                return
            handle.seek(size - 1)
            if handle.read(1) == b"\n":
                return
            block = min(size, 1 << 20)  # an event line is far shorter than this
            handle.seek(size - block)
            tail = handle.read(block)
            cut = tail.rfind(b"\n")
            handle.truncate(size - block + cut + 1 if cut >= 0 else (0 if block == size else size))
    except FileNotFoundError:
        return


def read_events(run_dir: Path, start: int = 0) -> tuple[list[Any], int]:
    """Events in metrics.jsonl from byte offset ``start`` on, and the offset to read from next.

    Reading seeks straight to ``start``, so polling a long run costs only the
    new lines. A torn last line (from a crash mid-write) is left to be read
    again once it is complete.
    """
    path = Path(run_dir) / METRICS_FILE
    events: list[Any] = []
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            data = handle.read()
    except FileNotFoundError:
        return events, start
    complete = data.rfind(b"\n") + 1
    for line in data[:complete].splitlines():
        try:
            event = event_from_dict(json.loads(line), Path(run_dir))
        except (ValueError, TypeError):
            continue
        if event is not None:
            events.append(event)
    return events, start + complete
