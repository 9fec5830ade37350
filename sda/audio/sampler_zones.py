"""Where each sample of a sampler instrument plays (keys, velocities, round robin, choke group), and the SFZ text.

A `Zone` is one sample's place in the instrument, in the terms every sampler
shares. ``sfz_text`` writes them with the opcodes that every SFZ player reads
(``sample``, ``lokey``/``hikey``/``pitch_keycenter``, ``lovel``/``hivel``,
``seq_length``/``seq_position``, ``group``/``off_by``, ``ampeg_release``),
sample paths relative to the .sfz file. ``sf2.py`` writes the same zones as a
SoundFont.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Zone:
    sample: str  # file name, relative to the instrument file
    lokey: int
    hikey: int
    keycenter: int  # the note at which the sample plays at its own pitch
    lovel: int = 1
    hivel: int = 127
    seq_position: int = 1  # round robin: this sample's turn (1-based) ...
    seq_length: int = 1  # ... out of this many
    choke: int = 0  # a choke group: a note of the group silences the others sounding in it; 0 = none
    release: float = 0.2  # seconds of fade after the key is let go

    def check(self) -> None:
        """ValueError when a number is outside what MIDI or the formats allow."""
        for name in ("lokey", "hikey", "keycenter"):
            if not 0 <= getattr(self, name) <= 127:
                raise ValueError(f"{name} {getattr(self, name)} is outside the MIDI notes 0-127")
        if not (self.lokey <= self.hikey and 1 <= self.lovel <= self.hivel <= 127):
            raise ValueError(f"zone of {self.sample} has an empty key or velocity range")
        if not 1 <= self.seq_position <= self.seq_length:
            raise ValueError(f"zone of {self.sample} has round robin {self.seq_position} of {self.seq_length}")


def sfz_text(zones: list[Zone], title: str) -> str:
    """The .sfz file for ``zones``: one <region> per zone, in a <group> per round-robin length and choke group."""
    lines = [f"// {title}", "// Written by sda. Samples are beside this file.", ""]
    current = None
    for zone in sorted(zones, key=lambda z: (z.seq_length, z.choke, z.lokey, z.lovel, z.seq_position)):
        zone.check()
        heading = (zone.seq_length, zone.choke)
        if heading != current:
            current = heading
            group = [f"seq_length={zone.seq_length}"]
            if zone.choke:
                group += [f"group={zone.choke}", f"off_by={zone.choke}"]
            lines += ["", "<group> " + " ".join(group)]
        lines.append(
            f"<region> sample={zone.sample} lokey={zone.lokey} hikey={zone.hikey} pitch_keycenter={zone.keycenter} "
            f"lovel={zone.lovel} hivel={zone.hivel} seq_position={zone.seq_position} "
            f"ampeg_release={zone.release:g}"
        )
    return "\n".join(lines) + "\n"


def velocity_ranges(layers: int) -> list[tuple[int, int]]:
    """``layers`` velocity ranges covering 1-127, soft to loud, as even as whole numbers allow."""
    edges = [1 + round(i * 127 / layers) for i in range(layers + 1)]
    return [(edges[i], edges[i + 1] - 1) for i in range(layers)]
