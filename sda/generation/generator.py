"""The generator: new sounds, variations, morphs and resynthesis from a trained model.

Latents come from the data prior (``prior.py``) or from encoding the user's
own sounds, are steered along the named axes, decoded to a log-mel
spectrogram and inverted to audio in one pass over the whole sound by the
model's ``Inverter`` (its learned inversion where it has one), so the
output has exactly the asked length. Resynthesis and variations are
reconstructions with moved latents, so they go through the one reconstruction
path (``reconstruct.py``). Everything random is seeded: the same model,
settings and seed give the same audio, sample for sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from sda.generation.analysis import Analysis
from sda.generation.axes import Axis, find_axis, resolve_axes
from sda.generation.checks import (
    check_audio,
    check_fraction,
    check_quality,
    check_seconds,
    check_seed,
    check_whole,
    pad_frames,
    rounded,
    short_digest,
)
from sda.generation.level import level_gain_db
from sda.generation.model_source import ModelSource
from sda.generation.reconstruct import add_offsets, reconstruct_audio
from sda.generation.windows import JOIN_FRAMES, crossfade, join_db, overlap_frames, tile, window_count

MAX_COUNT, MAX_STEPS = 256, 64
END_FADE_SECONDS = 0.005  # a generated or morphed tail cut off must not click; reconstructions end as their input


@dataclass
class Sound:
    """Mono float32 audio, its rate, every setting needed to make it again, and notes for the user."""

    audio: np.ndarray
    sample_rate: int
    settings: dict
    notes: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate

    @property
    def level_gain_db(self) -> float:
        """The model's level gain (``level.py``): what a file of this sound is written with."""
        return float(self.settings.get("level_gain_db", 0.0) or 0.0)


