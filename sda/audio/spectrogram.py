"""Waveform <-> normalised log-mel spectrogram, batched, on any torch device.

Forward: STFT power -> mel filterbank -> dB (floored) -> (dB - mean) / std,
where mean and std are measured once per dataset (``fit_normalization``), so
the model sees zero-mean, unit-scale values and level is kept, not erased.

Inverse: un-normalise -> mel power -> linear power, the non-negative
spectrum whose mel matches (`sda.audio.mel_inverse`) -> fast (momentum)
Griffin-Lim, started ("best") from the phase the magnitude's own gradient
implies (`sda.audio.pghi`) or ("fast") from random phases. The output always has exactly
the requested number of samples. ``quality="best"`` (for sounds a user
keeps) fits the linear power more closely, runs 8x the Griffin-Lim
iterations, and every 4th iteration pulls the magnitudes half-way towards
the consistent spectrum's own mel-matched version. Long sounds are inverted
in chunks (`sda.audio.chunked_inversion`), so memory stays bounded.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from sda.audio.chunked_inversion import invert_in_chunks
from sda.audio.mel import mel_filterbank
from sda.audio.mel_inverse import MelInverse
from sda.audio.pghi import pghi_phase

INVERSION_QUALITIES = ("fast", "best")
# Where Griffin-Lim's phase starts: "pghi" (from the phase gradient) or "random"; the default per quality.
# "fast" (Play, previews) keeps the random start: PGHI costs 10-15 % of a Play generation for an attack
# 0.2-0.7 dB closer, and Play's speed comes first there (README, "Mel to audio").
PHASE_STARTS = ("pghi", "random")
DEFAULT_PHASE_START = {"fast": "random", "best": "pghi"}
# Mel -> linear power fitting iterations; Griffin-Lim iterations for "best" as a multiple of the config's.
_FIT_ITERATIONS = {"fast": 10, "best": 100}
_BEST_GL_FACTOR = 8
_REFIT_EVERY = 4  # refitting every iteration costs twice the time for 0.003 dB mel-L1


@dataclass(frozen=True)
class SpectrogramConfig:
    sample_rate: int = 48000
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    f_min: float = 0.0
    f_max: float | None = None
    db_floor: float = -100.0  # dB relative to a full-scale sine
    griffin_lim_iters: int = 16  # momentum GL: 32 gains only ~0.05 dB mel-L1 on unseen one-shots
    griffin_lim_momentum: float = 0.99

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SpectrogramConfig:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})

    def frames_for(self, num_samples: int) -> int:
        """Number of STFT frames (centred) for a clip of ``num_samples``."""
        return 1 + num_samples // self.hop_length

    def shape_key(self) -> tuple:
        """The settings a trained model depends on (the inversion settings are free)."""
        return (self.sample_rate, self.n_fft, self.hop_length, self.n_mels, self.f_min, self.f_max, self.db_floor)


class AudioSpectrogram:
    """Batched log-mel analysis and inversion with per-dataset normalisation."""

    def __init__(self, config: SpectrogramConfig | None = None, device: torch.device | str = "cpu") -> None:
        self.config = config or SpectrogramConfig()
        self.device = torch.device(device)
        c = self.config
        fb = mel_filterbank(c.n_fft, c.n_mels, c.sample_rate, c.f_min, c.f_max)
        self.mel_basis = torch.from_numpy(fb).float().to(self.device)  # (n_mels, n_freqs)
        self.mel_inverse = MelInverse(fb, self.device)
        self.window = torch.hann_window(c.n_fft, device=self.device)
        # Scale so a full-scale sine peaks near 0 dB, whatever n_fft is.
        self._power_scale = (2.0 / float(self.window.sum())) ** 2
        self.mean = 0.0
        self.std = 1.0

    # -- normalisation -------------------------------------------------
    def fit_normalization(self, waveforms: torch.Tensor, batch_size: int = 64) -> None:
        """Measure mean/std of dB values over ``waveforms`` (N, samples)."""
        self.fit_normalization_db(
            [self.waveform_to_db(waveforms[i : i + batch_size]) for i in range(0, waveforms.shape[0], batch_size)]
        )

    def fit_normalization_db(self, dbs: list[torch.Tensor]) -> None:
        """Measure mean/std over log-mels already in dB."""
        total = sum(float(db.double().sum()) for db in dbs)
        total_sq = sum(float((db.double() ** 2).sum()) for db in dbs)
        count = sum(db.numel() for db in dbs)
        if count == 0:
            return
        mean = total / count
        self.mean, self.std = mean, math.sqrt(max(total_sq / count - mean * mean, 1e-6))

    def normalize_(self, db: torch.Tensor) -> torch.Tensor:
        """dB -> normalised, in place."""
        return db.sub_(self.mean).div_(self.std)

    @property
    def silence_value(self) -> float:
        """The normalised value of the dB floor (what silence looks like to the model)."""
        return (self.config.db_floor - self.mean) / self.std

    def normalization_state(self) -> dict:
        return {"mean": float(self.mean), "std": float(self.std)}

    def load_normalization_state(self, state: dict) -> None:
        self.mean = float(state["mean"])
        self.std = float(state["std"])

    # -- analysis ------------------------------------------------------
    def to(self, device: torch.device | str) -> AudioSpectrogram:
        self.device = torch.device(device)
        self.mel_basis = self.mel_basis.to(self.device)
        self.mel_inverse.to(self.device)
        self.window = self.window.to(self.device)
        return self

    def _stft(self, waveform: torch.Tensor) -> torch.Tensor:
        c = self.config
        return torch.stft(
            waveform, c.n_fft, c.hop_length, window=self.window, center=True, return_complex=True
        )

    def waveform_to_db(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, samples) or (samples,) -> log-mel in dB, (B, n_mels, frames)."""
        squeeze = waveform.dim() == 1
        wave = waveform.unsqueeze(0) if squeeze else waveform
        wave = wave.to(self.device, torch.float32)
        power = self._stft(wave).abs().pow(2) * self._power_scale
        mel = torch.matmul(self.mel_basis, power)
        db = 10.0 * torch.log10(mel.clamp_min(10.0 ** (self.config.db_floor / 10.0)))
        return db[0] if squeeze else db

    def waveform_to_mel(self, waveform: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> normalised log-mel (B, n_mels, frames): the model's input."""
        return (self.waveform_to_db(waveform) - self.mean) / self.std

    # -- inversion -----------------------------------------------------
    def mel_to_db(self, mel: torch.Tensor) -> torch.Tensor:
        return mel.float() * self.std + self.mean

    def mel_to_waveform(
        self, mel: torch.Tensor, num_samples: int | None = None, seed: int = 0, *, quality: str = "fast",
        phase_start: str | None = None, iterations: int | None = None, chunk_frames: int | None = None,
    ) -> torch.Tensor:
        """Normalised log-mel (B, n_mels, frames) -> waveform (B, num_samples).

        ``num_samples`` defaults to (frames - 1) * hop, the length the frames
        describe; the result is always exactly that long. ``quality="best"``
        is slower and closer to the spectrogram, for sounds a user keeps.
        ``phase_start`` ("pghi" or "random") defaults to the quality's;
        ``iterations`` overrides the quality's Griffin-Lim iterations (0: the
        starting phase alone). Sounds longer than ``chunk_frames`` (default
        `sda.audio.chunked_inversion.CHUNK_FRAMES`) are inverted in chunks.
        """
        if quality not in INVERSION_QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(INVERSION_QUALITIES)}; got {quality!r}")
        phase_start = phase_start or DEFAULT_PHASE_START[quality]
        if phase_start not in PHASE_STARTS:
            raise ValueError(f"phase_start must be one of {', '.join(PHASE_STARTS)}; got {phase_start!r}")
        squeeze = mel.dim() == 2
        mel = mel.unsqueeze(0) if squeeze else mel
        c = self.config
        if num_samples is None:
            num_samples = (mel.shape[-1] - 1) * c.hop_length
        if iterations is None:
            iterations = c.griffin_lim_iters * (_BEST_GL_FACTOR if quality == "best" else 1)
        db = self.mel_to_db(mel.to(self.device)).clamp(max=40.0)
        mel_power = torch.pow(10.0, db / 10.0)

        def invert(chunk_power: torch.Tensor, samples: int, known: torch.Tensor | None, chunk_seed: int):
            power = self.mel_inverse(chunk_power, _FIT_ITERATIONS[quality])
            magnitude = (power / self._power_scale).sqrt()
            unit = self.start_phase(magnitude, phase_start, chunk_seed, known)
            return self.griffin_lim(
                magnitude, samples, chunk_seed, iters=iterations, mel_power=chunk_power if quality == "best" else None,
                initial=unit, pinned_frames=0 if known is None else known.shape[1], return_phase=True,
            )

        wave = invert_in_chunks(invert, mel_power, num_samples, c.hop_length, seed, chunk_frames)
        return wave[0] if squeeze else wave

    def start_phase(
        self, magnitude: torch.Tensor, phase_start: str, seed: int = 0, known: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Unit phasors (B, frames, bins) to start Griffin-Lim from a magnitude (B, bins, frames).

        ``known`` (B, k, bins): unit phasors the first k frames keep.
        """
        c = self.config
        shape = (magnitude.shape[0], magnitude.shape[2], magnitude.shape[1])
        if phase_start == "random":
            generator = torch.Generator(device="cpu").manual_seed(seed)
            phase = torch.rand(shape, generator=generator) * (2 * math.pi)
            if known is not None:
                phase[:, : known.shape[1]] = known.angle().cpu()
        else:
            mags = magnitude.transpose(1, 2).double().cpu().numpy()
            known_phase = None if known is None else known.angle().double().cpu().numpy()
            k = 0 if known is None else known.shape[1]
            phase = torch.from_numpy(np.stack([
                pghi_phase(m, c.n_fft, c.hop_length, seed=seed + i,
                           known_phase=None if known_phase is None else known_phase[i], known_frames=k)
                for i, m in enumerate(mags)
            ])).float()
        return torch.polar(torch.ones(shape), phase).to(self.device)

    def griffin_lim(
        self, magnitude: torch.Tensor, num_samples: int, seed: int = 0, iters: int | None = None,
        mel_power: torch.Tensor | None = None, *, initial: torch.Tensor | None = None, pinned_frames: int = 0,
        return_phase: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Fast Griffin-Lim: phase from magnitude, with momentum (Perraudin et al. 2013).

        ``magnitude`` is (B, bins, frames). With ``mel_power`` the magnitudes
        are not fixed: every 4th iteration refits the consistent spectrum's power
        to the mel (one fitting step) and moves the magnitudes to the geometric
        mean of the start and that refit, so fine detail that Griffin-Lim
        makes consistent is kept where the mel allows it. ``initial``: unit
        phasors (B, frames, bins) to start from (default: random phases);
        the first ``pinned_frames`` frames keep theirs throughout. With
        ``return_phase`` the final unit phasors come back too.

        Runs in a frames-first layout with a hand-written overlap-add, and
        normalises phases with a multiply by rsqrt: complex division, complex
        abs and torch.istft's generic overlap-add each cost more than the FFTs
        themselves on CPU.
        """
        c = self.config
        mag = magnitude.transpose(1, 2).contiguous()  # (B, frames, bins)
        start = mag
        unit = self.start_phase(magnitude, "random", seed) if initial is None else initial
        pinned = unit[:, :pinned_frames].clone()
        previous = torch.zeros_like(unit)
        momentum = c.griffin_lim_momentum
        for step in range(max(0, c.griffin_lim_iters if iters is None else iters)):
            projected = self._frames_stft(self._frames_istft(mag * unit, num_samples))
            accelerated = torch.lerp(projected, previous, -momentum)  # projected + m * (projected - previous)
            previous = projected
            unit = accelerated * (accelerated.real.square() + accelerated.imag.square()).clamp_min(1e-16).rsqrt()
            unit[:, :pinned_frames] = pinned
            if mel_power is not None and step % _REFIT_EVERY == 0:
                power = (projected.real.square() + projected.imag.square()) * self._power_scale
                refit = self.mel_inverse.refine(power.transpose(1, 2), mel_power).transpose(1, 2)
                mag = (start * (refit / self._power_scale).sqrt()).sqrt()
        wave = self._frames_istft(mag * unit, num_samples)
        return (wave, unit) if return_phase else wave

    def _frames_stft(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> complex (B, frames, bins), same frames as torch.stft(center=True)."""
        c = self.config
        padded = F.pad(wave[:, None], (c.n_fft // 2, c.n_fft // 2), mode="reflect")[:, 0]
        return torch.fft.rfft(padded.unfold(-1, c.n_fft, c.hop_length) * self.window, dim=-1)

    def _frames_istft(self, spec: torch.Tensor, num_samples: int) -> torch.Tensor:
        """Complex (B, frames, bins) -> (B, num_samples), windowed overlap-add."""
        c = self.config
        frames = torch.fft.irfft(spec, n=c.n_fft, dim=-1) * self.window
        batch, count, _ = frames.shape
        if c.n_fft % c.hop_length:
            raise ValueError("n_fft must be a multiple of hop_length")
        overlap = c.n_fft // c.hop_length
        out = frames.new_zeros(batch, count + overlap - 1, c.hop_length)
        for k in range(overlap):  # each frame spans ``overlap`` hops
            out[:, k : k + count] += frames[:, :, k * c.hop_length : (k + 1) * c.hop_length]
        start = c.n_fft // 2
        wave = out.reshape(batch, -1)[:, start : start + num_samples]
        envelope = self._envelope(count, overlap)[start : start + num_samples]
        wave = wave / envelope
        if wave.shape[-1] < num_samples:  # frames describe less than asked: pad with silence
            wave = F.pad(wave, (0, num_samples - wave.shape[-1]))
        return wave

    def _envelope(self, count: int, overlap: int) -> torch.Tensor:
        """Sum of squared windows under the overlap-add, floored so edges stay finite."""
        c = self.config
        square = (self.window**2).reshape(overlap, c.hop_length)
        env = square.new_zeros(count + overlap - 1, c.hop_length)
        for k in range(overlap):
            env[k : k + count] += square[k]
        return env.reshape(-1).clamp_min(1e-3)
