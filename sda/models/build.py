"""The one place a ConvVAE is built from its architecture, and the sizes sda accepts.

Training checks its config against ``ARCHITECTURE_LIMITS``; loading a
checkpoint or model file checks the stored architecture against the same
limits before anything is built, so a crafted file cannot ask for a model
no training could have made.
"""

from __future__ import annotations

from sda.models.vae import ConvVAE

ARCHITECTURE_TYPE = "ConvVAE1d"
DEFAULT_TIME_STRIDE = 8  # mel frames per latent frame
ARCHITECTURE_LIMITS: dict[str, tuple[int, int]] = {
    "latent_dim": (1, 1024),
    "n_mels": (8, 512),
    "hidden_channels": (8, 4096),
    "time_stride": (1, 64),
}


class ArchitectureError(ValueError):
    """A stored architecture sda cannot build. The message names the setting."""


def within_limits(key: str, value: object) -> bool:
    """Whether ``value`` is a whole number inside the limits of architecture setting ``key``."""
    low, high = ARCHITECTURE_LIMITS[key]
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def check_architecture(arch: object) -> dict[str, int]:
    """The sizes in ``arch`` (a model's ``architecture()``), checked; ArchitectureError otherwise."""
    if not isinstance(arch, dict) or arch.get("type", ARCHITECTURE_TYPE) != ARCHITECTURE_TYPE:
        raise ArchitectureError("it does not describe a model this version of sda can build")
    for key in ARCHITECTURE_LIMITS:
        if not within_limits(key, arch.get(key)):
            raise ArchitectureError(f"it has an impossible model setting {key}={arch.get(key)!r}")
    return {key: arch[key] for key in ARCHITECTURE_LIMITS}


def vae_architecture(latent_dim: int, n_mels: int, hidden_channels: int, time_stride: int = DEFAULT_TIME_STRIDE) -> dict:
    """The architecture of a ConvVAE of these sizes, as ``ConvVAE.architecture()`` reports it."""
    return {"type": ARCHITECTURE_TYPE, "latent_dim": latent_dim, "n_mels": n_mels,
            "hidden_channels": hidden_channels, "time_stride": time_stride}


def build_vae(arch: object, dropout: float = 0.0) -> ConvVAE:
    """A fresh ConvVAE of architecture ``arch`` (checked first); ``dropout`` only matters for training."""
    sizes = check_architecture(arch)
    return ConvVAE(latent_dim=sizes["latent_dim"], dropout=dropout, n_mels=sizes["n_mels"],
                   hidden_channels=sizes["hidden_channels"], time_stride=sizes["time_stride"])
