"""Models: the convolutional VAE and its loss."""

from sda.models.build import ARCHITECTURE_LIMITS, ArchitectureError, build_vae
from sda.models.losses import compute_kl_divergence, get_kl_weight, vae_loss
from sda.models.vae import ConvDecoder, ConvEncoder, ConvVAE

__all__ = [
    "ARCHITECTURE_LIMITS",
    "ArchitectureError",
    "build_vae",
    "ConvDecoder",
    "ConvEncoder",
    "ConvVAE",
    "compute_kl_divergence",
    "get_kl_weight",
    "vae_loss",
]
