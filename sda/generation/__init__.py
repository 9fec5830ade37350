"""Using a trained model: new sounds from a data prior, named axes, variations, morphs, model files.

    gen = load_generator("runs/my-run")        # run folder, checkpoint .pt or .sdamodel file
    sound = gen.generate(seconds=2.0, seed=3, axes={"brightness": 1.0})
    save_sound(sound, Path("out/kick.wav"))    # audio plus a JSON sidecar

Nothing here imports the training loop or prints.
"""

from __future__ import annotations

from pathlib import Path

from sda.generation.analysis import Analysis
from sda.generation.axes import Axis
from sda.generation.errors import GenerationError
from sda.generation.generator import Generator, Sound
from sda.generation.loader import load_source
from sda.generation.model_file import write_model_file
from sda.generation.output import export_settings, save_sound
from sda.generation.run_analysis import analysis_for
from sda.runs.device import DeviceError, resolve_device

__all__ = ["load_generator", "Generator", "Axis", "Sound", "GenerationError", "save_sound", "export_model_file",
           "export_settings"]


def load_generator(model: Path | str, device: str = "auto") -> Generator:
    """A Generator for MODEL: a run folder (its best checkpoint), a checkpoint .pt, or a .sdamodel file.

    A run without a stored analysis (or with one for other weights) is
    analysed from its recorded sound files, and the result is stored with it.
    """
    try:
        torch_device = resolve_device(device)
    except DeviceError as exc:
        raise GenerationError(str(exc)) from None
    source = load_source(model)
    return Generator(source, analysis_for(source), torch_device)


def export_model_file(model: Path | str, out_path: Path | str, name: str | None = None, description: str | None = None,
                      overwrite: bool = False, analysis: Analysis | None = None) -> Path:
    """Write MODEL (a run, checkpoint or model file) as one .sdamodel file; return its path.

    The suffix .sdamodel is added when missing. An existing file is kept and
    the new one gets a numbered name unless ``overwrite``. ``analysis``
    replaces the model's own (after ``python -m sda analyse``).
    """
    source = load_source(model)
    return write_model_file(source, analysis or analysis_for(source), out_path, name, description, overwrite)
