"""Training configuration, presets, and the automatic preset choice.

A config is plain data (numbers, strings, one nested dataclass): it goes into
checkpoints and run.json as a dict, never as a pickled object.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from enum import Enum

from sda.models.build import ARCHITECTURE_LIMITS, within_limits


class OverfittingPreset(str, Enum):
    """How hard training fights overfitting. Fewer files need more protection."""

    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"


class ConfigError(ValueError):
    """A setting has a value training cannot use. The message names the setting."""


@dataclass
class RegularizationConfig:
    dropout: float = 0.1
    weight_decay: float = 0.01
    # Extra pitch/speed-shifted copies of each training file, made once before
    # the first epoch (0 = none).
    augmentation_expansion: int = 0
    gradient_clip_norm: float = 1.0
    # Strength of the cheap per-batch augmentation (gain, time shift): 0 = off.
    augmentation_strength: float = 0.5


@dataclass
class TrainingConfig:
    # Model
    latent_dim: int = 128  # latent channels per latent frame (one frame per 8 mel frames)
    hidden_channels: int = 400
    # Optimisation
    batch_size: int = 32
    max_epochs: int = 200
    learning_rate: float = 2e-3
    kl_warmup_fraction: float = 0.3
    kl_weight_max: float = 0.01
    free_bits: float = 0.25  # nats per latent channel (averaged over frames)
    # Data
    val_fraction: float = 0.2
    chunk_seconds: float = 1.0
    seed: int = 1234
    # Side outputs
    checkpoint_interval: int = 10
    preview_interval: int = 10
    preview_interval_short: int = 2  # used when max_epochs is small
    num_preview_samples: int = 2
    keep_checkpoints: int = 3
    # Most minutes of training for the whole run (resumes included), then it
    # stops with a checkpoint; 0 = no limit. Set by a shared server.
    max_training_minutes: float = 0.0
    # "auto": bf16 autocast where the hardware runs it fast; "bf16" or "fp32".
    precision: str = "auto"
    # Most seconds spent learning the model's own mel-to-audio inversion after
    # its epochs (kept only if it beats the standard one); 0 = standard only.
    inversion_seconds: float = 150.0
    regularization: RegularizationConfig = field(default_factory=RegularizationConfig)
    preset: str = "balanced"
    preset_reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainingConfig:
        """Build from plain data, ignoring unknown keys (configs from newer versions)."""
        reg_names = {f.name for f in fields(RegularizationConfig)}
        reg = RegularizationConfig(
            **{k: v for k, v in dict(data.get("regularization", {})).items() if k in reg_names}
        )
        names = {f.name for f in fields(cls)} - {"regularization"}
        return cls(regularization=reg, **{k: v for k, v in data.items() if k in names})

    def validate(self) -> None:
        """Raise ConfigError naming the first setting that cannot be used."""
        reg = self.regularization
        epochs_text = "a whole number of epochs, at least 1"
        fraction = "a number from 0 to 1"
        checks = [
            ("epochs", self.max_epochs, _whole(self.max_epochs, 1), "a whole number of at least 1"),
            ("batch size", self.batch_size, _whole(self.batch_size, 1, 4096), "a whole number from 1 to 4096"),
            ("learning rate", self.learning_rate, _finite(self.learning_rate) and 0 < self.learning_rate <= 1,
             "a number above 0 and at most 1 (try 0.001)"),
            ("latent size", self.latent_dim, within_limits("latent_dim", self.latent_dim), _whole_range("latent_dim")),
            ("hidden channels", self.hidden_channels, within_limits("hidden_channels", self.hidden_channels),
             _whole_range("hidden_channels")),
            ("dropout", reg.dropout, _finite(reg.dropout) and 0 <= reg.dropout < 1,
             "a number from 0 up to (not including) 1"),
            ("weight decay", reg.weight_decay, _between(reg.weight_decay, 0, 1), fraction),
            ("augmentation strength", reg.augmentation_strength, _between(reg.augmentation_strength, 0, 1), fraction),
            ("augmentation expansion", reg.augmentation_expansion, _whole(reg.augmentation_expansion, 0, 8),
             "a whole number from 0 to 8"),
            ("gradient clip norm", reg.gradient_clip_norm,
             _finite(reg.gradient_clip_norm) and reg.gradient_clip_norm > 0, "a number above 0"),
            ("preview interval", self.preview_interval, _whole(self.preview_interval, 1), epochs_text),
            ("short-run preview interval", self.preview_interval_short, _whole(self.preview_interval_short, 1),
             epochs_text),
            ("checkpoint interval", self.checkpoint_interval, _whole(self.checkpoint_interval, 1), epochs_text),
            ("validation fraction", self.val_fraction, _finite(self.val_fraction) and 0 <= self.val_fraction < 0.9,
             "a number from 0 to 0.9"),
            ("KL warm-up fraction", self.kl_warmup_fraction, _between(self.kl_warmup_fraction, 0, 1), fraction),
            ("free bits", self.free_bits, _finite(self.free_bits) and self.free_bits >= 0, "a number of at least 0"),
            ("training minutes", self.max_training_minutes,
             _finite(self.max_training_minutes) and self.max_training_minutes >= 0,
             "a number of at least 0 (0 = no limit)"),
            ("precision", self.precision, self.precision in ("auto", "bf16", "fp32"), "one of auto, bf16, fp32"),
            ("inversion seconds", self.inversion_seconds, _between(self.inversion_seconds, 0, 3600),
             "a number of seconds from 0 to 3600 (0 = the standard inversion only)"),
        ]
        for name, value, ok, expected in checks:
            if not ok:
                raise ConfigError(f"Setting '{name}' is {value!r}; it must be {expected}.")


def _whole_range(key: str) -> str:
    low, high = ARCHITECTURE_LIMITS[key]
    return f"a whole number from {low} to {high}"


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _between(value: object, low: float, high: float) -> bool:
    return _finite(value) and low <= value <= high


def _whole(value: object, low: int, high: float = math.inf) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


# What each preset changes from the defaults. Conservative: few files, so
# strong regularization and extra augmented copies; aggressive: many files,
# so the model may fit harder.
_PRESETS: dict[OverfittingPreset, dict] = {
    OverfittingPreset.CONSERVATIVE: dict(
        max_epochs=300,
        regularization=RegularizationConfig(
            dropout=0.2, weight_decay=0.05, augmentation_expansion=4, augmentation_strength=0.8
        ),
    ),
    OverfittingPreset.BALANCED: dict(
        max_epochs=200,
        regularization=RegularizationConfig(
            dropout=0.15, weight_decay=0.01, augmentation_expansion=3, augmentation_strength=0.8
        ),
    ),
    OverfittingPreset.AGGRESSIVE: dict(
        max_epochs=120,
        regularization=RegularizationConfig(
            dropout=0.05, weight_decay=0.001, augmentation_expansion=0, augmentation_strength=0.3
        ),
    ),
}


def choose_preset(file_count: int) -> tuple[OverfittingPreset, str]:
    """The preset Auto picks for a dataset of ``file_count`` files, and why."""
    if file_count < 50:
        return OverfittingPreset.CONSERVATIVE, (
            f"{file_count} files is a small dataset, so Auto picked Conservative: "
            "stronger regularization and extra augmented copies to keep the model from memorising it."
        )
    if file_count < 200:
        return OverfittingPreset.BALANCED, (
            f"{file_count} files is a medium dataset, so Auto picked Balanced: "
            "moderate regularization and three pitch-shifted copies of each file."
        )
    return OverfittingPreset.AGGRESSIVE, (
        f"{file_count} files is a large dataset, so Auto picked Aggressive: "
        "light regularization, since the data itself keeps the model general."
    )


def adaptive_val_fraction(file_count: int) -> float:
    """Validation share by dataset size: keep at least one file out when possible."""
    if file_count < 2:
        return 0.0
    if file_count < 10:
        return max(0.2, 1.0 / file_count)
    if file_count < 50:
        return 0.2
    if file_count < 200:
        return 0.15
    return 0.1


def get_adaptive_config(file_count: int, preset: str | OverfittingPreset | None = None) -> TrainingConfig:
    """A config fitted to a dataset of ``file_count`` files.

    ``preset`` of None or "auto" chooses from the file count; otherwise the
    named preset is used. The validation split always adapts to the count.
    """
    if preset is None or str(getattr(preset, "value", preset)).lower() == "auto":
        chosen, reason = choose_preset(file_count)
    else:
        try:
            chosen = OverfittingPreset(str(getattr(preset, "value", preset)).lower())
        except ValueError:
            names = ", ".join(["auto"] + [p.value for p in OverfittingPreset])
            raise ConfigError(f"Setting 'preset' is {preset!r}; it must be one of {names}.") from None
        reason = f"Preset {chosen.value.capitalize()} chosen by you for {file_count} files."
    values = _PRESETS[chosen]
    config = TrainingConfig(
        max_epochs=values["max_epochs"],
        regularization=replace(values["regularization"]),
        val_fraction=adaptive_val_fraction(file_count),
        preset=chosen.value,
        preset_reason=reason,
    )
    return config


def get_effective_preview_interval(config: TrainingConfig) -> int:
    """Preview every ``preview_interval`` epochs, or more often for short runs."""
    if config.max_epochs < 4 * config.preview_interval:
        return max(1, min(config.preview_interval_short, config.preview_interval))
    return config.preview_interval
