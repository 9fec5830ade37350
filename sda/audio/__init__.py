"""Audio: decoding and validation, spectrograms, augmentation, fidelity metrics."""

from sda.audio.io import (
    AUDIO_EXTENSIONS,
    SAMPLE_RATE,
    AudioLoadError,
    AudioTooLongError,
    DecodedClip,
    load_audio,
    write_wav,
)
from sda.audio.spectrogram import AudioSpectrogram, SpectrogramConfig
from sda.audio.validation import (
    DatasetError,
    DecodedDataset,
    DurationLimits,
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
    "AudioTooLongError",
    "AudioSpectrogram",
    "DatasetError",
    "DecodedClip",
    "DecodedDataset",
    "DurationLimits",
    "FileIssue",
    "SpectrogramConfig",
    "decode_dataset",
    "find_audio_files",
    "load_audio",
    "require_usable",
    "resolve_dataset_paths",
    "write_wav",
]
