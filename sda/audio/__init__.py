"""Audio: decoding and validation, spectrograms, augmentation, fidelity metrics."""

from sda.audio.io import AUDIO_EXTENSIONS, SAMPLE_RATE, AudioLoadError, DecodedClip, load_audio, write_wav
from sda.audio.spectrogram import AudioSpectrogram, SpectrogramConfig
from sda.audio.validation import (
    DatasetError,
    DecodedDataset,
    FileIssue,
    decode_dataset,
    find_audio_files,
    require_usable,
    resolve_dataset_paths,
)

__all__ = [
    "AUDIO_EXTENSIONS",
    "SAMPLE_RATE",
    "AudioLoadError",
    "AudioSpectrogram",
    "DatasetError",
    "DecodedClip",
    "DecodedDataset",
    "FileIssue",
    "SpectrogramConfig",
    "decode_dataset",
    "find_audio_files",
    "load_audio",
    "require_usable",
    "resolve_dataset_paths",
    "write_wav",
]
