"""Small hostile inputs cost little: a tiny model file claiming a huge network is refused from its
tensor shapes, and a metrics log cut off by a crash is repaired before the next event is appended."""

from __future__ import annotations

import json

import pytest
import torch

from sda.generation import GenerationError, load_generator
from sda.models.build import ARCHITECTURE_LIMITS, expected_weight_shapes
from sda.training.metrics import EpochMetrics, StepMetrics
from sda.training.metrics_log import MetricsLog, read_events

LARGEST = {"type": "ConvVAE1d", **{key: high for key, (low, high) in ARCHITECTURE_LIMITS.items()}}


def _claims_the_largest_network(path, fmt: str) -> None:
    state = {"format": fmt, "version": 1, "model_architecture": dict(LARGEST),
             "model_state": {"encoder.net.0.weight": torch.zeros(4, 4)}, "spectrogram_config": {},
             "normalization": {}, "analysis": {}, "name": "huge", "model_id": "0" * 16}
    torch.save(state, path)


@pytest.mark.parametrize("name, fmt", [("huge.sdamodel", "sda-model"), ("huge.pt", "sda-checkpoint")])
def test_a_tiny_file_claiming_the_largest_network_is_refused_without_building_it(tmp_path, monkeypatch, name, fmt):
    path = tmp_path / name
    _claims_the_largest_network(path, fmt)
    assert path.stat().st_size < 10_000
    built = []
    monkeypatch.setattr("sda.models.build.ConvVAE.__init__", _recording_init(built))
    with pytest.raises(GenerationError) as info:
        load_generator(path, "cpu")
    assert name in str(info.value) and "do not fit" in str(info.value)
    assert built == ["meta"], built  # only the shape check's model, which allocates nothing


def _recording_init(built: list):
    from sda.models.vae import ConvVAE

    original = ConvVAE.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        built.append(next(self.parameters()).device.type)

    return init


def test_the_shape_check_knows_the_largest_network_without_allocating_it():
    shapes = expected_weight_shapes(LARGEST)
    count = sum(torch.Size(shape).numel() for shape in shapes.values())
    assert count > 500_000_000  # what a loader would have had to build before this check


def test_an_event_appended_after_a_crash_mid_line_is_not_lost(tmp_path):
    log = MetricsLog(tmp_path)
    log.append(StepMetrics(epoch=0, step=1, total_steps=10, train_loss=1.0, recon_loss=1.0, kl_loss=0.0,
                           kl_weight=0.0, learning_rate=1e-3, step_time=0.1))
    log.close()
    with open(tmp_path / "metrics.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"type": "StepMetrics", "step": 2, "ep')  # the process died here
    resumed = MetricsLog(tmp_path)
    resumed.append(EpochMetrics(epoch=1, total_epochs=2, train_loss=0.9, val_loss=1.1, val_recon_loss=1.0,
                                val_kl_loss=0.1, kl_divergence=0.1, overfitting_gap=0.2, learning_rate=1e-3,
                                eta_seconds=1.0, elapsed_seconds=1.0))
    resumed.close()
    events, _ = read_events(tmp_path)
    assert [type(e).__name__ for e in events] == ["StepMetrics", "EpochMetrics"]
    lines = (tmp_path / "metrics.jsonl").read_text("utf-8").splitlines()
    assert all(json.loads(line) for line in lines)
