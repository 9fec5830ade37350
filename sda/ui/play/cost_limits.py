"""What one Play action may cost on this server, checked before any sound is made.

A sound's cost grows with how much audio the model makes or reads, so each
limit multiplies what was asked: a pack's sound count by its seconds, a
Vary's count by the dropped sound's length. The message says which limit
stopped the action, what was asked, and what to do (and names the server
setting, for whoever runs the server).
"""

from __future__ import annotations

from sda.server.settings import AppSettings


class PlayLimitError(ValueError):
    """An action asks for more than this server makes at once; the message says which limit and what to do."""


def check_pack(settings: AppSettings, count: int, seconds: float) -> None:
    """Refuse a sample pack of ``count`` sounds of ``seconds`` each beyond SDA_MAX_PACK_SECONDS."""
    limit = settings.max_pack_seconds
    if count * seconds > limit + 1e-9:
        raise PlayLimitError(
            f"This server makes at most {limit:g} s of sound per pack ({count} sounds × {seconds:g} s asked); "
            "ask for fewer or shorter sounds. (Server setting SDA_MAX_PACK_SECONDS.)"
        )


def check_variations(settings: AppSettings, count: int, input_seconds: float) -> None:
    """Refuse ``count`` variations of an ``input_seconds`` sound beyond SDA_MAX_VARIATION_SECONDS."""
    limit = settings.max_variation_seconds
    if count * input_seconds > limit + 1e-9:
        raise PlayLimitError(
            f"This server makes at most {limit:g} s of variations at once ({count} variations × "
            f"{input_seconds:.1f} s of sound asked); ask for fewer variations or drop a shorter sound. "
            "(Server setting SDA_MAX_VARIATION_SECONDS.)"
        )


def check_morph_steps(settings: AppSettings, steps: int) -> None:
    """Refuse a morph in more steps than SDA_MAX_MORPH_STEPS."""
    limit = settings.max_morph_steps
    if steps > limit:
        raise PlayLimitError(
            f"This server morphs in at most {limit} steps ({steps} asked); ask for fewer steps. "
            "(Server setting SDA_MAX_MORPH_STEPS.)"
        )


def check_morph_seconds(settings: AppSettings, seconds: float) -> None:
    """Refuse a continuous morph longer than SDA_MAX_MORPH_SECONDS."""
    limit = settings.max_morph_seconds
    if seconds > limit + 1e-9:
        raise PlayLimitError(
            f"This server makes continuous morphs of at most {limit:g} s ({seconds:g} s asked); ask for a shorter "
            "one. (Server setting SDA_MAX_MORPH_SECONDS.)"
        )
