"""The .sdamodel file: one self-contained file a musician can keep, share and load anywhere.

It holds the weights, spectrogram settings, normalisation, the analysis
(prior and axes), a name and description, a dataset summary (counts, no
paths), training date and epochs, and the learned inversion where the
model has one; no optimizer state. It is plain data
and tensors, so ``torch.load(..., weights_only=True)`` reads it, and it is
checked key by key and shape by shape before anything uses it.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import torch

from sda.atomic import atomic_write_bytes
from sda.generation.analysis import Analysis
from sda.generation.errors import GenerationError
from sda.generation.inversion_store import inversion_state, inverter_from_state
from sda.generation.model_source import ModelSource, build_model
from sda.generation.naming import free_path

MODEL_FILE_FORMAT = "sda-model"
MODEL_FILE_VERSION = 1
MODEL_FILE_SUFFIX = ".sdamodel"

REQUIRED_KEYS = (
    "model_architecture",
    "model_state",
    "spectrogram_config",
    "normalization",
    "analysis",
    "name",
    "model_id",
)


def write_model_file(source: ModelSource, analysis: Analysis, out_path: Path | str, name: str | None = None,
                     description: str | None = None, overwrite: bool = False) -> Path:
    """Write ``source`` with ``analysis`` as one .sdamodel file; return its path.

    The suffix .sdamodel is added when missing. An existing file is kept and
    the new one gets a numbered name unless ``overwrite``.
    """
    out = Path(out_path)
    if out.suffix.lower() != MODEL_FILE_SUFFIX:
        out = out.with_name(out.name + MODEL_FILE_SUFFIX)
    if not overwrite:
        out = free_path(out)
    info = dict(source.info)
    info.pop("config", None)
    payload = {
        "format": MODEL_FILE_FORMAT, "version": MODEL_FILE_VERSION,
        "name": name or source.name, "description": description if description is not None else source.description,
        "model_id": source.model_id, "exported_at": time.time(),
        "model_architecture": source.model.architecture(),
        "model_state": {k: v.detach().cpu().clone() for k, v in source.model.state_dict().items()},
        "spectrogram_config": source.spectrogram.config.to_dict(),
        "normalization": source.spectrogram.normalization_state(),
        "analysis": analysis.state_dict(),
        "info": _plain(info),
    }
    learned = inversion_state(source.inverter)
    if learned is not None:
        payload["inversion"] = learned
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    try:
        atomic_write_bytes(out, buffer.getvalue())
    except OSError as exc:
        raise GenerationError(f"Could not write the model file '{out}' ({exc.strerror or exc}).") from None
    return out


def source_from_model_file(state: dict, path: Path) -> ModelSource:
    """A checked ModelSource from the contents of a .sdamodel file."""
    version = state.get("version")
    if not isinstance(version, int) or version < 1:
        raise GenerationError(f"'{path}' is not a valid sda model file (no format version).")
    if version > MODEL_FILE_VERSION:
        raise GenerationError(f"Model file '{path}' was written by a newer version of sda; update sda to load it.")
    missing = [key for key in REQUIRED_KEYS if key not in state]
    if missing:
        raise GenerationError(f"Model file '{path}' is incomplete: it lacks {', '.join(missing)}.")
    model, spectrogram, model_id = build_model(state, path)
    if model_id != state["model_id"]:
        raise GenerationError(f"Model file '{path}' is damaged: its weights do not match its recorded id.")
    if not isinstance(state["analysis"], dict):
        raise GenerationError(f"Model file '{path}' has no usable axis analysis.")
    analysis = Analysis.from_state(state["analysis"], str(path))
    problem = analysis.prior.check_shapes(model.latent_dim * analysis.window_frames)
    if problem is None and not 1 <= analysis.window_frames <= 4096:
        problem = "its window length is impossible"
    if problem is not None:
        raise GenerationError(f"Model file '{path}' is damaged: {problem}.")
    if analysis.model_id != model_id:
        raise GenerationError(f"Model file '{path}' is damaged: its analysis belongs to other weights.")
    info = state.get("info") if isinstance(state.get("info"), dict) else {}
    inverter = inverter_from_state(state.get("inversion"), spectrogram, path)  # older files have none
    return ModelSource(model, spectrogram, model_id, str(state["name"]), path, str(state.get("description", "")),
                       info, analysis, None, is_model_file=True, inverter=inverter)


def _plain(value):
    """JSON-like data only (what weights_only loading accepts)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
