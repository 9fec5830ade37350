"""A sample pack: N new sounds of one model in one zip, each with its sidecar, and a list of what made each.

The sliders as set with seeds counting up from ``seed``, or (``randomise``)
random positions inside each axis's safe range. The Play page's "Make the
pack" and ``python -m sda pack`` both make packs here. Sounds are rendered
with the best inversion, all of them first: the pack takes one gain
(``level.shared_gain_db``: the model's, or with ``normalise`` its loudest
sound at -1 dBFS), so their levels compare as made. The zip is written to a
temp file beside its target and renamed at the end, so a failure leaves
nothing half-written.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sda.atomic import atomic_path
from sda.audio.export import ExportSettings
from sda.generation.errors import GenerationError
from sda.generation.level import shared_gain_db
from sda.generation.naming import safe_stem
from sda.generation.output import save_sound

MAX_PACK = 1000
MAX_PACK_SECONDS = 3600.0  # every sound is held until the pack's gain is known: about 700 MB at most


@dataclass
class PackRequest:
    count: int = 8
    seconds: float = 2.0
    seed: int = 0
    evolve: float = 0.0
    axes: dict = field(default_factory=dict)  # positions every sound keeps (ignored where randomise moves them)
    randomise: bool = False


def make_pack(generator, archive: Path, request: PackRequest, export: ExportSettings, name: str | None = None,
              progress=None) -> Path:
    """Write the pack of ``request`` to ``archive``; return its path. ``progress(done, total)`` after each sound."""
    count = int(request.count)
    if not 1 <= count <= MAX_PACK:
        raise GenerationError(f"Count {request.count} (--count) must be from 1 to {MAX_PACK}.")
    if count * float(request.seconds) > MAX_PACK_SECONDS:
        raise GenerationError(f"{count} sounds of {request.seconds:g} s (--count, --seconds) pass the "
                              f"{MAX_PACK_SECONDS:g} s one pack holds; make fewer or shorter sounds.")
    name = name or generator.name
    stem = safe_stem(name)
    rng = random.Random(request.seed)
    made = []  # every sound first: the pack's one gain depends on its loudest
    for index in range(count):
        axes = ({a.key: round(rng.uniform(a.safe_min, a.safe_max), 3) for a in generator.axes}
                if request.randomise else dict(request.axes))
        made.append((axes, generator.generate(seconds=request.seconds, seed=request.seed + index, axes=axes,
                                              evolve=float(request.evolve or 0.0), quality="best")))
        if progress:
            progress(index + 1, count)
    gain = shared_gain_db([sound.audio for _, sound in made], export.format, generator.level_gain_db,
                          normalise=export.normalise)
    rule = "pack normalised together" if export.normalise else "pack at the model's level"
    lines = [
        f"Sample pack from '{name}': {count} sounds, {request.seconds:g} s each, {export.format.upper()} "
        f"{export.sample_rate} Hz",
        f"Level: one gain for every sound ({gain:+.2f} dB, {rule}), so their levels compare as made.",
        "",
    ]
    archive = Path(archive)
    work = Path(tempfile.mkdtemp(prefix=".pack-", dir=archive.parent if archive.parent.is_dir() else None))
    try:
        with atomic_path(archive) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for index, (axes, sound) in enumerate(made):
                audio_path, sidecar = save_sound(sound, work / f"{stem}_{index + 1:02d}.wav", export,
                                                 gain_db=gain, rule=rule)
                for path in (Path(audio_path), Path(sidecar)):
                    zf.write(path, path.name)
                    path.unlink()
                lines.append(f"{Path(audio_path).name}: seed {request.seed + index}"
                             + "".join(f", {k} {v:+.2f}" for k, v in axes.items()))
            zf.writestr("sounds.txt", "\n".join(lines) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return archive
