"""VAE loss with KL annealing and free bits."""

from __future__ import annotations

import torch


def _kl_elements(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, 1)) per latent element, in nats."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def compute_kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Raw KL in nats per latent frame (summed over channels, averaged over frames and batch).

    This is the posterior-collapse monitor: near 0 means the decoder ignores
    the latent.
    """
    kl = _kl_elements(mu, logvar)
    return kl.sum(dim=1).mean()


def vae_loss(
    recon: torch.Tensor,
    target: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    kl_weight: float,
    free_bits: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, recon_loss, kl_loss).

    recon_loss: mean absolute error of the normalised log-mel (an L1 in dB,
    up to the dataset's scale), the same quantity fidelity is judged by.
    kl_loss: KL per input element, where each latent channel's KL (averaged
    over batch and frames) counts at least ``free_bits`` nats, so the
    optimiser gains nothing by collapsing a channel below that.
    """
    recon_loss = (recon.float() - target.float()).abs().mean()
    kl = _kl_elements(mu, logvar)  # (B, C, frames)
    per_channel = kl.mean(dim=(0, 2))
    if free_bits > 0:
        per_channel = per_channel.clamp_min(free_bits)
    latent_frames = mu.shape[-1]
    kl_loss = per_channel.sum() * latent_frames / target[0].numel()
    total = recon_loss + kl_weight * kl_loss
    return total, recon_loss, kl_loss


def get_kl_weight(epoch: int, max_epochs: int, warmup_fraction: float = 0.3, max_weight: float = 1.0) -> float:
    """Linear KL warm-up from 0 to ``max_weight`` over the first ``warmup_fraction`` of training.

    ``epoch`` is 0-based (the epoch about to run).
    """
    warmup_epochs = max_epochs * warmup_fraction
    if warmup_epochs <= 0:
        return float(max_weight)
    return float(max_weight) * min(1.0, (epoch + 1) / warmup_epochs)


def is_warmup_over(epoch: int, max_epochs: int, warmup_fraction: float) -> bool:
    """True once ``epoch`` (0-based) ran at the full KL weight."""
    return epoch + 1 >= max_epochs * warmup_fraction
