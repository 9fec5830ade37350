"""In-memory datasets of log-mel chunks, with a file-level train/validation split.

Audio is decoded once (``sda.audio.validation.decode_dataset``); each clip's
log-mel spectrogram is then computed once, batched, on the training device,
and kept there. A chunk is a window of frames (1 s = 94 frames at 48 kHz)
into one clip's spectrogram, so no training step touches a file or runs an
STFT: the step is the model and nothing else. Clips shorter than a chunk are
padded with silence after the sound; longer ones give consecutive chunks, the
last aligned to the clip's end. With augmentation, training chunks start at
a random frame of their clip each epoch.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from sda.audio.augmentation import AugmentationPipeline, make_variants
from sda.audio.spectrogram import AudioSpectrogram
from sda.audio.validation import DecodedDataset, DurationLimits, FileIssue, decode_dataset
from sda.training.config import TrainingConfig

ProgressCallback = Callable[[str, float, str], None]  # (phase, fraction, message)


class AudioTrainingDataset(Dataset):
    """Fixed-length windows of frames over per-clip log-mel spectrograms."""

    def __init__(self, mels: list[torch.Tensor], chunk_frames: int) -> None:
        self.chunk_frames = chunk_frames
        self.mels = mels
        self.index: list[tuple[int, int]] = [
            (clip, offset) for clip, mel in enumerate(mels) for offset in _chunk_offsets(mel.shape[-1], chunk_frames)
        ]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> torch.Tensor:
        clip, start = self.index[index]
        return self.mels[clip][:, start : start + self.chunk_frames]

    def batch(self, indices: torch.Tensor, jitter: torch.Generator | None = None) -> torch.Tensor:
        """(len(indices), n_mels, chunk_frames); with ``jitter``, random start frames."""
        windows = []
        for i in indices.tolist():
            clip, start = self.index[i]
            mel = self.mels[clip]
            if jitter is not None and mel.shape[-1] > self.chunk_frames:
                start = int(torch.randint(0, mel.shape[-1] - self.chunk_frames + 1, (1,), generator=jitter))
            windows.append(mel[:, start : start + self.chunk_frames])
        return torch.stack(windows)


def _chunk_offsets(length: int, chunk: int) -> list[int]:
    offsets = list(range(0, length - chunk + 1, chunk))
    if offsets[-1] + chunk < length:
        offsets.append(length - chunk)
    return offsets


class ChunkLoader:
    """Batches of chunks, shuffled per epoch by a seeded generator (so resume repeats them)."""

    def __init__(self, dataset: AudioTrainingDataset, batch_size: int, shuffle: bool, seed: int = 0,
                 augmentation: AugmentationPipeline | None = None) -> None:
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.augmentation = augmentation
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        return self.iter_from(0)

    def iter_from(self, first_batch: int) -> Iterator[torch.Tensor]:
        """Batches of this epoch starting at ``first_batch`` (to resume mid-epoch)."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = (
            torch.randperm(len(self.dataset), generator=generator) if self.shuffle else torch.arange(len(self.dataset))
        )
        for index in range(first_batch, len(self)):
            picks = order[index * self.batch_size : (index + 1) * self.batch_size]
            if self.augmentation is None:
                yield self.dataset.batch(picks)
                continue
            batch_gen = torch.Generator().manual_seed(self.seed * 7_919 + self.epoch * 100_003 + index)
            yield self.augmentation(self.dataset.batch(picks, jitter=batch_gen), batch_gen)


def split_files(paths: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """File-level split: a validation file never contributes a training chunk."""
    ordered = sorted(paths)
    count = len(ordered)
    val_count = int(round(count * val_fraction))
    if val_fraction > 0 and count >= 2:
        val_count = min(max(val_count, 1), count - 1)
    else:
        val_count = 0
    order = np.random.default_rng(seed).permutation(count)
    val = sorted(ordered[i] for i in order[:val_count])
    train = sorted(ordered[i] for i in order[val_count:])
    return train, val


def compute_mel(audio: np.ndarray, spectrogram: AudioSpectrogram, chunk_samples: int) -> torch.Tensor:
    """Log-mel (dB, not yet normalised) of one clip, padded to at least one chunk."""
    if len(audio) < chunk_samples:
        audio = np.pad(audio, (0, chunk_samples - len(audio)))
    return spectrogram.waveform_to_db(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)))


def _first_chunk(audio: np.ndarray, chunk_samples: int) -> torch.Tensor:
    return torch.from_numpy(np.pad(audio, (0, max(0, chunk_samples - len(audio))))[:chunk_samples].astype(np.float32))


