"""From the settings form (preset + Advanced fields) to a validated TrainingConfig.

A blank Advanced field keeps the preset's value. Whatever the user typed is
put into the config as typed, and ``TrainingConfig.validate`` says what is
wrong with it (a ConfigError naming the setting), which the page shows inline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sda.server.settings import TINY_OVERRIDES, AppSettings
from sda.training.config import ConfigError, TrainingConfig, get_adaptive_config

PRESET_CHOICES = ["Auto", "Conservative", "Balanced", "Aggressive"]


@dataclass(frozen=True)
class AdvancedField:
    key: str  # the form's name for it
    label: str
    attribute: str  # dotted path into TrainingConfig
    whole: bool  # a whole number (epochs, sizes, intervals)
    info: str


ADVANCED_FIELDS: tuple[AdvancedField, ...] = (
    AdvancedField("epochs", "Epochs", "max_epochs", True, "Passes over your sounds."),
    AdvancedField("learning_rate", "Learning rate", "learning_rate", False, "Step size of each update."),
    AdvancedField("batch_size", "Batch size", "batch_size", True, "Chunks per update."),
    AdvancedField("dropout", "Dropout", "regularization.dropout", False, "0 to 0.9; more fights memorising."),
    AdvancedField("weight_decay", "Weight decay", "regularization.weight_decay", False, "0 to 1."),
    AdvancedField(
        "augmentation_strength", "Augmentation strength", "regularization.augmentation_strength", False, "0 (off) to 1."
    ),
    AdvancedField("latent_size", "Latent size", "latent_dim", True, "Size of the model's inner code."),
    AdvancedField(
        "preview_interval", "Preview every N epochs", "preview_interval", True, "How often you hear new previews."
    ),
    AdvancedField(
        "checkpoint_interval", "Checkpoint every N epochs", "checkpoint_interval", True, "How often progress is saved."
    ),
)


def get_attribute(config: TrainingConfig, dotted: str) -> Any:
    target: Any = config
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def set_attribute(config: TrainingConfig, dotted: str, value: Any) -> None:
    *parents, name = dotted.split(".")
    target: Any = config
    for part in parents:
        target = getattr(target, part)
    setattr(target, name, value)


def _as_typed(value: Any, whole: bool) -> Any:
    """A form number as the config wants it; a fractional "whole" value stays fractional so validate() names it."""
    if isinstance(value, float) and whole and value.is_integer():
        return int(value)
    return value


def _parse(field: AdvancedField, value: Any) -> Any:
    """A typed-in value as a number; text that is no number raises ConfigError naming the field."""
    if not isinstance(value, str):
        return value
    text = value.strip().replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(
            f"Setting '{field.label.lower()}' is {value.strip()!r}; it must be a number (or blank for the preset's "
            "value)."
        ) from None
    return int(number) if number.is_integer() and "." not in text and "e" not in text.lower() else number


def user_values(values: dict[str, Any]) -> dict[str, Any]:
    """Only the Advanced fields the user filled in, as numbers."""
    fields = {f.key: f for f in ADVANCED_FIELDS}
    return {
        key: _parse(fields[key], value)
        for key, value in values.items()
        if value is not None and not (isinstance(value, str) and not value.strip())
    }


def apply_values(config: TrainingConfig, values: dict[str, Any]) -> TrainingConfig:
    """Put the filled-in Advanced fields into ``config`` (in place) and return it."""
    fields = {f.key: f for f in ADVANCED_FIELDS}
    for key, value in user_values(values).items():
        field = fields[key]
        set_attribute(config, field.attribute, _as_typed(value, field.whole))
        if key == "preview_interval":
            # An explicit interval holds for short runs too (the engine previews
            # short runs more often unless told otherwise).
            config.preview_interval_short = config.preview_interval
    return config


@dataclass(frozen=True)
class ServerCaps:
    """What a shared server allows one run (None: no cap)."""

    max_epochs: int | None = None
    max_training_minutes: float | None = None

    @classmethod
    def of(cls, settings: AppSettings) -> ServerCaps:
        return cls(settings.max_epochs, settings.max_training_minutes)

    def apply(self, config: TrainingConfig, values: dict[str, Any]) -> TrainingConfig:
        """Hold ``config`` to the caps: a preset's epochs are lowered to the cap, a typed-in number over it is
        refused."""
        if self.max_epochs is not None and config.max_epochs > self.max_epochs:
            if "epochs" in user_values(values):
                raise ConfigError(
                    f"Setting 'epochs' is {config.max_epochs}; this server trains at most {self.max_epochs} epochs "
                    "per run."
                )
            config.max_epochs = self.max_epochs
        config.max_training_minutes = self.max_training_minutes or 0.0
        return config

    @property
    def any(self) -> bool:
        return self.max_epochs is not None or self.max_training_minutes is not None


def build_config(file_count: int, preset: str, values: dict[str, Any] | None = None, tiny: bool = False,
                 caps: ServerCaps = ServerCaps()) -> TrainingConfig:
    """The config for a new run; raises ConfigError naming the first bad setting."""
    config = get_adaptive_config(max(file_count, 1), (preset or "Auto").lower())
    if tiny:
        for dotted, value in TINY_OVERRIDES.items():
            set_attribute(config, dotted, value)
    apply_values(config, values or {})
    config.validate()
    return caps.apply(config, values or {})


def epochs_lowered_note(file_count: int, preset: str, values: dict[str, Any] | None = None, tiny: bool = False,
                        caps: ServerCaps = ServerCaps()) -> str:
    """What the page says when the server's epoch cap lowered the preset's epochs ("" when it did not)."""
    if caps.max_epochs is None:
        return ""
    wanted = build_config(file_count, preset, values, tiny).max_epochs
    if wanted <= caps.max_epochs:
        return ""
    return (f"This server trains at most {caps.max_epochs} epochs per run (server setting SDA_MAX_EPOCHS), so the "
            f"preset's {wanted} epochs were lowered to {caps.max_epochs}.")


def resume_config(run_config: dict, values: dict[str, Any], caps: ServerCaps = ServerCaps()) -> TrainingConfig | None:
    """The config to resume with: None (the checkpoint's own) unless the user changed a field or the server
    caps runs."""
    if not user_values(values) and not caps.any:
        return None
    config = apply_values(TrainingConfig.from_dict(run_config), values)
    config.validate()
    return caps.apply(config, values)


def preset_hint(config: TrainingConfig) -> dict[str, Any]:
    """The preset's value of each Advanced field (shown as the blank field's placeholder)."""
    return {f.key: get_attribute(config, f.attribute) for f in ADVANCED_FIELDS}


__all__ = [
    "ADVANCED_FIELDS",
    "PRESET_CHOICES",
    "ConfigError",
    "ServerCaps",
    "build_config",
    "epochs_lowered_note",
    "preset_hint",
    "resume_config",
]
