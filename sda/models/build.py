"""The one place a ConvVAE is built from its architecture, and the sizes sda accepts.

Training checks its config against ``ARCHITECTURE_LIMITS``; loading a
checkpoint or model file checks the stored architecture against the same
limits before anything is built, so a crafted file cannot ask for a model
no training could have made.
"""

from __future__ import annotations

import torch

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


def vae_architecture(
    latent_dim: int, n_mels: int, hidden_channels: int, time_stride: int = DEFAULT_TIME_STRIDE
) -> dict:
    """The architecture of a ConvVAE of these sizes, as ``ConvVAE.architecture()`` reports it."""
    return {"type": ARCHITECTURE_TYPE, "latent_dim": latent_dim, "n_mels": n_mels,
            "hidden_channels": hidden_channels, "time_stride": time_stride}


def expected_weight_shapes(arch: object) -> dict[str, tuple[int, ...]]:
    """Every weight of a ConvVAE of architecture ``arch`` and its shape, with no memory spent on them.

    The model is built on PyTorch's "meta" device, which records shapes and
    allocates nothing, so even the largest architecture costs a few KB here.
    """
    sizes = check_architecture(arch)
    with torch.device("meta"):
        model = ConvVAE(latent_dim=sizes["latent_dim"], dropout=0.0, n_mels=sizes["n_mels"],
                        hidden_channels=sizes["hidden_channels"], time_stride=sizes["time_stride"])
    return {name: tuple(value.shape) for name, value in model.state_dict().items()}


def check_weights(arch: object, weights: dict[str, torch.Tensor]) -> None:
    """ArchitectureError unless ``weights`` are exactly the weights architecture ``arch`` has.

    Checked from the tensors' shapes alone, before any model is built: a
    small file that claims a huge architecture is refused without building it.
    """
    expected = expected_weight_shapes(arch)
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    wrong = sorted(name for name in expected.keys() & weights.keys() if tuple(weights[name].shape) != expected[name])
    if missing or unexpected or wrong:
        what = (f"{len(missing)} missing" if missing else "") or (f"{len(unexpected)} unexpected" if unexpected else "")
        what = what or f"{wrong[0]} has shape {tuple(weights[wrong[0]].shape)}, not {expected[wrong[0]]}"
        raise ArchitectureError(f"its weights do not fit the model it describes ({what})")


def build_vae(arch: object, dropout: float = 0.0) -> ConvVAE:
    """A fresh ConvVAE of architecture ``arch`` (checked first); ``dropout`` only matters for training."""
    sizes = check_architecture(arch)
    return ConvVAE(latent_dim=sizes["latent_dim"], dropout=dropout, n_mels=sizes["n_mels"],
                   hidden_channels=sizes["hidden_channels"], time_stride=sizes["time_stride"])
