"""What the learned inversion is trained on and judged by: spectral distances between two batches of audio.

``inversion_loss`` is the training loss: at three STFT sizes (512, 1024,
2048 points, hop a quarter), spectral convergence plus log-magnitude L1,
and an L1 of log-mel power (the band levels a listener hears first).
Magnitudes at three resolutions constrain the phase too: a phase that
smears a hit at one size shows as lost level at another.

``inversion_scores`` is the judge (``keep or refuse``): the multi-resolution
STFT distance (the same sum, with eps 1e-5) and the log-spectral distance
in dB (2048-point STFT, both floored 80 dB under the reference's maximum),
per sound, so the mean is over sounds, not samples.
"""

from __future__ import annotations

import torch

SIZES = (512, 1024, 2048)
_EPS = 1e-5


def _magnitude(wave: torch.Tensor, n_fft: int) -> torch.Tensor:
    window = torch.hann_window(n_fft, device=wave.device)
    return torch.stft(wave, n_fft, n_fft // 4, window=window, center=True, return_complex=True).abs()


def inversion_loss(ref: torch.Tensor, est: torch.Tensor, mel_basis: torch.Tensor | None = None) -> torch.Tensor:
    """(B, samples) reference and estimate -> one scalar to minimise."""
    total = ref.new_zeros(())
    for n_fft in SIZES:
        s_ref, s_est = _magnitude(ref, n_fft), _magnitude(est, n_fft)
        convergence = torch.linalg.vector_norm(s_ref - s_est, dim=(1, 2)) / torch.linalg.vector_norm(
            s_ref, dim=(1, 2)).clamp_min(1e-6)
        log_l1 = (torch.log(s_ref + _EPS) - torch.log(s_est + _EPS)).abs().mean(dim=(1, 2))
        total = total + convergence.mean() + log_l1.mean()
        if mel_basis is not None and n_fft == mel_basis.shape[1] * 2 - 2:
            mel_ref = torch.matmul(mel_basis, s_ref.square()).clamp_min(1e-10).log()
            mel_est = torch.matmul(mel_basis, s_est.square()).clamp_min(1e-10).log()
            total = total + 0.1 * (mel_ref - mel_est).abs().mean()
    return total / len(SIZES)


@torch.no_grad()
def inversion_scores(ref: torch.Tensor, est: torch.Tensor) -> dict[str, list[float]]:
    """Per sound of a (B, samples) batch: {"mrstft": [...], "lsd_db": [...]} (lower is closer)."""
    ref, est = ref.double(), est.double()
    mrstft = torch.zeros(ref.shape[0], dtype=torch.float64)
    for n_fft in SIZES:
        s_ref, s_est = _magnitude(ref, n_fft), _magnitude(est, n_fft)
        convergence = torch.linalg.vector_norm(s_ref - s_est, dim=(1, 2)) / torch.linalg.vector_norm(
            s_ref, dim=(1, 2)).clamp_min(1e-12)
        mrstft += convergence + (torch.log(s_ref + _EPS) - torch.log(s_est + _EPS)).abs().mean(dim=(1, 2))
    p_ref, p_est = _magnitude(ref, 2048).square(), _magnitude(est, 2048).square()
    db_ref, db_est = 10 * torch.log10(p_ref + 1e-20), 10 * torch.log10(p_est + 1e-20)
    floor = db_ref.amax(dim=(1, 2), keepdim=True) - 80.0
    diff = torch.maximum(db_ref, floor) - torch.maximum(db_est, floor)
    lsd = diff.square().mean(dim=1).sqrt().mean(dim=1)
    return {"mrstft": (mrstft / len(SIZES)).tolist(), "lsd_db": lsd.tolist()}
