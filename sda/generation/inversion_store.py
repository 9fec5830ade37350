"""A learned inversion on disk: ``inversion.pt`` in a run folder, the ``inversion`` entry of a .sdamodel file.

Both hold the same plain data (architecture numbers, weights, the
spectrogram settings and normalisation it was trained for, and the
measurements that kept it), read with ``torch.load(..., weights_only=True)``
and checked shape by shape before anything is built. A run or model file
without one, or with one trained for other spectrogram settings, uses the
standard inversion.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch

from sda.atomic import atomic_write_bytes
from sda.audio.spectrogram import AudioSpectrogram
from sda.generation.errors import GenerationError
from sda.generation.inverter import Inverter
from sda.generation.model_source import read_plain_file
from sda.models.inversion import InversionArchitectureError, InversionNet, check_inversion_weights

INVERSION_FILE = "inversion.pt"
INVERSION_FORMAT = "sda-inversion"
INVERSION_VERSION = 1


def inversion_state(inverter: Inverter) -> dict | None:
    """The plain data of ``inverter``'s learned inversion (None for the standard one)."""
    if inverter.net is None:
        return None
    spec = inverter.spectrogram
    return {"format": INVERSION_FORMAT, "version": INVERSION_VERSION,
            "architecture": inverter.net.architecture(),
            "weights": {k: v.detach().cpu().clone() for k, v in inverter.net.state_dict().items()},
            "refine_steps": inverter.refine_steps, "spectrogram_key": list(_key(spec)),
            "normalization": spec.normalization_state(), "info": dict(inverter.info)}


def write_inversion(run_dir: Path, inverter: Inverter) -> Path:
    """Store the learned inversion in the run folder (atomically)."""
    buffer = io.BytesIO()
    torch.save(inversion_state(inverter), buffer)
    path = Path(run_dir) / INVERSION_FILE
    atomic_write_bytes(path, buffer.getvalue())
    return path


def remove_inversion(run_dir: Path) -> None:
    (Path(run_dir) / INVERSION_FILE).unlink(missing_ok=True)


def inverter_from_state(state, spectrogram: AudioSpectrogram, path: Path) -> Inverter:
    """A checked Inverter from stored data; the standard one when there is none or it was made for other settings.

    Damage (wrong shapes, non-finite weights, an unknown kind) is refused
    with a GenerationError naming ``path``: nothing is built from it.
    """
    if state is None:
        return Inverter(spectrogram)
    try:
        if not isinstance(state, dict) or state.get("format") != INVERSION_FORMAT:
            raise InversionArchitectureError("its learned inversion is not in a format sda knows")
        if int(state.get("version", 0)) > INVERSION_VERSION:
            raise InversionArchitectureError("its learned inversion was written by a newer version of sda")
        architecture, weights = state.get("architecture"), state.get("weights")
        check_inversion_weights(architecture, weights)  # from shapes alone: nothing is built yet
        refine = state.get("refine_steps", 0)
        if not isinstance(refine, int) or not 0 <= refine <= 16:
            raise InversionArchitectureError("its learned inversion's refinement steps are impossible")
    except (InversionArchitectureError, TypeError, ValueError) as exc:
        raise GenerationError(f"'{path}' cannot be used: {exc}; it is damaged.") from None
    if not _fits(state, spectrogram, architecture):
        return Inverter(spectrogram, info={"note": "its learned inversion was made for other spectrogram settings"})
    net = InversionNet(architecture)
    net.load_state_dict(weights)
    info = state.get("info") if isinstance(state.get("info"), dict) else {}
    return Inverter(spectrogram, net.to(spectrogram.device), refine, info)


def load_run_inversion(run_dir: Path | None, spectrogram: AudioSpectrogram) -> Inverter:
    """The run folder's learned inversion, or the standard one when it has none."""
    path = Path(run_dir) / INVERSION_FILE if run_dir is not None else None
    if path is None or not path.is_file():
        return Inverter(spectrogram)
    return inverter_from_state(read_plain_file(path, "learned inversion"), spectrogram, path)


def _key(spec: AudioSpectrogram) -> tuple:
    return tuple(float(v) if v is not None else -1.0 for v in spec.config.shape_key())


def _fits(state: dict, spec: AudioSpectrogram, architecture: dict) -> bool:
    norm = state.get("normalization") if isinstance(state.get("normalization"), dict) else {}
    try:
        key = tuple(float(v) for v in state.get("spectrogram_key", ()))
        mean, std = float(norm["mean"]), float(norm["std"])
    except (TypeError, ValueError, KeyError):
        return False
    return (key == _key(spec) and math.isclose(mean, spec.mean, abs_tol=1e-4)
            and math.isclose(std, spec.std, abs_tol=1e-4) and architecture["n_mels"] == spec.config.n_mels
            and architecture["n_fft"] == spec.config.n_fft and architecture["hop_length"] == spec.config.hop_length)
