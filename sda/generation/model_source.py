"""A loaded model and the checks every source of one passes (see loader.py for where models come from).

Every source is read with ``torch.load(..., weights_only=True)`` (nothing in
it can run code) and checked before use: the architecture must be one sda
builds, the weights must fit it, the spectrogram settings and normalisation
must be sane. Anything else is refused with a sentence naming the file.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch

from sda.audio.spectrogram import AudioSpectrogram, SpectrogramConfig
from sda.generation.analysis import Analysis
from sda.generation.errors import GenerationError
from sda.generation.inverter import Inverter
from sda.models.build import ArchitectureError, build_vae, check_weights
from sda.models.vae import ConvVAE
from sda.runs.folder import dataset_files

HINT = "Give a run folder, a checkpoint .pt or a .sdamodel file."


@dataclass
class ModelSource:
    """A loaded model and everything known about it."""

    model: ConvVAE
    spectrogram: AudioSpectrogram
    model_id: str
    name: str
    path: Path
    description: str = ""
    info: dict = field(default_factory=dict)
    analysis: Analysis | None = None
    run_dir: Path | None = None
    is_model_file: bool = False  # a .sdamodel carries its own analysis
    inverter: Inverter | None = None  # mel -> audio: the learned inversion where the model has one

    def __post_init__(self) -> None:
        if self.inverter is None:
            self.inverter = Inverter(self.spectrogram)


def weights_id(weights: dict[str, torch.Tensor]) -> str:
    """A stable id of the weights: the same weights give the same id on any machine."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        tensor = weights[name].detach().cpu().contiguous()
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.float().numpy().tobytes())
    return digest.hexdigest()[:16]


def read_plain_file(path: Path, what: str = "model") -> dict:
    """torch.load with weights_only; GenerationError for anything unreadable, unsafe or not a dict."""
    try:
        with warnings.catch_warnings():  # torch's notes on foreign pickles would only repeat the refusal
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        detail = f" (it refers to {found.group(1)})" if found else ""
        raise GenerationError(f"'{path}' was refused: it contains objects that are not plain data{detail}, "
                              f"which could run code. Only {what} files written by sda can be loaded.") from None
    except Exception as exc:  # not a torch file, truncated, ...
        raise GenerationError(f"'{path}' could not be read as a {what} ({_first_line(exc)}). {HINT}") from None
    if not isinstance(state, dict):
        raise GenerationError(f"'{path}' is not an sda {what} file (it holds a {type(state).__name__}). {HINT}")
    return state


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:160] if lines else type(exc).__name__


def build_model(state: dict, path: Path) -> tuple[ConvVAE, AudioSpectrogram, str]:
    """The network, spectrogram and weights id a checkpoint or model file describes."""
    weights = state.get("model_state")
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise GenerationError(f"'{path}' holds no model weights.")
    try:
        check_weights(state.get("model_architecture"), weights)  # from shapes alone: nothing is built yet
        model = build_vae(state.get("model_architecture"))
    except ArchitectureError as exc:
        raise GenerationError(f"'{path}' cannot be used: {exc}; it is damaged or not an sda model.") from None
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise GenerationError(
            f"The weights in '{path}' do not fit the model it describes ({_first_line(exc)})."
        ) from None
    if not all(bool(torch.isfinite(v).all()) for v in weights.values() if v.is_floating_point()):
        raise GenerationError(f"The weights in '{path}' contain NaN or infinite values; the file is damaged.")
    model.eval()
    spectrogram = _build_spectrogram(state, path, model.n_mels)
    return model, spectrogram, weights_id(weights)


def _build_spectrogram(state: dict, path: Path, n_mels: int) -> AudioSpectrogram:
    spec, norm = state.get("spectrogram_config"), state.get("normalization")
    if not isinstance(spec, dict) or not isinstance(norm, dict):
        raise GenerationError(f"'{path}' lacks its spectrogram settings or normalisation.")
    try:
        config = SpectrogramConfig.from_dict(spec)
        ok = (
            config.n_mels == n_mels
            and config.sample_rate in (16000, 22050, 24000, 32000, 44100, 48000, 96000)
            and 64 <= config.n_fft <= 16384
            and 16 <= config.hop_length <= config.n_fft
            and config.n_fft % config.hop_length == 0
        )
        mean, std = float(norm["mean"]), float(norm["std"])
        ok = ok and math.isfinite(mean) and math.isfinite(std) and std > 0
    except (TypeError, ValueError, KeyError):
        ok = False
    if not ok:
        raise GenerationError(f"'{path}' has spectrogram settings or normalisation that sda cannot use; it is damaged.")
    spectrogram = AudioSpectrogram(config)
    spectrogram.load_normalization_state({"mean": mean, "std": std})
    return spectrogram


def dataset_summary(dataset: dict) -> dict:
    """Counts and durations from a run's dataset manifest (no paths: model files travel)."""
    files = dataset.get("files", []) if isinstance(dataset, dict) else []
    return {"files": len(files), "train_files": sum(1 for f in files if f.get("split") == "train"),
            "val_files": sum(1 for f in files if f.get("split") == "val"),
            "seconds": round(sum(float(f.get("duration_s", 0.0)) for f in files), 2),
            "skipped": len(dataset.get("issues", [])) if isinstance(dataset, dict) else 0}


def recorded_files(run_dir: Path | None) -> list[Path]:
    """The run's training and validation files that still exist."""
    if run_dir is None:
        return []
    return [Path(f["path"]) for f in dataset_files(run_dir) if Path(f["path"]).is_file()]
