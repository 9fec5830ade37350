"""Training speed with the web page open and polling, against the headless CLI.

    .venv/bin/python scripts/bench_page.py [--epochs N] [--data DIR]

Starts `python app.py` (real model, not the test mode) on a free port, opens
the page in headless Chromium, loads the data (default: the bundled demo
sounds) through the page, presses Start and keeps the page open, polling,
until training ends. Then trains the same data with the same preset and
epochs through `python -m sda train`. Prints one JSON line: chunks/s of
each (mean of the epochs' own figures), their ratio, and the seconds from
pressing Start to the first preview player on the page.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]  # web_helpers imports the tests' helpers, which import sda

from playwright.sync_api import sync_playwright  # noqa: E402
from web_helpers import AppServer, launch_browser, open_app, set_advanced, upload_sounds, wait_text  # noqa: E402


def mean_chunks_per_s(run_dir: Path) -> float:
    rates = [e["chunks_per_second"] for e in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
             if e["type"] == "EpochMetrics"]
    return sum(rates[1:]) / max(len(rates) - 1, 1)  # the first epoch includes warm-up


def page_run(data: Path | None, epochs: int, root: Path, close_page: bool = False) -> dict:
    server = AppServer(root / "app", extra_env={"SDA_TEST_TINY": ""}).start()
    try:
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            context, page = open_app(browser, server)
            if data is None:
                page.click("#demo-data-btn")
            else:
                upload_sounds(page, sorted(p for p in data.rglob("*") if p.is_file()))
            wait_text(page, "#dataset-summary", "files", timeout=120)
            set_advanced(page, epochs=epochs)
            started = time.time()
            page.click("#start-btn")
            page.wait_for_selector("#previews audio", timeout=600_000)
            first_preview = time.time() - started
            run_id = re.search(r"run-[0-9-]+", page.inner_text("#status")).group(0)
            if close_page:  # the server trains on alone: separates the browser's cost from the server's
                context.close()
            run_json = next(server.data_root.glob(f"workspaces/*/runs/{run_id}/run.json"))
            while json.loads(run_json.read_text()).get("status") not in ("completed", "failed", "cancelled"):
                time.sleep(1.0)  # the page stays open and polls all along
            preset = json.loads(run_json.read_text())["config"]["preset"]
            if not close_page:
                context.close()
            browser.close()
    finally:
        server.stop()
    return {
        "page_chunks_per_s": mean_chunks_per_s(run_json.parent),
        "first_preview_in_page_s": first_preview,
        "preset": preset,
    }


def cli_run(data: Path, epochs: int, preset: str, root: Path) -> float:
    out = root / "cli-run"
    subprocess.run([sys.executable, "-m", "sda", "train", str(data), "--epochs", str(epochs), "--preset", preset,
                    "--out", str(out)], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return mean_chunks_per_s(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--data", type=Path, help="folder of sounds (default: assets/demo)")
    parser.add_argument("--close-page", action="store_true", help="close the page after Start (server-only cost)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sda-bench-page-") as tmp:
        page = page_run(args.data, args.epochs, Path(tmp), args.close_page)
        cli = cli_run(args.data or REPO / "assets" / "demo", args.epochs, page["preset"], Path(tmp))
    print(json.dumps({**{k: round(v, 2) if isinstance(v, float) else v for k, v in page.items()},
                      "cli_chunks_per_s": round(cli, 1), "page_over_cli": round(page["page_chunks_per_s"] / cli, 3),
                      "epochs": args.epochs, "page_closed_after_start": args.close_page}))


if __name__ == "__main__":
    main()
