"""What training calls when it ends: analyse the model it is about to hand over.

The analysis uses the run's best checkpoint (the one ``load_generator``
picks) and the normalised spectrograms training already holds, so no file
is decoded again.
"""

from __future__ import annotations

from pathlib import Path

import torch

from sda.generation.analysis import Analysis, analyse, save_analysis
from sda.generation.model_source import load_source


def analyse_finished_run(run_dir: Path, checkpoint: Path, mels: list[torch.Tensor]) -> Analysis:
    """Analyse ``checkpoint`` on ``mels`` (normalised, any device) and store it in ``run_dir``."""
    source = load_source(checkpoint)
    cpu_mels = [mel.detach().float().cpu() for mel in mels]
    analysis = analyse(source.model, source.spectrogram, cpu_mels, source.model_id, source_files=len(cpu_mels))
    save_analysis(run_dir, analysis)
    return analysis