class Generator:
    """A loaded model with its prior and axes. Build one with ``load_generator``.

    Sounds come out at the level the model makes them; ``level_gain_db`` (also in each sound's settings) is
    the model's one gain (``level.py``) that ``save_sound`` applies, so a model's sounds keep their dynamics.
    """

    def __init__(self, source: ModelSource, analysis: Analysis, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.model = source.model.to(self.device).eval()
        self.spectrogram = source.spectrogram.to(self.device)
        self.inverter = source.inverter.to(self.device)  # mel -> audio: learned where the model has it
        self.prior = analysis.prior
        self.axes: list[Axis] = list(analysis.axes)
        self.window = analysis.window_frames
        self.name = source.name
        self.description = source.description
        self.model_id = source.model_id
        self.info = dict(source.info, analysis=dict(analysis.info), inversion=dict(self.inverter.info,
                                                                                   kind=self.inverter.kind))
        self.level_gain_db = level_gain_db(analysis.info) or 0.0  # one gain for every sound of this model
        self.sample_rate = self.spectrogram.config.sample_rate
        self.source_path = source.path

    # -- public ----------------------------------------------------------
    @torch.no_grad()
    def generate(self, seconds: float = 2.0, seed: int = 0, axes: dict[int | str, float] | None = None,
                 evolve: float = 0.0, quality: str = "fast") -> Sound:
        """A new sound, ``seconds`` long (checks.MIN_SECONDS to MAX_SECONDS), drawn near the training sounds.

        ``axes`` put the sound at a position on named axes (0 = the training
        centre, in standard deviations; clamped to the safe range). Beyond one
        window the sound goes on in crossfaded windows; ``evolve`` (0..1) is
        how much each window moves on from the previous one (0 = it repeats).
        """
        samples = self._samples(seconds)
        seed = check_seed(seed)
        evolve = check_fraction(evolve, "evolve")
        settings_axes, notes = resolve_axes(self.axes, axes)
        stride = self.model.time_stride
        frames = self.spectrogram.config.frames_for(samples)
        count = window_count(frames, self.window * stride, JOIN_FRAMES)
        rng = np.random.default_rng(seed)
        latents = [self.prior.draw(rng)]
        for _ in range(count - 1):
            fresh = self.prior.draw(rng)
            latents.append(latents[-1] + evolve * (fresh - latents[-1]))
        latents = [self._place(z, settings_axes) for z in latents]
        windows = self._decode(torch.stack(latents).view(count, self.model.latent_dim, self.window))
        spec = self.spectrogram
        mel = (join_db(spec.mel_to_db(windows), frames) - spec.mean) / spec.std
        audio = self._render(mel, samples, seed, quality)
        return Sound(
            audio,
            self.sample_rate,
            self._settings(
                "generate", quality=quality, seed=seed, seconds=rounded(seconds), evolve=evolve, axes=settings_axes
            ),
            notes,
        )

    @torch.no_grad()
    def vary(self, audio: np.ndarray, count: int = 4, amount: float = 0.5, seed: int = 0,
             axes: dict[int | str, float] | None = None, quality: str = "fast") -> list[Sound]:
        """``count`` variations of ``audio``, each as long as it; ``amount`` 0 is its plain reconstruction.

        ``axes`` here are offsets from the sound's own position.
        """
        wave = self._input(audio, "sound to vary")
        count = check_whole(count, "count", 1, MAX_COUNT)
        amount = check_fraction(amount, "amount")
        seed = check_seed(seed)
        offsets, notes = resolve_axes(self.axes, axes)
        digest = short_digest(wave)
        sounds = []
        for number in range(count):
            rng = np.random.default_rng([seed, number])
            out = self._reconstruct(wave, offsets, rng, amount, seed + number, quality)
            settings = self._settings("vary", quality=quality, seed=seed, variation=number, count=count, amount=amount,
                                      axes=offsets, seconds=rounded(len(wave) / self.sample_rate), source_sha256=digest)
            sounds.append(Sound(out, self.sample_rate, settings, list(notes)))
        return sounds

    @torch.no_grad()
    def resynthesise(
        self, audio: np.ndarray, axes: dict[int | str, float] | None = None, quality: str = "fast"
    ) -> Sound:
        """``audio`` played through the model, pushed along ``axes`` (offsets from its own position)."""
        wave = self._input(audio, "sound to resynthesise")
        offsets, notes = resolve_axes(self.axes, axes)
        out = self._reconstruct(wave, offsets, None, 0.0, 0, quality)
        settings = self._settings("resynthesise", quality=quality, axes=offsets,
                                  seconds=rounded(len(wave) / self.sample_rate), source_sha256=short_digest(wave))
        return Sound(out, self.sample_rate, settings, notes)

    @torch.no_grad()
    def morph(self, audio_a: np.ndarray, audio_b: np.ndarray, steps: int = 5, quality: str = "fast") -> list[Sound]:
        """``steps`` sounds from A (first) to B (last); lengths go from A's to B's."""
        wave_a, wave_b = self._input(audio_a, "first sound (A)"), self._input(audio_b, "second sound (B)")
        steps = check_whole(steps, "steps", 2, MAX_STEPS)
        mel_a, mel_b = self._mel(wave_a), self._mel(wave_b)
        frames = max(mel_a.shape[-1], mel_b.shape[-1])
        z_a, z_b = (
            self._encode_mel(pad_frames(mel_a, frames, self._silence)),
            self._encode_mel(pad_frames(mel_b, frames, self._silence)),
        )
        digests = {"source_a_sha256": short_digest(wave_a), "source_b_sha256": short_digest(wave_b)}
        sounds = []
        for step in range(steps):
            t = step / (steps - 1)
            samples = int(round((1 - t) * len(wave_a) + t * len(wave_b)))
            mel = self.model.decode(torch.lerp(z_a, z_b, t)[None], self.spectrogram.config.frames_for(samples))[
                0
            ].float()
            out = self._render(mel, samples, step, quality)
            sounds.append(
                Sound(
                    out,
                    self.sample_rate,
                    self._settings(
                        "morph",
                        quality=quality,
                        step=step,
                        steps=steps,
                        position=rounded(t),
                        seconds=rounded(samples / self.sample_rate),
                        **digests,
                    ),
                )
            )
        return sounds

    @torch.no_grad()
    def morph_continuous(
        self, audio_a: np.ndarray, audio_b: np.ndarray, seconds: float = 4.0, quality: str = "fast"
    ) -> Sound:
        """One sound ``seconds`` long that starts as A and turns into B (each looped as needed)."""
        wave_a, wave_b = self._input(audio_a, "first sound (A)"), self._input(audio_b, "second sound (B)")
        samples = self._samples(seconds)
        frames = self.spectrogram.config.frames_for(samples)
        length = self.model.latent_frames(frames)
        least = self.window * self.model.time_stride  # short sounds repeat once per window, not back to back
        z_a = self._encode_mel(pad_frames(self._mel(wave_a), least, self._silence))
        z_b = self._encode_mel(pad_frames(self._mel(wave_b), least, self._silence))
        ramp = ((torch.arange(length, dtype=torch.float32) + 0.5) / length - 0.1) / 0.8
        t = ramp.clamp(0, 1)
        t = (t * t * (3 - 2 * t)).to(self.device)  # smoothstep: A held at the start, B at the end
        z = tile(z_a, length) * (1 - t) + tile(z_b, length) * t
        mel = self.model.decode(z[None], frames)[0].float()
        out = self._render(mel, samples, 0, quality)
        return Sound(
            out,
            self.sample_rate,
            self._settings(
                "morph_continuous",
                quality=quality,
                seconds=rounded(seconds),
                source_a_sha256=short_digest(wave_a),
                source_b_sha256=short_digest(wave_b),
            ),
        )

    def axis(self, name: int | str) -> Axis:
        return find_axis(self.axes, name)

    # -- latents -----------------------------------------------------------
    def _component(self, key: str) -> int:
        return find_axis(self.axes, key).index - 1

    def _place(self, z: torch.Tensor, positions: dict[str, float]) -> torch.Tensor:
        for key, value in positions.items():
            z = self.prior.set_position(z, self._component(key), value)
        return z

    def _window_offsets(
        self, length: int, offsets: dict[str, float], rng: np.random.Generator | None, amount: float
    ) -> torch.Tensor:
        """(latent_dim, length) offsets: axis moves plus random ones, window by window, crossfaded."""
        overlap = overlap_frames(self.window)
        count = window_count(length, self.window, overlap)
        zero = torch.zeros_like(self.prior.mean)
        deltas = []
        for _ in range(count):
            delta = self.prior.perturb(zero, rng, amount) if rng is not None else zero.clone()
            for key, value in offsets.items():
                delta = self.prior.shift(delta, self._component(key), value)
            deltas.append(delta.view(self.model.latent_dim, self.window))
        return crossfade(torch.stack(deltas), overlap, length).to(self.device)

    @torch.no_grad()
    def _decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.model.decode(z.to(self.device)).float()

    @property
    def _silence(self) -> float:
        return self.spectrogram.silence_value

    @torch.no_grad()
    def _mel(self, wave: np.ndarray) -> torch.Tensor:
        return self.spectrogram.waveform_to_mel(torch.from_numpy(wave).to(self.device))

    @torch.no_grad()
    def _encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        return self.model.encode(mel[None])[0][0].float()

    def _reconstruct(self, wave: np.ndarray, offsets: dict[str, float], rng: np.random.Generator | None,
                     amount: float, seed: int, quality: str) -> np.ndarray:
        """``wave`` through the one reconstruction path, its latents moved along axes (and randomly, with ``rng``).

        No axes and no randomness is the plain reconstruction, the same as ``python -m sda reconstruct``.
        """
        if not offsets and rng is None:
            return reconstruct_audio(self.model, self.spectrogram, wave, seed=seed, quality=quality,
                                     inverter=self.inverter)
        length = self.model.latent_frames(self.spectrogram.config.frames_for(len(wave)))
        edit = add_offsets(self._window_offsets(length, offsets, rng, amount))
        return reconstruct_audio(self.model, self.spectrogram, wave, seed=seed, quality=quality, edit=edit,
                                 inverter=self.inverter)

    # -- audio ---------------------------------------------------------------
    @torch.no_grad()
    def _render(self, mel: torch.Tensor, samples: int, seed: int, quality: str) -> np.ndarray:
        audio = self.inverter.invert_numpy(mel, samples, seed=seed, quality=check_quality(quality))
        fade = min(samples, int(END_FADE_SECONDS * self.sample_rate))
        if fade > 1:
            audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        return audio

    def _samples(self, seconds: float) -> int:
        return check_seconds(seconds, self.sample_rate)

    def _input(self, audio: np.ndarray, what: str) -> np.ndarray:
        return check_audio(audio, what, self.sample_rate)

    def _settings(self, kind: str, **values) -> dict:
        return {
            "model_id": self.model_id,
            "model_name": self.name,
            "kind": kind,
            "sample_rate": self.sample_rate,
            "level_gain_db": self.level_gain_db,
            **values,
        }

