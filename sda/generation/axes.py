"""Named axes: the main directions the model's sounds vary in, and how a user refers to them.

An axis is one principal component of the training sounds' latents, oriented
so that + means more of the audio descriptor it moves most ("brightness":
+ is brighter). Positions are in standard deviations of the training sounds
along it, 0 being their centre; the safe range is where they lie. Values a
little beyond it are honoured (a musician may want a sound past anything they
gave), up to ``REACH`` of the safe width beyond either end; past that the
decoder only makes noise, so values are clamped there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from sda.generation.errors import GenerationError

REACH = 0.5  # how far past each end of the safe range values are honoured, as a share of its width


@dataclass(frozen=True)
class Axis:
    index: int  # 1-based, as users count ("--set 2=-1.5")
    key: str  # "brightness", "brightness+decay", or "axis3" where no descriptor moves
    label: str  # "bright, long / dark, short": the + end first
    share: float  # of the training latents' variance, 0..1
    safe_min: float
    safe_max: float
    title: str = ""  # "brightness + decay": the key as a page shows it
    low: str = ""  # "dark, short": the - end in plain words
    high: str = ""  # "bright, long": the + end
    aliases: tuple[str, ...] = ()  # names it had before ("level2", "axis5"), still accepted

    def to_dict(self) -> dict:
        data = asdict(self)
        data["aliases"] = list(self.aliases)
        return data

    @property
    def name(self) -> str:
        """How a page names it: its title, or its key (an axis analysed before titles)."""
        return self.title or self.key

    @property
    def ends(self) -> tuple[str, str]:
        """(the - end, the + end) in words; an older analysis's "louder / softer" label split."""
        if self.low or self.high:
            return self.low, self.high
        high, _, low = self.label.partition(" / ")
        return (low or "less", high or "more")

    def answers_to(self, text: str) -> bool:
        """Whether ``text`` names this axis: its number, key, title or an old name (spaces and case aside)."""
        wanted = _plain(text)
        return wanted == str(self.index) or wanted in {_plain(n) for n in (self.key, self.title, *self.aliases) if n}

    @property
    def reach(self) -> tuple[float, float]:
        """(lowest, highest) value honoured: the safe range and ``REACH`` of its width each side."""
        margin = REACH * max(self.safe_max - self.safe_min, 0.0)
        return self.safe_min - margin, self.safe_max + margin

    @classmethod
    def from_dict(cls, data: dict) -> Axis:
        return cls(int(data["index"]), str(data["key"]), str(data["label"]), float(data["share"]),
                   float(data["safe_min"]), float(data["safe_max"]), str(data.get("title", "")),
                   str(data.get("low", "")), str(data.get("high", "")),
                   tuple(str(a) for a in data.get("aliases", ()) or ()))


def _plain(text: str) -> str:
    """'Brightness + Decay' -> 'brightness+decay': how names are compared."""
    return "".join(str(text).lower().split()).replace(",", "+").replace("&", "+")


def describe_axes(axes: list[Axis]) -> str:
    """'level (1), brightness+decay (2), axis3 (3)': the names a user may give."""
    return ", ".join(f"{axis.key} ({axis.index})" for axis in axes)


def find_axis(axes: list[Axis], name: int | str) -> Axis:
    """The axis called ``name``: its key ("brightness+decay", "axis3"), its number (2 or "2"), or the
    name an earlier analysis gave it ("level2"); a key or number wins over an old name."""
    text = _plain(name)
    for axis in axes:
        if text in (_plain(axis.key), str(axis.index)):
            return axis
    for axis in axes:
        if axis.answers_to(text):
            return axis
    valid = describe_axes(axes) if axes else "none (this model has no axes)"
    raise GenerationError(f"Unknown axis '{name}'. Valid axes: {valid}.")


def resolve_axes(axes: list[Axis], values: dict[int | str, float] | None) -> tuple[dict[str, float], list[str]]:
    """User axis settings -> ({key: value within reach}, notes on values outside the safe range or clamped)."""
    resolved: dict[str, float] = {}
    notes: list[str] = []
    for name, raw in (values or {}).items():
        axis = find_axis(axes, name)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise GenerationError(f"Axis '{axis.key}' was given {raw!r}; give a number such as 0.8 or -1.5.") from None
        if not math.isfinite(value):
            raise GenerationError(f"Axis '{axis.key}' was given {raw!r}; give a finite number.")
        low, high = axis.reach
        clamped = min(max(value, low), high)
        if clamped != value:
            notes.append(
                f"Axis '{axis.key}' value {value:g} is too far outside its safe range "
                f"{axis.safe_min:g}..{axis.safe_max:g}; used {clamped:g}, as far as it goes ({low:g}..{high:g})."
            )
        elif not axis.safe_min <= value <= axis.safe_max:
            notes.append(
                f"Axis '{axis.key}' at {value:g} is outside its safe range {axis.safe_min:g}..{axis.safe_max:g}: "
                "past where your sounds lie, so it may sound less like them."
            )
        resolved[axis.key] = round(clamped, 6)
    return resolved, notes


def parse_setting(text: str) -> tuple[str, float]:
    """'brightness=0.8' or '2=-1.5' -> (name, value); GenerationError naming the setting otherwise."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise GenerationError(f"--set '{text}' is not AXIS=VALUE (for example brightness=0.8 or 2=-1.5).")
    try:
        number = float(value)
    except ValueError:
        raise GenerationError(f"--set '{text}': '{value}' is not a number.") from None
    if not math.isfinite(number):
        raise GenerationError(f"--set '{text}': give a finite number.")
    return name.strip(), number
