"""Benchmark: a decode bomb dropped into the running web app, with six good files.

The bomb is a FLAC of 10 minutes of 8-channel 192 kHz audio (mostly quiet, so
it is small on disk; decoded at once as float32 it would take 3.7 GB). The
script starts `python app.py` in a subprocess with a temporary data folder,
sends the bomb and six demo sounds through the app's public API
(`/summarize_dataset`, via gradio_client) and samples the server's resident
memory all the while. It prints the server's peak RSS, what the summary said
about each file, and whether the peak stayed under the budget.

    python scripts/bench_decode_bomb.py                   # server defaults (10 min per file: the take is used)
    python scripts/bench_decode_bomb.py --file-minutes 5  # the take is refused before decoding

Run it alone on a shared machine (flock /tmp/sda-heavy.lock ...).
"""

from __future__ import annotations

import argparse
import os
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file-minutes", type=float, help="SDA_MAX_FILE_MINUTES for the server (default: its own)")
    parser.add_argument("--work", help="folder to keep the bomb in between runs (default: a temporary one)")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

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
            client = Client(url, verbose=False)
            with RssSampler(server.pid) as rss:
                idle = rss.peak
                started = time.time()
                summary = client.predict([handle_file(str(p)) for p in files], api_name="/summarize_dataset")
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
