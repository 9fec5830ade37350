"""Benchmark: peak memory of loading a tiny model file that claims the largest network sda accepts.

The file (a few KB) says latent 1024, 512 mel bands, 4096 hidden channels,
time stride 64 (about 575 M parameters, 2.3 GB as float32) but holds one
small tensor. Each measurement runs in a fresh Python process and prints its
peak resident memory (ru_maxrss) and what the loader said:

- "build": what building the claimed network costs (what the loader did
  before it checked the weights' shapes);
- "load": ``load_generator`` as it is now, which refuses the file from the
  tensors' shapes before building anything.

    python scripts/bench_crafted_model.py
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT_MB = 600

_CHILD = r"""
import json, resource, sys
import torch
from sda.generation import GenerationError, load_generator
from sda.models.build import build_vae
mode, path = sys.argv[1], sys.argv[2]
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if mode == "build":
    state = torch.load(path, weights_only=True)
    model = build_vae(state["model_architecture"])
    outcome = f"built {sum(p.numel() for p in model.parameters()) / 1e6:.0f} M parameters"
else:
    try:
        load_generator(path, "cpu")
        outcome = "loaded (it should have been refused)"
    except GenerationError as exc:
        outcome = f"refused: {exc}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"mode": mode, "peak_rss_mb": round(peak), "after_imports_mb": round(baseline), "outcome": outcome}))
"""


def crafted_file(folder: Path) -> Path:
    """A model file of a few KB claiming the largest architecture sda accepts."""
    import torch

    from sda.models.build import ARCHITECTURE_LIMITS

    path = folder / "huge.sdamodel"
    arch = {"type": "ConvVAE1d", **{key: high for key, (_low, high) in ARCHITECTURE_LIMITS.items()}}
    torch.save({"format": "sda-model", "version": 1, "model_architecture": arch,
                "model_state": {"encoder.net.0.weight": torch.zeros(4, 4)}, "spectrogram_config": {},
                "normalization": {}, "analysis": {}, "name": "huge", "model_id": "0" * 16}, path)
    return path


def measure(mode: str, path: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path)], cwd=REPO, capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    if proc.returncode != 0:
        return {"mode": mode, "error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-build", action="store_true", help="do not measure building the claimed network")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="sda-crafted-") as tmp:
        path = crafted_file(Path(tmp))
        print(f"crafted file: {path.stat().st_size / 1024:.1f} KB")
        results = [] if args.skip_build else [measure("build", path)]
        results.append(measure("load", path))
    for result in results:
        print(json.dumps(result))
    load = results[-1]
    ok = "refused" in load.get("outcome", "") and load.get("peak_rss_mb", LIMIT_MB) < LIMIT_MB
    print(f"load refused with peak RSS {load.get('peak_rss_mb')} MB (limit {LIMIT_MB} MB): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
