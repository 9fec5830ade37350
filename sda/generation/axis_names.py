"""Names for a model's axes, from what each one moves most and second most.

The analysis probes every axis and measures how far each audio descriptor
moves along it (``effect``, in training-set spreads, + meaning more) and how
often it moves the same way from different starting points (``agreement``).
From that each axis gets:

- a key made of the descriptor it moves most, and the second one where that
  one moves too ("level", "brightness+decay"), distinct from every other
  axis's key;
- plain words for each end of its slider ("soft" / "loud", "dark, short" /
  "bright, long"), + being more of the first descriptor;
- a rank: axes that clearly move something come first, the clearest first
  (much of the variety, and a main effect that is most of what it moves);
  one that only repeats an earlier axis (the same descriptor, nothing else
  measurable) is merged into it: it is no slider of its own;
- the name the previous naming gave it ("level2", "axis5"), kept as an alias
  so settings and scripts written for it still work.

An axis is called "axisN" only when no descriptor moves measurably along it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sda.generation.descriptors import NAMES

# descriptor -> (its low end, its high end), in a musician's words
WORDS: dict[str, tuple[str, str]] = {
    "level": ("soft", "loud"),
    "brightness": ("dark", "bright"),
    "noisiness": ("tonal", "noisy"),
    "attack": ("slow attack", "sharp attack"),
    "decay": ("short", "long"),
    "pitch": ("low", "high"),
}
MEASURABLE = 0.15  # a descriptor change (training spreads) that counts as moving it at all
SECOND_SHARE = 0.5  # a second descriptor joins the name when it moves at least this share of the first
MIN_AGREEMENT = 0.75  # share of starting points where a descriptor moves the same way: a name that holds
DOUBTFUL = 0.5  # weight of a descriptor's effect when it does not hold from most starting points
# The previous naming's rule, kept only to give each axis its old name as an alias.
LEGACY_MIN_EFFECT, LEGACY_NAME_SHARE = 0.25, 0.6


@dataclass
class AxisName:
    component: int  # which of the analysed components (0-based, in the prior's original order)
    key: str  # "brightness+decay"
    title: str  # "brightness + decay"
    low: str  # "dark, short"
    high: str  # "bright, long"
    flip: bool  # True: the component's direction is reversed so that + is more of the first descriptor
    aliases: tuple[str, ...] = ()
    descriptors: tuple[int, ...] = field(default_factory=tuple)  # what it moves most, second most

    @property
    def label(self) -> str:
        """"bright, long / dark, short": the + end first, as axis labels always read."""
        return f"{self.high} / {self.low}"


def name_axes(effect: np.ndarray, agreement: np.ndarray,
              shares: np.ndarray | None = None) -> tuple[list[AxisName], dict[str, str]]:
    """Names for axes whose probed ``effect`` and ``agreement`` are (axes, descriptors) arrays.

    ``shares`` (each axis's share of the variation) weigh how clear an axis
    is: one that holds little of the variety is hardly heard, however cleanly
    it moves its descriptor. Returns the kept axes in slider order (clearest
    first), and the merged axes' old names -> the key of the axis each was
    merged into (an alias of it).
    """
    count = effect.shape[0]
    score = np.abs(effect) * np.where(agreement >= MIN_AGREEMENT, 1.0, DOUBTFUL)
    legacy = legacy_names(effect, agreement)
    ranked = [list(np.argsort(-score[j], kind="stable")) for j in range(count)]
    strongest = np.array([score[j, ranked[j][0]] for j in range(count)])
    # Clearest first: much of the variety, and a main effect that is a large part of all the axis moves.
    shares = np.ones(count) if shares is None else np.asarray(shares, dtype=float)
    clarity = shares * strongest / np.maximum(score.sum(1), 1e-12)
    named = [j for j in np.argsort(-clarity, kind="stable") if np.abs(effect[j]).max() >= MEASURABLE]
    unnamed = [j for j in range(count) if j not in named]
    used: dict[str, AxisName] = {}
    kept: list[AxisName] = []
    merged: dict[str, str] = {}
    for j in named:
        choice = _first_free(j, ranked[j], score, effect, used)
        if choice is None:  # it moves only what an earlier, clearer axis moves: merged into that one
            into = used[NAMES[ranked[j][0]]]
            into.aliases += (legacy[j],)
            merged[legacy[j]] = into.key
            continue
        name = _make(j, choice, effect, legacy[j])
        used[name.key] = name
        kept.append(name)
    for j in unnamed:
        kept.append(AxisName(int(j), "", "", "less", "more", False, (legacy[j],)))
    for position, name in enumerate(kept):  # the numbered ones by where they now stand
        if not name.key:
            name.key = name.title = f"axis{position + 1}"
    keys = {n.key for n in kept}
    for name in kept:  # an old name that is now another axis's key belongs to that axis
        name.aliases = tuple(a for a in name.aliases if a not in keys)
    return kept, {old: new for old, new in merged.items() if old not in keys}


def _first_free(j: int, ranked: list, score: np.ndarray, effect: np.ndarray, used: dict) -> tuple[int, ...] | None:
    """The first name not yet taken: the descriptor it moves most (with the second where that moves too),
    else that one with each further descriptor it moves measurably."""
    first = ranked[0]
    others = [d for d in ranked[1:] if abs(effect[j, d]) >= MEASURABLE]
    candidates = []
    if others and score[j, others[0]] >= SECOND_SHARE * score[j, first]:
        candidates.append((first, others[0]))
    candidates.append((first,))
    candidates += [(first, d) for d in others]
    for choice in candidates:
        if "+".join(NAMES[d] for d in choice) not in used:
            return choice
    return None


def _make(j: int, choice: tuple[int, ...], effect: np.ndarray, legacy: str) -> AxisName:
    first = choice[0]
    flip = bool(effect[j, first] < 0)  # + is more of the first descriptor
    lows, highs = [WORDS[NAMES[first]][0]], [WORDS[NAMES[first]][1]]
    for d in choice[1:]:
        rises = (effect[j, d] > 0) != flip  # does it grow toward the + end?
        low, high = WORDS[NAMES[d]]
        lows.append(low if rises else high)
        highs.append(high if rises else low)
    key = "+".join(NAMES[d] for d in choice)
    aliases = (legacy,) if legacy != key else ()
    return AxisName(int(j), key, " + ".join(NAMES[d] for d in choice), ", ".join(lows), ", ".join(highs), flip,
                    aliases, tuple(int(d) for d in choice))


def legacy_names(effect: np.ndarray, agreement: np.ndarray) -> list[str]:
    """The keys the previous naming gave these axes ("level", "level2", "axis5"), by component."""
    count = effect.shape[0]
    score = np.abs(effect) * (agreement >= MIN_AGREEMENT)
    strongest = score.max(1)
    names: dict[int, str] = {}
    used: set[str] = set()
    for flat in np.argsort(-score, axis=None):
        j, d = divmod(int(flat), len(NAMES))
        if score[j, d] < LEGACY_MIN_EFFECT:
            break
        if j not in names and NAMES[d] not in used and score[j, d] >= LEGACY_NAME_SHARE * strongest[j]:
            names[j], used = NAMES[d], used | {NAMES[d]}
    for j in range(count):
        shared = NAMES[int(score[j].argmax())]
        if j not in names and strongest[j] >= LEGACY_MIN_EFFECT and list(names.values()).count(shared) < 2:
            names[j] = shared
    keys = []
    for j in range(count):
        if j not in names:
            keys.append(f"axis{j + 1}")
            continue
        repeat = sum(1 for i in range(j) if names.get(i) == names[j])
        keys.append(f"{names[j]}{repeat + 1}" if repeat else names[j])
    return keys
