"""The one loader: MODEL is a run folder (its best checkpoint), a checkpoint .pt, or a .sdamodel file.

Every source is read with ``torch.load(..., weights_only=True)`` (nothing in
it can run code) and checked before use by ``model_source.build_model``.
"""

from __future__ import annotations

from pathlib import Path

from sda.generation.errors import GenerationError
from sda.generation.inversion_store import load_run_inversion
from sda.generation.model_file import MODEL_FILE_FORMAT, source_from_model_file
from sda.generation.model_source import HINT, ModelSource, build_model, dataset_summary, read_plain_file
from sda.runs.checkpoints import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, resolve_model_checkpoint
from sda.runs.folder import RUN_FILE, read_run_info


def load_source(model: Path | str) -> ModelSource:
    """Load MODEL: a run folder (its best checkpoint), a checkpoint .pt, or a .sdamodel file."""
    path = Path(model)
    if not path.exists():
        raise GenerationError(f"Model '{path}' does not exist. {HINT}")
    if path.is_file():
        state = read_plain_file(path)
        if state.get("format") == MODEL_FILE_FORMAT:
            return source_from_model_file(state, path)
        if state.get("format") != CHECKPOINT_FORMAT:
            raise GenerationError(f"'{path}' is not an sda model (no sda format marker). {HINT}")
        return _source_from_checkpoint(state, path)
    try:
        checkpoint = resolve_model_checkpoint(path)
    except CheckpointError as exc:
        raise GenerationError(str(exc)) from None
    return _source_from_checkpoint(read_plain_file(checkpoint), checkpoint)


def _source_from_checkpoint(state: dict, path: Path) -> ModelSource:
    if int(state.get("version", 0)) > CHECKPOINT_VERSION:
        raise GenerationError(f"Checkpoint '{path}' was written by a newer version of sda; update sda to load it.")
    model, spectrogram, model_id = build_model(state, path)
    run_dir = path.parent.parent if (path.parent.parent / RUN_FILE).is_file() else None
    run = read_run_info(run_dir) if run_dir else {}
    info = {"epochs": int(state.get("epoch", 0)), "trained_at": run.get("updated_at"), "checkpoint": path.name,
            "val_loss": state.get("val_loss"), "dataset": dataset_summary(run.get("dataset", {})),
            "config": state.get("config", {})}
    name = run_dir.name if run_dir else path.stem
    inverter = load_run_inversion(run_dir, spectrogram)
    return ModelSource(model, spectrogram, model_id, name, path, "", info, None, run_dir, inverter=inverter)
