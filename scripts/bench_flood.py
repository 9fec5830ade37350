"""Benchmark: one client floods a public server with Generate and sample-pack requests; is another still served?

    flock /tmp/sda-heavy.lock .venv/bin/python scripts/bench_flood.py [--model RUN] [--tries 5] [--flood 40]

Trains a model with the CLI (`python -m sda train`, 2 epochs on six
synthetic one-shots) unless --model names a run folder, copies it into two
workspaces, and starts `python app.py` as README says, with SDA_PUBLIC=1
(add --local for SDA_PUBLIC=0, to compare). Then:

- the flooder (workspace A) sends --flood requests to the API's /generate
  (gradio_client) and as many sample packs (8 sounds × 2 s, best quality,
  96 kHz float) through the page's own pack event (raw queue HTTP, in a
  page session bound to workspace A), all at once and again as answers come;
- the other client (workspace B) asks /generate for a 2-second sound
  --tries times, one after the other, and times each answer.

Prints one JSON object: the other client's median and worst answer time
(target: a few seconds), the same without a flood, and how the flood's
requests ended (answered, refused with the per-workspace message, refused
by the full event queue, other errors).

Measured on a 2-core machine (2 Dec 2026, quiet), a 2-epoch default model:
public, --flood 40: the other client's 2-s Generate 1.92 s median, 3.15 s worst
(0.44 s without a flood), with each generation slot on its share of the cores
(2.3-2.8 s median before, in the same session); 400-520 Generates and 39 packs
of the flooder refused at once. --local --flood 10 (earlier): 90 s median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

from bench_decode_bomb import start_server  # noqa: E402

from sda.bench.synth import make_sound_set  # noqa: E402
from sda.server.credentials import browser_token, new_api_key  # noqa: E402
from sda.server.settings import AppSettings  # noqa: E402
from sda.server.workspace import Workspace, new_workspace_id  # noqa: E402

MODEL = "run-bench"


def train_model(root: Path) -> Path:
    """A model trained by the CLI, as a user would (2 epochs: speed depends on size, not on learning)."""
    data = root / "sounds"
    make_sound_set(data, 6, seed=3, sample_rate=48000, stereo_fraction=0.0)
    run = root / MODEL
    subprocess.run([sys.executable, "-m", "sda", "train", str(data), "--epochs", "2", "--out", str(run),
                    "--device", "cpu"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return run


def workspace_with(data_root: Path, run: Path) -> tuple[str, str]:
    """A workspace holding the model: (its browser token, its API key), as the page and a script get them."""
    settings = AppSettings(data_root=data_root)
    workspace = Workspace(settings, new_workspace_id()).ensure()
    shutil.copytree(run, workspace.dir / "runs" / MODEL)
    return browser_token(settings, workspace.id), new_api_key(workspace)


class PageSession:
    """One browser page, spoken to as the page does: queue/join by event index, results over SSE."""

    def __init__(self, url: str) -> None:
        import httpx

        self.url, self.hash = url, uuid.uuid4().hex[:11]
        self.http = httpx.Client(timeout=600)
        self.index = {d.get("api_name"): d.get("id", i) for i, d in enumerate(self.http.get(url + "config").json()
                                                                               ["dependencies"])}

    def join(self, api_name: str, data: list) -> str | None:
        """The event's id, or None when the server refused it at the door (full queue)."""
        body = {"data": data, "fn_index": self.index[api_name], "session_hash": self.hash, "event_data": None,
                "trigger_id": None}
        response = self.http.post(self.url + "gradio_api/queue/join", json=body)
        return response.json()["event_id"] if response.status_code == 200 else None

    def completions(self, event_ids: set[str], timeout: float = 600):
        """Yield the completion message of each event in ``event_ids`` as it arrives."""
        pending = set(event_ids)
        deadline = time.time() + timeout
        while pending and time.time() < deadline:
            with self.http.stream("GET", self.url + "gradio_api/queue/data", params={"session_hash": self.hash}) as s:
                for line in s.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed" and message.get("event_id") in pending:
                        pending.discard(message["event_id"])
                        yield message
                    if not pending or message.get("msg") == "close_stream":
                        break

    def call(self, api_name: str, data: list) -> dict:
        event = self.join(api_name, data)
        return next(self.completions({event}), {}) if event else {}


def pack_data(count: int = 8, seconds: float = 2.0) -> list:
    # state, count, random, seed, duration, evolve, format, rate, depth, normalise, 8 axes
    return [None, count, True, 1, seconds, 0.0, "wav", 96000, "32f", True] + [0.0] * 8


