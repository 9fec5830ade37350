"""A sample pack: N new sounds of one model in one zip, each with its sidecar, and a list of what made each.

The sliders as set with seeds counting up from ``seed``, or (``randomise``)
random positions inside each axis's safe range. The Play page's "Make the
pack" and ``python -m sda pack`` both make packs here. Sounds are rendered
with the best inversion, one at a time into the zip; the zip is written to a
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
from sda.generation.naming import safe_stem
from sda.generation.output import save_sound

MAX_PACK = 1000


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
    name = name or generator.name
    stem = safe_stem(name)
    rng = random.Random(request.seed)
    lines = [
        f"Sample pack from '{name}': {count} sounds, {request.seconds:g} s each, {export.format.upper()} "
        f"{export.sample_rate} Hz",
        "",
    ]
    archive = Path(archive)
    work = Path(tempfile.mkdtemp(prefix=".pack-", dir=archive.parent if archive.parent.is_dir() else None))
    try:
        with atomic_path(archive) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for index in range(count):
                axes = ({a.key: round(rng.uniform(a.safe_min, a.safe_max), 3) for a in generator.axes}
                        if request.randomise else dict(request.axes))
                sound = generator.generate(seconds=request.seconds, seed=request.seed + index, axes=axes,
                                           evolve=float(request.evolve or 0.0), quality="best")
                audio_path, sidecar = save_sound(sound, work / f"{stem}_{index + 1:02d}.wav", export)
                for path in (Path(audio_path), Path(sidecar)):
                    zf.write(path, path.name)
                    path.unlink()
                lines.append(f"{Path(audio_path).name}: seed {request.seed + index}"
                             + "".join(f", {k} {v:+.2f}" for k, v in axes.items()))
                if progress:
                    progress(index + 1, count)
            zf.writestr("sounds.txt", "\n".join(lines) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return archive
