"""Models: the convolutional VAE and its loss."""

from sda.models.losses import compute_kl_divergence, get_kl_weight, vae_loss
from sda.models.vae import ConvDecoder, ConvEncoder, ConvVAE

__all__ = ["ConvDecoder", "ConvEncoder", "ConvVAE", "compute_kl_divergence", "get_kl_weight", "vae_loss"]
