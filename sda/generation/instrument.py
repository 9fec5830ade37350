"""Sampler instruments made from a model: a drum kit of pads, or one pitched sound across the keyboard.

Kit: ``pads`` different sounds on consecutive notes from ``root`` (36, the
General MIDI kick) upward, ordered dark to bright. Each pad is a seed and a
position spread over the axes' safe ranges (or a sound the user picked).
Pitched: one sound sampled every ``step`` semitones across ``root`` +- ``span``,
each sample's key centre its note. Along the model's pitch axis where it has
a clear one (each sample then made at the axis position nearest its note and
the last bit of distance closed by resampling), otherwise by resampling alone.

Either way each sample has ``velocity_layers`` layers rendered along the
model's level axis, soft to loud (the axis whose "level" effect is largest in
size in the analysis; the layers are ordered by their measured level), and
``round_robins`` takes per layer: the first as made, the others close
variations of it (``Generator.vary``). Hi-hat-like pads (short,
bright, noisy) share a choke group when ``choke`` is "auto".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sda.audio.sampler_zones import Zone, velocity_ranges
from sda.generation.axes import Axis
from sda.generation.errors import GenerationError
from sda.generation.sample_measures import (
    brightness_hz,
    hold_seconds,
    is_hat_like,
    loudness_db,
    note_name,
    pitch_hz,
    shift_semitones,
    trim_lead,
)

KINDS, CHOKES = ("kit", "pitched"), ("auto", "off")
KIT_ROOT, PITCHED_ROOT = 36, 60
MAX_PADS, MAX_LAYERS, MAX_ROUND_ROBINS = 64, 8, 8
MIN_EFFECT = 0.5  # an axis moves level (or pitch) clearly when its analysis effect is at least this
MIN_LAYER_DB = 1.0  # two velocity layers must differ by at least this much to be told apart
MIN_HOLD_SECONDS = 0.25  # a pitched sound must hold this long to be played as a note
ROUND_ROBIN_AMOUNT = 0.15  # how far a round robin take moves from the first (Generator.vary's amount)
MAX_TAKE_GAIN_DB = 12.0  # a round robin take is brought to its layer's level by at most this much
CHOKE_GROUP = 1


@dataclass
class InstrumentRequest:
    kind: str = "kit"
    pads: int = 16
    velocity_layers: int = 3
    round_robins: int = 2
    root: int | None = None  # kit: the first pad's note (36); pitched: the note the sound is made at (60)
    seconds: float | None = None  # kit 1 s, pitched 2 s
    axes: dict = field(default_factory=dict)  # positions every sound keeps (--set)
    seed: int = 0
    choke: str = "auto"
    step: int = 3  # pitched: semitones between samples
    span: int = 24  # pitched: semitones sampled below and above the root
    sources: list[dict] | None = None  # kit: each pad's {"seed", "axes"} (sounds picked on the page)

    def checked(self) -> InstrumentRequest:
        """The request with its defaults filled in; GenerationError naming the setting at fault."""
        if self.kind not in KINDS:
            raise GenerationError(f"Unknown kind '{self.kind}' (--kind): use kit or pitched.")
        if self.choke not in CHOKES:
            raise GenerationError(f"Unknown choke '{self.choke}' (--choke): use auto or off.")
        if self.sources:
            self.pads = len(self.sources)
        for name, high in (("pads", MAX_PADS), ("velocity_layers", MAX_LAYERS), ("round_robins", MAX_ROUND_ROBINS)):
            if not 1 <= int(getattr(self, name)) <= high:
                raise GenerationError(f"{name.replace('_', ' ').capitalize()} {getattr(self, name)} "
                                      f"(--{name.replace('_', '-')}) must be from 1 to {high}.")
        if self.root is None:
            self.root = KIT_ROOT if self.kind == "kit" else PITCHED_ROOT
        if self.seconds is None:
            self.seconds = 1.0 if self.kind == "kit" else 2.0
        if not 0 <= self.root <= 127:
            raise GenerationError(f"Root note {self.root} (--root) is outside the MIDI notes 0-127.")
        if self.kind == "kit" and self.root + self.pads - 1 > 127:
            raise GenerationError(f"{self.pads} pads from note {self.root} (--pads, --root) run past the highest "
                                  f"MIDI note, 127: use fewer pads or a root of at most {128 - self.pads}.")
        if self.kind == "pitched":
            if not 1 <= self.step <= 12 or not 0 <= self.span <= 60:
                raise GenerationError("Step (--step) must be 1 to 12 semitones and span (--span) 0 to 60.")
            if self.root - self.span < 0 or self.root + self.span > 127:
                raise GenerationError(f"Notes {self.root - self.span} to {self.root + self.span} (--root "
                                      f"{self.root} +- --span {self.span}) run outside the MIDI notes 0-127.")
        return self


@dataclass
class Take:
    """One sample of the instrument: its audio (model rate), where it plays, and how it was made."""

    name: str
    audio: np.ndarray
    zone: Zone
    settings: dict


@dataclass
class Instrument:
    name: str
    kind: str
    takes: list[Take]
    lines: list[str]  # which note plays what, for the readme
    notes: list[str] = field(default_factory=list)  # said to the user


def strongest_axis(axes: list[Axis], effects: dict, descriptor: str, either_way: bool = False) -> Axis | None:
    """The axis that moves ``descriptor`` most in its + direction (or either, with ``either_way``), when it
    clearly does (MIN_EFFECT)."""
    scored = [(float(effects.get(axis.key, {}).get(descriptor, 0.0)), axis) for axis in axes]
    scored = [(abs(value) if either_way else value, axis) for value, axis in scored]
    best = max(scored, key=lambda pair: pair[0], default=(0.0, None))
    return best[1] if best[0] >= MIN_EFFECT else None


class InstrumentMaker:
    def __init__(self, generator, request: InstrumentRequest, progress=None) -> None:
        self.gen = generator
        self.req = request.checked()
        self.rate = generator.sample_rate
        effects = (generator.info.get("analysis") or {}).get("axis_effects") or {}
        # Layers are ordered by their measured level, so the level axis may run either way.
        self.level = strongest_axis(generator.axes, effects, "level", either_way=True)
        self.pitch = strongest_axis(generator.axes, effects, "pitch")
        self.fixed = {generator.axis(k).key: float(v) for k, v in (request.axes or {}).items()}
        self.progress = progress or (lambda done, total: None)
        if self.req.velocity_layers > 1:
            if self.level is None:
                raise GenerationError(f"Velocity layers {self.req.velocity_layers} (--velocity-layers): this model "
                                      "has no axis that clearly changes the level; use --velocity-layers 1.")
            if self.level.key in self.fixed:
                raise GenerationError(f"--set {self.level.key} fixes the level axis the velocity layers move along; "
                                      "leave it out or use --velocity-layers 1.")

    # -- the layers of one sound ------------------------------------------------
    def _positions(self) -> list[float | None]:
        """Where along the level axis candidate layers are made: the safe range, more finely than the layers."""
        layers = self.req.velocity_layers
        if layers == 1:
            return [None]
        return [float(v) for v in np.linspace(self.level.safe_min, self.level.safe_max, max(2 * layers + 1, 7))]

    def _render(self, seed: int, axes: dict, level: float | None, quality: str = "best") -> np.ndarray:
        if level is not None:
            axes = {**axes, self.level.key: level}
        sound = self.gen.generate(self.req.seconds, seed, axes, quality=quality)
        return trim_lead(sound.audio, self.rate)

    def _layers(self, seed: int, axes: dict, first: bool) -> tuple[list[np.ndarray], list[float | None]]:
        """The sound's velocity layers, soft to loud as measured, spread evenly in level over what the level
        axis reaches; the first sound checks that they can be told apart (MIN_LAYER_DB)."""
        count, positions = self.req.velocity_layers, self._positions()
        if count == 1:
            return [self._render(seed, axes, None)], [None]
        # Candidates with the fast inversion to measure; the layers picked are made again with the best one.
        quick = [self._render(seed, axes, position, "fast") for position in positions]
        levels = np.array([loudness_db(audio, self.rate) for audio in quick])
        picked = []
        for target in np.linspace(levels.min(), levels.max(), count):
            free = [i for i in np.argsort(np.abs(levels - target)) if i not in picked]
            picked.append(int(free[0]))
        layers = {i: self._render(seed, axes, positions[i]) for i in picked}
        made = {i: loudness_db(audio, self.rate) for i, audio in layers.items()}
        picked.sort(key=lambda i: made[i])
        steps = np.diff([made[i] for i in picked])
        if first and steps.min() < MIN_LAYER_DB:
            most, last = 1, levels.min()
            for level in np.sort(levels):
                if level - last >= MIN_LAYER_DB:
                    most, last = most + 1, level
            raise GenerationError(
                f"Velocity layers {count} (--velocity-layers): along its level axis '{self.level.key}' this model's "
                f"sound changes by only {np.ptp(levels):.1f} dB in steps that allow at most {most} layers "
                f"{MIN_LAYER_DB:g} dB apart; ask for fewer.")
        return [layers[i] for i in picked], [positions[i] for i in picked]

    def _takes(self, audio: np.ndarray, seed: int) -> list[np.ndarray]:
        count = self.req.round_robins
        if count == 1:
            return [audio]
        varied = self.gen.vary(audio, count - 1, ROUND_ROBIN_AMOUNT, seed, quality="best")
        # Each take at the first one's level: a round robin changes the sound, not how loud the layer is.
        level = loudness_db(audio, self.rate)
        takes = [audio]
        for sound in varied:
            take = trim_lead(sound.audio, self.rate)
            change = np.clip(level - loudness_db(take, self.rate), -MAX_TAKE_GAIN_DB, MAX_TAKE_GAIN_DB)
            takes.append(take * np.float32(10 ** (change / 20)))
        return takes

    # -- kit ----------------------------------------------------------------------
    def _pad_sources(self) -> list[dict]:
        if self.req.sources:
            return [{"seed": int(s.get("seed", 0)), "axes": {**(s.get("axes") or {}), **self.fixed}}
                    for s in self.req.sources]
        rng = np.random.default_rng(self.req.seed)
        free = [a for a in self.gen.axes if a.key not in self.fixed and (self.level is None or a != self.level)]
        count = self.req.pads
        sources = [{"seed": self.req.seed + pad, "axes": {}} for pad in range(count)]
        for axis in free:  # stratified: the safe range cut into `count` slices, one pad in each, shuffled
            slots = rng.permutation(count)
            for pad, source in enumerate(sources):
                low, high = axis.safe_min, axis.safe_max
                source["axes"][axis.key] = round(low + (slots[pad] + rng.uniform()) / count * (high - low), 3)
        for source in sources:
            source["axes"].update(self.fixed)
        return sources

    def kit(self) -> Instrument:
        req, total = self.req, self.req.pads
        pads = []
        for number, source in enumerate(self._pad_sources()):
            layers, _ = self._layers(source["seed"], source["axes"], first=number == 0)
            pads.append((source, [self._takes(audio, source["seed"] * 100 + i) for i, audio in enumerate(layers)]))
            self.progress(number + 1, total)
        pads.sort(key=lambda pad: brightness_hz(pad[1][len(pad[1]) // 2][0], self.rate))
        hats = [is_hat_like(pad[1][len(pad[1]) // 2][0], self.rate) for pad in pads] if req.choke == "auto" else []
        choked = sum(hats) >= 2
        takes, lines = [], []
        for number, (source, layers) in enumerate(pads):
            note = req.root + number
            choke = CHOKE_GROUP if choked and hats[number] else 0
            where = ", ".join(f"{k} {v:+.2f}" for k, v in source["axes"].items())
            lines.append(f"{note_name(note):>4} (note {note}): pad {number + 1}, seed {source['seed']}"
                         + (f", {where}" if where else "") + (" - choke group 1" if choke else ""))
            takes += self._zones(f"pad{number + 1:02d}", layers, note, note, note, choke,
                                 {"pad": number + 1, "seed": source["seed"], "axes": source["axes"]})
        notes = ["The pads on notes " + ", ".join(str(req.root + i) for i, hat in enumerate(hats) if hat)
                 + " sound like hi-hats: they choke each other (group 1)."] if choked else []
        return Instrument(self.gen.name, "kit", takes, lines, notes)

    # -- pitched ------------------------------------------------------------------
    def pitched(self) -> Instrument:
        req = self.req
        notes_at = list(range(req.root - req.span, req.root + req.span + 1, req.step))
        if req.root not in notes_at:
            notes_at = sorted(set(notes_at) | {req.root})
        base, base_levels = self._layers(req.seed, dict(self.fixed), first=True)
        held = hold_seconds(base[len(base) // 2], self.rate)
        if held < MIN_HOLD_SECONDS:
            raise GenerationError(
                f"Kind pitched (--kind): this model's sound fades within {held:.2f} s, too short to hold a note "
                f"(at least {MIN_HOLD_SECONDS:g} s); try a longer --seconds, other --set positions or --kind kit.")
        mapping = self._pitch_map() if self.pitch is not None else None
        method = (f"rendered along the pitch axis '{self.pitch.key}', the rest by resampling" if mapping
                  else "resampled from the root sound")
        takes, lines = [], []
        total = len(notes_at)
        rooted = None if mapping else [self._takes(audio, req.seed * 100 + i) for i, audio in enumerate(base)]
        for number, note in enumerate(notes_at):
            shift = note - req.root
            if mapping:  # each note made near its pitch on the axis, its round robins varied from it
                layers = [self._takes(self._shifted(audio, shift, mapping, level), req.seed * 100 + note)
                          for level, audio in zip(base_levels, base)]
            else:  # the root sound's takes, resampled
                layers = [[trim_lead(shift_semitones(a, self.rate, shift), self.rate) for a in layer]
                          for layer in rooted]
            low = max(0, notes_at[0] - req.step // 2) if number == 0 else note - req.step // 2
            high = notes_at[number + 1] - req.step // 2 - 1 if number < total - 1 else note + (req.step - 1) // 2
            low, high = max(0, min(low, note)), min(127, max(high, note))
            lines.append(f"{note_name(low)}-{note_name(high)} (notes {low}-{high}): sample at {note_name(note)} "
                         f"(note {note})")
            takes += self._zones(note_name(note).replace("#", "s"), layers, low, high, note, 0,
                                 {"note": note, "seed": req.seed, "axes": self.fixed})
            self.progress(number + 1, total)
        return Instrument(self.gen.name, "pitched", takes, lines, [f"Pitched samples {method}."])

    def _pitch_map(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(semitones from the root sound, axis positions) measured along the pitch axis, or None when the
        model's pitch does not rise steadily along it."""
        low, high = self.pitch.reach
        positions = np.linspace(low, high, 9)
        hz = []
        for value in positions:
            sound = self.gen.generate(self.req.seconds, self.req.seed, {**self.fixed, self.pitch.key: float(value)})
            hz.append(pitch_hz(trim_lead(sound.audio, self.rate), self.rate))
        root = pitch_hz(self._render(self.req.seed, dict(self.fixed), None), self.rate)
        if root is None or any(h is None for h in hz):
            return None
        semis = 12 * np.log2(np.array(hz) / root)
        if np.any(np.diff(semis) <= 0) or semis[-1] - semis[0] < self.req.step:
            return None
        return semis, positions

    def _shifted(self, audio: np.ndarray, semitones: int, mapping, level: float | None) -> np.ndarray:
        if mapping is None or semitones == 0:
            return trim_lead(shift_semitones(audio, self.rate, semitones), self.rate)
        semis, positions = mapping
        axes = {**self.fixed, self.pitch.key: float(np.interp(semitones, semis, positions))}
        rendered = self._render(self.req.seed, axes, level)
        made, root = pitch_hz(rendered, self.rate), pitch_hz(audio, self.rate)
        if made is None or root is None:
            return trim_lead(shift_semitones(audio, self.rate, semitones), self.rate)
        rest = semitones - 12 * np.log2(made / root)
        return trim_lead(shift_semitones(rendered, self.rate, rest), self.rate)

    # -- zones ----------------------------------------------------------------------
    def _zones(self, stem: str, layers: list[list[np.ndarray]], low: int, high: int, key: int, choke: int,
               settings: dict) -> list[Take]:
        takes = []
        ranges = velocity_ranges(len(layers))
        for layer, (audios, (lovel, hivel)) in enumerate(zip(layers, ranges)):
            for rr, audio in enumerate(audios):
                name = f"{stem}_v{layer + 1}_rr{rr + 1}.wav"
                zone = Zone(name, low, high, key, lovel, hivel, rr + 1, len(audios), choke, release=0.2)
                values = dict(settings, velocity_layer=layer + 1, round_robin=rr + 1,
                              level_axis=self.level.key if self.level and len(layers) > 1 else None)
                takes.append(Take(name, np.asarray(audio, dtype=np.float32), zone, values))
        return takes


def make_instrument(generator, request: InstrumentRequest, progress=None) -> Instrument:
    """The instrument's samples and zones, rendered (nothing written yet)."""
    maker = InstrumentMaker(generator, request, progress)
    return maker.kit() if maker.req.kind == "kit" else maker.pitched()
