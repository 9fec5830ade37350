"""Benchmark: does the server's memory come back after each training run?

Drives the web app's own handlers in-process (TrainPage, TrainingManager,
real TrainingRunners), as the page does: the demo sounds become the dataset,
then five runs of the preset's real model train one after another (the
third is cancelled once training is under way). After each run ends the
process's resident memory is printed; the last must be within 150 MB of
the level after the first.

    python scripts/bench_memory_release.py              # 5 runs of 3 epochs
    python scripts/bench_memory_release.py --epochs 5 --runs 6

Run it alone on a shared machine (flock /tmp/sda-heavy.lock ...).
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sda.runs.folder import read_run_info  # noqa: E402
from sda.server.settings import AppSettings  # noqa: E402
from sda.ui.train.config_form import ADVANCED_FIELDS  # noqa: E402
from sda.ui.train.page import TrainPage  # noqa: E402

ALLOWED_GROWTH_MB = 150


def rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1e6


def wait_for_training(run_dir: Path, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while read_run_info(run_dir).get("status") != "training" or read_run_info(run_dir).get("epochs_done", 0) < 1:
        if time.time() > deadline:
            raise SystemExit(f"{run_dir.name} did not start training")
        time.sleep(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--cancel", type=int, default=3, help="which run to cancel once it trains (0: none)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sda-memory-") as tmp:
        train = TrainPage(AppSettings(data_root=Path(tmp)))
        page = train.load(None)["page"]
        train.dataset.use_demo(page, "Auto", None)
        advanced = ["" for _ in ADVANCED_FIELDS]
        advanced[[f.key for f in ADVANCED_FIELDS].index("epochs")] = str(args.epochs)
        print(f"dataset: {page.dataset.file_count} demo sounds; RSS before any run {rss_mb():.0f} MB")

        levels = []
        for number in range(1, args.runs + 1):
            started = time.time()
            out = train.runs.start(page, "Auto", *advanced)
            if out.get("settings_msg"):
                raise SystemExit(out["settings_msg"])
            run_dir = page.view.run_dir
            if number == args.cancel:
                wait_for_training(run_dir)
                train.runs.cancel(page)
            if not train.manager.wait(run_dir, timeout=600):
                raise SystemExit(f"run {number} did not end")
            info = read_run_info(run_dir)
            gc.collect()  # this thread's own garbage; the run released its own memory as it ended
            levels.append(rss_mb())
            print(
                f"run {number}: {info.get('status')}, {info.get('epochs_done')} epochs in "
                f"{time.time() - started:.0f} s; "
                f"RSS after it {levels[-1]:.0f} MB"
            )

    growth = levels[-1] - levels[0]
    ok = growth <= ALLOWED_GROWTH_MB
    print(f"RSS after run {len(levels)} minus after run 1: {growth:+.0f} MB (allowed {ALLOWED_GROWTH_MB} MB): "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
