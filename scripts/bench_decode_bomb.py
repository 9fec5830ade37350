"""Benchmark: a decode bomb dropped into the running web app, with six good files.

The bomb is a FLAC of 10 minutes of 8-channel 192 kHz audio (mostly quiet, so
it is small on disk; decoded at once as float32 it would take 3.7 GB). The
script starts `python app.py` in a subprocess with a temporary data folder,
sends the bomb and six demo sounds through the app's public API
(`/summarize_dataset`, within a page session opened as a browser does: the
page's load, then the call, over Gradio's queue) and samples the server's resident
memory all the while. It prints the server's peak RSS, what the summary said
about each file, and whether the peak stayed under the budget.

    python scripts/bench_decode_bomb.py                   # server defaults (10 min per file: the take is used)
    python scripts/bench_decode_bomb.py --file-minutes 5  # the take is refused before decoding

Run it alone on a shared machine (flock /tmp/sda-heavy.lock ...).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"
BUDGET_MB = 1500


def write_bomb(path: Path, minutes: float = 10.0, channels: int = 8, sample_rate: int = 192000) -> Path:
    """A long, wide, mostly silent FLAC: a short decaying tone every 20 s, silence between."""
    second = np.arange(sample_rate) / sample_rate
    ping = (0.3 * np.sin(2 * np.pi * 440 * second) * np.exp(-second * 6) * 32767).astype(np.int16)
    loud = np.repeat(ping[:, None], channels, axis=1)
    quiet = np.zeros((sample_rate, channels), dtype=np.int16)
    with sf.SoundFile(path, "w", sample_rate, channels, "PCM_16", format="FLAC") as out:
        for index in range(int(minutes * 60)):
            out.write(loud if index % 20 == 0 else quiet)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RssSampler:
    """Resident memory of a process and its children, sampled every 20 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        total = 0
        for proc in [self.process, *self.process.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self.peak = self.now()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def start_server(data_root: Path, extra_env: dict) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "SDA_DATA_ROOT": str(data_root), "GRADIO_SERVER_PORT": str(port),
           "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_ANALYTICS_ENABLED": "False", **extra_env}
    log = open(data_root / "server.log", "ab")
    server = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    while time.time() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"app.py exited early; see {data_root / 'server.log'}")
        try:
            with urllib.request.urlopen(url + "config", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("app.py did not answer within 120 s")


class PageSession:
    """One page of the app as a browser holds it: the page's load, then calls within the same session.

    The summary API is refused without a page session, and gradio_client
    cannot run the (private) load event; this speaks Gradio's queue protocol
    directly, as the page's own script does.
    """

    def __init__(self, url: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=url.rstrip("/") + "/gradio_api", timeout=600)
        config = httpx.get(url.rstrip("/") + "/config", timeout=30).json()
        self.fn_index = {d.get("api_name"): d["id"] for d in config["dependencies"] if d.get("api_name")}
        self.session_hash = secrets.token_hex(6)
        self.call("ui_load", [""])  # a new visitor: the server makes its workspace and the page state

    def upload(self, paths: list[Path]) -> list[dict]:
        """The files as Gradio's file values, uploaded first as the browser does."""
        files = [("files", (p.name, p.read_bytes())) for p in paths]
        stored = self.http.post("/upload", files=files).raise_for_status().json()
        return [{"path": s, "orig_name": p.name, "meta": {"_type": "gradio.FileData"}} for s, p in zip(stored, paths)]

    def call(self, api_name: str, data: list) -> list:
        """Run the event named ``api_name`` in this session; its output values (RuntimeError on an error)."""
        body = {"data": data, "fn_index": self.fn_index[api_name], "session_hash": self.session_hash,
                "event_data": None, "trigger_id": None}
        event_id = self.http.post("/queue/join", json=body).raise_for_status().json()["event_id"]
        with self.http.stream("GET", "/queue/data", params={"session_hash": self.session_hash}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("event_id") == event_id and message.get("msg") == "process_completed":
                    if not message.get("success"):
                        raise RuntimeError(f"{api_name}: {message.get('output', {}).get('error')}")
                    return message["output"]["data"]
        raise RuntimeError(f"{api_name}: the server closed the stream without an answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file-minutes", type=float, help="SDA_MAX_FILE_MINUTES for the server (default: its own)")
    parser.add_argument("--work", help="folder to keep the bomb in between runs (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sda-bomb-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        bomb = work / "long_take.flac"
        if not bomb.exists():
            started = time.time()
            write_bomb(bomb)
            print(f"wrote {bomb.name} in {time.time() - started:.0f} s")
        info = sf.info(str(bomb))
        decoded_gb = info.frames * info.channels * 4 / 1e9
        print(
            f"bomb: {bomb.stat().st_size / 1e6:.1f} MB on disk, {info.duration / 60:.1f} min, {info.channels} ch, "
            f"{info.samplerate} Hz = {decoded_gb:.2f} GB as float32; {info.duration * 48000 * 4 / 1e6:.0f} MB as "
            "mono 48 kHz"
        )
        good = sorted(DEMO.glob("*.ogg"))[:6]
        files = [bomb, *good]

        data_root = Path(tmp) / "data"
        data_root.mkdir()
        env = {} if args.file_minutes is None else {"SDA_MAX_FILE_MINUTES": f"{args.file_minutes:g}"}
        server, url = start_server(data_root, env)
        try:
            page = PageSession(url)
            uploaded = page.upload(files)
            with RssSampler(server.pid) as rss:
                idle = rss.peak
                started = time.time()
                [summary] = page.call("summarize_dataset", [uploaded, None])
                took = time.time() - started
                time.sleep(0.5)
            settled = rss.now()
        finally:
            server.terminate()
            server.wait(timeout=30)

    refused = {i["file"]: i["reason"] for i in summary["issues"]}
    print(f"server RSS: idle {idle / 1e6:.0f} MB, peak {rss.peak / 1e6:.0f} MB, after {settled / 1e6:.0f} MB "
          f"(summary of {len(files)} files took {took:.1f} s)")
    print(f"usable: {summary['file_count']} files, {summary['total_duration_s']:.1f} s of audio; "
          f"formats {summary['formats']}, channels {summary['channels']}")
    good_used = summary["file_count"] - (0 if bomb.name in refused else 1)
    print(f"good files usable: {good_used} of {len(good)}")
    if bomb.name in refused:
        print(f"{bomb.name} left out: {refused[bomb.name]}")
    else:
        print(f"{bomb.name} used")
    ok = rss.peak < BUDGET_MB * 1e6 and good_used == len(good)
    print(f"peak RSS {rss.peak / 1e6:.0f} MB {'<' if rss.peak < BUDGET_MB * 1e6 else '>='} {BUDGET_MB} MB budget: "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
