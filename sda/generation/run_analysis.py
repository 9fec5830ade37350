"""The analysis a model needs, found or made: stored with the run, or recomputed from its sounds."""

from __future__ import annotations

from pathlib import Path

import torch

from sda.audio.validation import DatasetError, decode_dataset
from sda.generation.analysis import Analysis, analyse, load_analysis, save_analysis
from sda.generation.errors import GenerationError
from sda.generation.level import ensure_level
from sda.generation.loader import load_source
from sda.generation.model_source import ModelSource, recorded_files


def analysis_home(source: ModelSource) -> Path | None:
    """Where a model's analysis is stored: its run folder, beside a lone checkpoint, or nowhere.

    Model files hold their own analysis."""
    if source.run_dir is not None:
        return source.run_dir
    return None if source.is_model_file else source.path


def analysis_for(
    source: ModelSource, data: list[Path] | None = None, recompute: bool = False, save: bool = True
) -> Analysis:
    """The model's analysis: its own (model file), the run's stored one, or a fresh one.

    A fresh analysis is made from ``data`` (files or folders) or else from the
    sound files the run recorded, and saved with the run when there is one.
    """
    if not recompute and data is None:
        if source.analysis is not None and source.analysis.model_id == source.model_id:
            ensure_level(source.analysis, source.model, source.spectrogram)  # a model file made before levels
            return source.analysis
        home = analysis_home(source)
        if home is not None:
            stored = load_analysis(home)
            if stored is not None and stored.model_id == source.model_id:
                if ensure_level(stored, source.model, source.spectrogram):  # analysed before levels: once
                    _save_quietly(home, stored)
                source.analysis = stored
                return stored
    files = [Path(p) for p in data] if data else recorded_files(source.run_dir)
    if not files:
        where = (f"the sound files its run recorded in '{source.run_dir}' are gone" if source.run_dir
                 else f"'{source.path}' does not record its training sounds")
        raise GenerationError(f"This model has no axis analysis and {where}. "
                              "Run: python -m sda analyse MODEL --data FOLDER_OF_ITS_SOUNDS")
    try:
        dataset = decode_dataset([str(f) for f in files])
    except DatasetError as exc:
        raise GenerationError(str(exc)) from None
    if not dataset.clips:
        raise GenerationError(
            f"None of the sounds in {', '.join(str(f) for f in files[:3])} could be read, so the model cannot be "
            "analysed."
        )
    spectrogram = source.spectrogram
    with torch.no_grad():
        mels = [spectrogram.waveform_to_mel(torch.from_numpy(clip.audio)) for clip in dataset.clips]
    analysis = analyse(source.model, spectrogram, mels, source.model_id, source_files=len(mels))
    source.analysis = analysis
    if save and analysis_home(source) is not None:
        _save_quietly(analysis_home(source), analysis)
    return analysis


def _save_quietly(home: Path, analysis: Analysis) -> None:
    try:
        save_analysis(home, analysis)
    except OSError:  # a read-only run still generates; it just analyses again next time
        pass


def analyse_finished_run(run_dir: Path, checkpoint: Path, mels: list[torch.Tensor]) -> Analysis:
    """Analyse ``checkpoint`` on ``mels`` (normalised, any device) and store it in ``run_dir``.

    Training calls this when it ends, with the spectrograms it already holds,
    so no file is decoded again; the checkpoint is the one ``load_generator``
    picks for the run.
    """
    source = load_source(checkpoint)
    cpu_mels = [mel.detach().float().cpu() for mel in mels]
    analysis = analyse(source.model, source.spectrogram, cpu_mels, source.model_id, source_files=len(cpu_mels))
    save_analysis(run_dir, analysis)
    return analysis
