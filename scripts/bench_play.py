"""Play tab speed: how fast a sound comes back, and what generating costs a training beside it.

    flock /tmp/sda-heavy.lock .venv/bin/python scripts/bench_play.py [--model RUN_OR_FILE] [--window 30]

Without --model, trains the default model (default settings, 2 epochs) on
the bundled demo sounds first: generation speed depends on the model's size,
not on how well it learned. Then prints one JSON object:

- ``generate_2s_engine_s``: median seconds for ``Generator.generate(seconds=2)``, warm;
- ``generate_2s_page_s``: the same through the Play tab's handler (engine,
  sound and sidecar written, picture drawn: what the page waits for);
- ``training_steps_per_s_alone`` / ``..._with_generation``: a training in
  this process, alone and with a 2-second generation every 2 s beside it
  (as on a server where one person trains while another plays); ``ratio``
  is the second over the first (target: at least 0.8).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sda.server.generators import GeneratorCache  # noqa: E402
from sda.server.settings import AppSettings  # noqa: E402
from sda.server.workspace import Workspace, new_workspace_id  # noqa: E402
from sda.training.config import TrainingConfig  # noqa: E402
from sda.training.loop import train  # noqa: E402
from sda.training.metrics import StepMetrics  # noqa: E402
from sda.ui.play.sounds import SoundHandlers  # noqa: E402
from sda.ui.play.state import AxisView, PlayState  # noqa: E402

DEMO = REPO / "assets" / "demo"


def default_model(root: Path, epochs: int) -> Path:
    run = root / "runs" / "run-bench"
    train(TrainingConfig(max_epochs=epochs), [DEMO], run, "cpu")
    return run


def timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def generation_speed(run: Path, root: Path, repeats: int) -> dict:
    settings = AppSettings(data_root=root / "data")
    workspace = Workspace(settings, new_workspace_id()).ensure()
    target = workspace.runs / run.name
    if not target.exists():
        target.symlink_to(run.resolve(), target_is_directory=True)
    cache = GeneratorCache()
    sounds = SoundHandlers(settings, cache)
    play = PlayState(workspace_id=workspace.id, model_key=run.name)
    entry = sounds._generator(play)[1]
    generator = cache.get(entry)
    play.axes = [AxisView.of(a) for a in generator.axes[:8]]

    def engine():
        generator.generate(seconds=2.0, seed=1)

    def page():
        sounds.make_new(play, 1, 2.0, 0.0, {})

    for _ in range(2):  # warm: first calls allocate and compile
        engine()
        page()
    return {
        "generate_2s_engine_s": round(timed(engine, repeats), 3),
        "generate_2s_page_s": round(timed(page, repeats), 3),
        "play": play,
        "sounds": sounds,
    }


def training_beside_generation(
    root: Path, play: PlayState, sounds: SoundHandlers, window: float, generate: bool
) -> dict:
    """Steps per second of a training in this process over ``window`` s, with or without generations."""
    steps: list[float] = []
    cancel = threading.Event()

    def on_event(event):
        if isinstance(event, StepMetrics):
            steps.append(time.perf_counter())

    config = TrainingConfig(
        max_epochs=100000, preview_interval=100000, preview_interval_short=100000, checkpoint_interval=100000
    )
    trainer = threading.Thread(target=train, args=(config, [DEMO], root / f"train-{time.time_ns()}", "cpu"),
                               kwargs=dict(callback=on_event, cancel_event=cancel), daemon=True)
    trainer.start()
    while len(steps) < 20:  # past decoding, spectrograms and warm-up
        time.sleep(0.2)
    generations = []
    start = time.perf_counter()
    first = len(steps)
    while time.perf_counter() - start < window:
        if generate:
            began = time.perf_counter()
            sounds.make_new(play, len(generations), 2.0, 0.0, {})
            generations.append(time.perf_counter() - began)
            time.sleep(max(0.0, 2.0 - (time.perf_counter() - began)))
        else:
            time.sleep(0.5)
    elapsed = time.perf_counter() - start
    done = len(steps) - first
    cancel.set()
    trainer.join(120)
    out = {"steps_per_s": round(done / elapsed, 3)}
    if generate:
        out["generations"] = len(generations)
        out["generation_s_median"] = round(statistics.median(generations), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a run folder to play (default: train one on the demo sounds)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the model trained when --model is not given")
    parser.add_argument("--window", type=float, default=30.0, help="seconds of training measured in each condition")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sda-bench-play-") as tmp:
        root = Path(tmp)
        run = args.model or default_model(root, args.epochs)
        speed = generation_speed(run, root, args.repeats)
        play, sounds = speed.pop("play"), speed.pop("sounds")
        alone = training_beside_generation(root, play, sounds, args.window, generate=False)
        beside = training_beside_generation(root, play, sounds, args.window, generate=True)
        alone_again = training_beside_generation(root, play, sounds, args.window, generate=False)
        base = (alone["steps_per_s"] + alone_again["steps_per_s"]) / 2
        print(json.dumps({
            **speed,
            "training_steps_per_s_alone": [alone["steps_per_s"], alone_again["steps_per_s"]],
            "training_steps_per_s_with_generation": beside["steps_per_s"],
            "generations_beside_training": beside.get("generations"),
            "generation_beside_training_s_median": beside.get("generation_s_median"),
            "ratio": round(beside["steps_per_s"] / base, 3) if base else None,
        }))


if __name__ == "__main__":
    main()