def pack_outcome(message: dict) -> str:
    output = message.get("output") or {}
    if not message.get("success", False):
        return "error"
    note = next((v for v in output.get("data", []) if isinstance(v, str)), "")
    return "refused (one job per workspace)" if "still being made" in note else "answered"


class Flood:
    """Workspace A asking for sounds and packs, over and over, until told to stop."""

    def __init__(self, url: str, workspace: tuple[str, str], size: int) -> None:
        from gradio_client import Client

        self.client = Client(url, verbose=False)
        self.page = PageSession(url)
        token, self.api_key = workspace
        self.page.call("ui_load", [token])  # bind the page session to workspace A
        self.page.call("play_load", [None])
        self.size = size
        self.outcomes: Counter[str] = Counter()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._generates, daemon=True),
                         threading.Thread(target=self._packs, daemon=True)]

    def _generates(self) -> None:
        while not self._stop.is_set():
            jobs = [self.client.submit(self.api_key, MODEL, 2.0, i, None, 0.0, api_name="/generate")
                    for i in range(self.size)]
            for job in jobs:
                try:
                    job.result(timeout=600)
                    self.outcomes["generate answered"] += 1
                except Exception as exc:  # the server's refusal comes back as an AppError
                    text = str(exc)
                    kind = ("refused (one job per workspace)" if "still being made" in text else
                            "refused (event queue full)" if "full" in text.lower() else "error")
                    self.outcomes[f"generate {kind}"] += 1

    def _packs(self) -> None:
        while not self._stop.is_set():
            events = [self.page.join("play_pack", pack_data()) for _ in range(self.size)]
            self.outcomes["pack refused (event queue full)"] += sum(e is None for e in events)
            try:
                for message in self.page.completions({e for e in events if e}):
                    self.outcomes[f"pack {pack_outcome(message)}"] += 1
            except Exception:  # httpx errors: the server stopped at the end of the measure
                return

    def __enter__(self) -> Flood:
        for thread in self._threads:
            thread.start()
        time.sleep(3.0)  # the flood is in the queue before the other client asks
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()


def timed_generates(url: str, workspace: tuple[str, str], tries: int) -> list[float]:
    from gradio_client import Client

    client, api_key = Client(url, verbose=False), workspace[1]
    client.predict(api_key, MODEL, 2.0, 0, None, 0.0, api_name="/generate")  # warm: model loaded
    times = []
    for seed in range(tries):
        started = time.perf_counter()
        client.predict(api_key, MODEL, 2.0, seed + 1, None, 0.0, api_name="/generate")
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a trained run folder (default: train one with the CLI)")
    parser.add_argument("--tries", type=int, default=5, help="timed Generates of the other client (5)")
    parser.add_argument("--flood", type=int, default=40, help="requests of each kind the flooder keeps sending (40)")
    parser.add_argument("--local", action="store_true", help="SDA_PUBLIC=0: the same flood on a local server")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sda-flood-") as tmp:
        root = Path(tmp)
        run = Path(args.model) if args.model else train_model(root)
        data_root = root / "data"
        flooder, other = workspace_with(data_root, run), workspace_with(data_root, run)
        env = {"SDA_PUBLIC": "0" if args.local else "1", "PYTHONUNBUFFERED": "1"}
        env = {k: v for k, v in {**os.environ, **env}.items() if k != "SDA_DATA_ROOT"}
        server, url = start_server(data_root, env)
        try:
            calm = timed_generates(url, other, args.tries)
            with Flood(url, flooder, args.flood) as flood:
                flooded = timed_generates(url, other, args.tries)
                outcomes = dict(flood.outcomes)
        finally:
            server.terminate()
            server.wait(30)
        limits = [line for line in (data_root / "server.log").read_text().splitlines() if "SDA_MAX_EVENT_QUEUE" in line
                  or "SDA_MAX_GENERATIONS_PER_WORKSPACE" in line or line.startswith("sda limits")]
    print(json.dumps({
        "mode": "local" if args.local else "public",
        "other_generate_2s_median_s": round(statistics.median(flooded), 2),
        "other_generate_2s_worst_s": round(max(flooded), 2),
        "other_generate_2s_median_no_flood_s": round(statistics.median(calm), 2),
        "flood_outcomes_while_timed": outcomes,
        "server_limits": [line.strip() for line in limits],
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
