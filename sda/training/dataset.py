"""In-memory chunked datasets with a file-level train/validation split.

Audio is decoded once (``sda.audio.validation.decode_dataset``) and kept in
memory; a chunk is a (clip, offset) pair, so no training step ever touches a
file. Files shorter than a chunk are padded with silence
after the sound; longer files are cut into consecutive chunks, the last one
aligned to the file's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset

from sda.audio.augmentation import AugmentationPipeline, make_variants
from sda.audio.validation import DecodedDataset, FileIssue, decode_dataset
from sda.training.config import TrainingConfig

ProgressCallback = Callable[[str, float, str], None]  # (phase, fraction, message)


class AudioTrainingDataset(Dataset):
    """Fixed-length chunks cut from clips held in memory.

    The clips' arrays are shared, not copied (only clips shorter than a chunk
    get a padded copy), so the dataset adds almost nothing to memory.
    """

    def __init__(self, clips: list[np.ndarray], chunk_samples: int) -> None:
        self.chunk_samples = chunk_samples
        self.clips: list[torch.Tensor] = []
        index: list[tuple[int, int]] = []
        for audio in clips:
            if len(audio) < chunk_samples:
                audio = np.pad(audio, (0, chunk_samples - len(audio)))
            clip_number = len(self.clips)
            self.clips.append(torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)))
            index.extend((clip_number, offset) for offset in _chunk_offsets(len(audio), chunk_samples))
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> torch.Tensor:
        clip_number, start = self.index[index]
        return self.clips[clip_number][start : start + self.chunk_samples]

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        """Stack the chunks at ``indices`` into (len(indices), chunk_samples)."""
        return torch.stack([self[int(i)] for i in indices])

    def all_chunks(self) -> torch.Tensor:
        return self.batch(torch.arange(len(self)))


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
        order = torch.randperm(len(self.dataset), generator=generator) if self.shuffle else torch.arange(len(self.dataset))
        for index in range(first_batch, len(self)):
            batch = self.dataset.batch(order[index * self.batch_size : (index + 1) * self.batch_size])
            if self.augmentation is not None:
                aug_gen = torch.Generator().manual_seed(self.seed * 7_919 + self.epoch * 100_003 + index)
                batch = self.augmentation(batch, aug_gen)
            yield batch


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


@dataclass
class PreparedData:
    """Everything training needs from the dataset, plus what to tell the user."""

    train_loader: ChunkLoader
    val_loader: ChunkLoader
    decoded: DecodedDataset
    train_files: list[str]
    val_files: list[str]
    issues: list[FileIssue] = field(default_factory=list)

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


def prepare_data(file_paths, config: TrainingConfig, progress: ProgressCallback | None = None,
                 decoded: DecodedDataset | None = None) -> PreparedData:
    """Decode (once), split by file, expand training files, and build both loaders."""
    if decoded is None:
        def on_file(done: int, total: int, name: str) -> None:
            if progress:
                progress("decoding", done / max(total, 1), f"Decoding {done}/{total}: {name}")
        decoded = decode_dataset(file_paths, progress=on_file)
    by_path = {str(clip.path): clip.audio for clip in decoded.clips}
    train_files, val_files = split_files(list(by_path), config.val_fraction, config.seed)
    chunk_samples = int(round(config.chunk_seconds * 48000))

    train_clips = [by_path[p] for p in train_files]
    expansion = config.regularization.augmentation_expansion
    if expansion > 0:
        rng = np.random.default_rng(config.seed)
        extra = []
        for number, audio in enumerate(list(train_clips), start=1):
            extra.extend(make_variants(audio, expansion, rng))
            if progress:
                progress("augmenting", number / len(train_clips), f"Making augmented copies {number}/{len(train_clips)}")
        train_clips += extra

    strength = config.regularization.augmentation_strength
    train_set = AudioTrainingDataset(train_clips, chunk_samples)
    val_set = AudioTrainingDataset([by_path[p] for p in val_files], chunk_samples)
    train_loader = ChunkLoader(train_set, config.batch_size, shuffle=True, seed=config.seed,
                               augmentation=AugmentationPipeline(strength) if strength > 0 else None)
    val_loader = ChunkLoader(val_set, config.batch_size, shuffle=False, seed=config.seed)
    return PreparedData(train_loader, val_loader, decoded, train_files, val_files, list(decoded.issues))


def create_data_loaders(file_paths: list[Path], config: TrainingConfig, augmentation_pipeline=None) -> tuple[ChunkLoader, ChunkLoader]:
    """(train_loader, val_loader) for ``file_paths`` (the plan's entry point)."""
    data = prepare_data(file_paths, config)
    if augmentation_pipeline is not None:
        data.train_loader.augmentation = augmentation_pipeline
    return data.train_loader, data.val_loader
