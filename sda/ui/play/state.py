"""What the server remembers about one open Play tab (kept in a gr.State).

The workspace id is copied from the Train tab's PageState when the page
loads; after that, Play handlers only trust this server-side copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sda.generation.axes import REACH

MAX_AXES = 8  # sliders on the page; a model's further axes stay at their centre
# Each slider reaches as far past its safe range as the engine honours (layout.PLAY_CSS shades that zone).
SLIDER_MARGIN = REACH


@dataclass(frozen=True)
class AxisView:
    """One slider: an axis of the loaded model, as the engine describes it."""

    key: str
    label: str
    share: float
    safe_min: float
    safe_max: float
    name: str = ""  # "brightness + decay"; the key when empty
    low: str = ""  # the left end in words: "dark, short"
    high: str = ""  # the right end: "bright, long"
    aliases: tuple[str, ...] = ()  # names an earlier analysis gave it (presets saved with them still work)

    @classmethod
    def of(cls, axis) -> AxisView:
        """The slider for an engine ``Axis``."""
        low, high = axis.ends
        return cls(axis.key, axis.label, float(axis.share), float(axis.safe_min), float(axis.safe_max),
                   axis.name, low, high, tuple(axis.aliases))

    def value_in(self, axes: dict) -> float:
        """This axis's value in saved settings {key: value}, found by its key or an old name; 0 when absent."""
        for name in (self.key, *self.aliases):
            if name in axes:
                return float(axes[name])
        return 0.0

    @property
    def slider_range(self) -> tuple[float, float, float]:
        """(minimum, maximum, step): the safe range plus a margin each side, the marked zone
        beyond it still reachable; ends on whole steps so the centre (0) is a slider position."""
        width = max(self.safe_max - self.safe_min, 1e-3)
        step = _nice_step(width * (1 + 2 * SLIDER_MARGIN) / 200)
        low = math.ceil((self.safe_min - SLIDER_MARGIN * width) / step) * step
        high = math.floor((self.safe_max + SLIDER_MARGIN * width) / step) * step
        return round(low, 6), round(high, 6), step

    @property
    def title(self) -> str:
        """"brightness + decay (23 %)": the name and how much of the variety this axis holds."""
        return f"{self.name or self.key} ({self.share * 100:.0f} %)"

    def info(self) -> str:
        """"◀ dark, short · bright, long ▶ · safe range ...": what each end of the slider sounds like."""
        ends = f"◀ {self.low} · {self.high} ▶" if self.low or self.high else self.label
        return f"{ends} · safe range {self.safe_min:+.2f} to {self.safe_max:+.2f}"

    def contains(self, value: float) -> bool:
        return self.safe_min - 1e-9 <= value <= self.safe_max + 1e-9


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``raw``."""
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (5, 2, 1) if m * power <= raw)


@dataclass
class PlayState:
    workspace_id: str
    model_key: str = ""
    axes: list[AxisView] = field(default_factory=list)
    current: str = ""  # history id of the sound in the main player (what Export writes)
    selected: str = ""  # history id of the row last clicked
    history_ids: list[str] = field(default_factory=list)  # ids in the order the table shows them
    delete_pending: str = ""  # model key waiting for the user's confirmation