def release_free_memory() -> None:
    """Hand freed heap memory back to the system (glibc keeps it otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


@dataclass
class PreparedData:
    """Everything training needs from the dataset, plus what to tell the user."""

    train_loader: ChunkLoader
    val_loader: ChunkLoader
    decoded: DecodedDataset
    train_files: list[str]
    val_files: list[str]
    preview_audio: torch.Tensor  # a couple of validation chunks as audio, for reconstruction previews
    issues: list[FileIssue] = field(default_factory=list)
    # Some of the training and validation files' audio, kept (bounded) for the learned inversion's phase.
    inversion_audio: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])

    def manifest(self) -> dict:
        files = []
        val = set(self.val_files)
        for entry in self.decoded.manifest():
            entry = dict(entry, path=str(entry["path"]))
            entry["split"] = "val" if entry["path"] in val else "train"
            files.append(entry)
        return {
            "files": files,
            "issues": [{"path": str(i.path), "reason": i.reason} for i in self.issues],
            "train_chunks": len(self.train_loader.dataset),
            "val_chunks": len(self.val_loader.dataset),
        }


def prepare_data(file_paths, config: TrainingConfig, spectrogram: AudioSpectrogram,
                 progress: ProgressCallback | None = None, decoded: DecodedDataset | None = None,
                 normalization: dict | None = None, release_audio: bool | None = None,
                 limits: DurationLimits = DurationLimits()) -> PreparedData:
    """Decode (once), split by file, expand training files, compute log-mels, build both loaders.

    ``normalization`` (from a checkpoint) is reused as is; otherwise it is
    measured on the training spectrograms. With ``release_audio`` the decoded
    clips' audio is dropped once their spectrograms exist (the manifest and
    summary stay). By default that happens only to a dataset decoded here;
    a caller's ``decoded`` is left intact unless it asks for the release.
    ``limits`` bound how much audio is decoded (files past them are skipped, with a reason).
    """
    if release_audio is None:
        release_audio = decoded is None
    if decoded is None:
        def on_file(done: int, total: int, name: str) -> None:
            if progress:
                progress("decoding", done / max(total, 1), f"Decoding {done}/{total}: {name}")
        decoded = decode_dataset(file_paths, progress=on_file, limits=limits)
    clips = {str(clip.path): clip for clip in decoded.clips}
    train_files, val_files = split_files(list(clips), config.val_fraction, config.seed)
    chunk_samples = int(round(config.chunk_seconds * spectrogram.config.sample_rate))
    chunk_frames = spectrogram.config.frames_for(chunk_samples)
    preview_files = (val_files or train_files)[:2]
    preview_audio = torch.stack([_first_chunk(clips[p].audio, chunk_samples) for p in preview_files]) \
        if preview_files else torch.zeros(0, chunk_samples)

    # One file at a time: its spectrogram, its pitch-shifted copies' spectrograms,
    # then (with release_audio) its audio goes. Memory peaks near the audio of
    # the dataset, not at audio + copies + spectrograms.
    expansion = config.regularization.augmentation_expansion
    rng = np.random.default_rng(config.seed)
    train_mels, variant_mels, val_mels = [], [], []
    ordered = [(p, True) for p in train_files] + [(p, False) for p in val_files]
    kept = _inversion_picks(clips, train_files, val_files, spectrogram.config.sample_rate, config.seed)
    inversion_audio: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    for number, (path, is_train) in enumerate(ordered, start=1):
        audio = clips[path].audio
        if path in kept:
            inversion_audio[0 if is_train else 1].append(np.array(audio[: kept[path]], dtype=np.float32))
        (train_mels if is_train else val_mels).append(compute_mel(audio, spectrogram, chunk_samples))
        if is_train and expansion > 0:
            variant_mels.extend(
                compute_mel(v, spectrogram, chunk_samples) for v in make_variants(audio, expansion, rng)
            )
        if release_audio:
            clips[path].audio = np.zeros(0, dtype=np.float32)
        del audio
        if progress and (number % 16 == 0 or number == len(ordered)):
            progress("spectrograms", number / len(ordered), f"Computing spectrograms {number}/{len(ordered)}")
    train_mels += variant_mels
    del clips
    if release_audio:
        release_free_memory()
    if normalization is None:
        spectrogram.fit_normalization_db(train_mels)
    else:
        spectrogram.load_normalization_state(normalization)
    for mel in train_mels + val_mels:
        spectrogram.normalize_(mel)

    strength = config.regularization.augmentation_strength
    augmentation = None
    if strength > 0:
        augmentation = AugmentationPipeline(
            strength,
            db_scale=spectrogram.std,
            floor=spectrogram.silence_value,
            frames_per_second=spectrogram.config.sample_rate / spectrogram.config.hop_length,
        )
    train_set = AudioTrainingDataset(train_mels, chunk_frames)
    val_set = AudioTrainingDataset(val_mels, chunk_frames)
    train_loader = ChunkLoader(train_set, config.batch_size, shuffle=True, seed=config.seed, augmentation=augmentation)
    val_loader = ChunkLoader(val_set, config.batch_size, shuffle=False, seed=config.seed)
    return PreparedData(train_loader, val_loader, decoded, train_files, val_files, preview_audio, list(decoded.issues),
                        inversion_audio)


INVERSION_TRAIN_SECONDS, INVERSION_VAL_SECONDS, INVERSION_CLIP_SECONDS = 120.0, 30.0, 8.0


def _inversion_picks(clips: dict, train_files: list[str], val_files: list[str], sample_rate: int,
                     seed: int) -> dict[str, int]:
    """{path: samples kept} for the learned inversion: files in a seeded order, each at most 8 s, within budgets."""
    picks: dict[str, int] = {}
    rng = np.random.default_rng(seed + 17)
    for files, budget in ((train_files, INVERSION_TRAIN_SECONDS), (val_files, INVERSION_VAL_SECONDS)):
        left = int(budget * sample_rate)
        for index in rng.permutation(len(files)):
            take = min(len(clips[files[index]].audio), int(INVERSION_CLIP_SECONDS * sample_rate), left)
            if take <= 0:
                break
            picks[files[index]] = take
            left -= take
    return picks


def create_data_loaders(file_paths: list[Path], config: TrainingConfig, augmentation_pipeline=None,
                        spectrogram: AudioSpectrogram | None = None) -> tuple[ChunkLoader, ChunkLoader]:
    """(train_loader, val_loader) for ``file_paths`` (the plan's entry point); batches are log-mels."""
    data = prepare_data(file_paths, config, spectrogram or AudioSpectrogram())
    if augmentation_pipeline is not None:
        data.train_loader.augmentation = augmentation_pipeline
    return data.train_loader, data.val_loader
