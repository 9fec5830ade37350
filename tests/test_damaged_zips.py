"""A damaged zip costs only its damaged entries: they are named, the rest is kept, no half file stays."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from audio_files import write_tone

from sda.audio.validation import decode_dataset
from sda.server.settings import AppSettings
from sda.server.workspace import Workspace, new_workspace_id


def noisy_wav(path: Path, seconds: float, seed: int) -> Path:
    """Noise compresses badly, so a few seconds of it make a zip entry larger than one copy chunk (1 MB)."""
    rng = np.random.default_rng(seed)
    audio = 0.3 * rng.standard_normal(int(seconds * 48000))
    sf.write(path, audio.astype(np.float32), 48000, subtype="PCM_16")
    return path


def deflated_zip(path: Path, files: list[Path]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, f"sounds/{file.name}")
    return path


def _info(path: Path, member: str) -> zipfile.ZipInfo:
    with zipfile.ZipFile(path) as archive:
        return archive.getinfo(member)


def corrupt_crc(path: Path, member: str) -> None:
    """Change the stored CRC-32 of `member` (local header and central directory); its data stays intact."""
    info = _info(path, member)
    data = bytearray(path.read_bytes())
    wrong = struct.pack("<I", info.CRC ^ 0x5A5A5A5A)
    data[info.header_offset + 14 : info.header_offset + 18] = wrong
    name = member.encode()
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack("<H", data[central + 28 : central + 30])[0]
        if data[central + 46 : central + 46 + name_len] == name:
            data[central + 16 : central + 20] = wrong
            break
        central = data.find(b"PK\x01\x02", central + 4)
    else:
        raise AssertionError("central directory entry not found")
    path.write_bytes(bytes(data))


def break_deflate(path: Path, member: str) -> None:
    """Overwrite the second half of `member`'s compressed data with bytes no deflate stream allows there."""
    info = _info(path, member)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    middle = start + info.compress_size // 2
    data[middle : middle + 4096] = b"\xff" * 4096
    path.write_bytes(bytes(data))


@pytest.fixture
def workspace(tmp_path) -> Workspace:
    return Workspace(AppSettings(data_root=tmp_path / "data"), new_workspace_id()).ensure()


def test_a_zip_with_a_bad_crc_and_a_broken_stream_keeps_its_good_entries_and_the_other_files(tmp_path, workspace):
    src = tmp_path / "src"
    src.mkdir()
    good_a = write_tone(src / "good_a.wav", seconds=1.5)
    bad_crc = noisy_wav(src / "bad_crc.wav", seconds=30.0, seed=2)
    broken = noisy_wav(src / "broken.wav", seconds=30.0, seed=3)
    good_b = noisy_wav(src / "good_b.wav", seconds=12.0, seed=4)
    archive = deflated_zip(tmp_path / "pack.zip", [good_a, bad_crc, broken, good_b])
    assert _info(archive, "sounds/bad_crc.wav").file_size > 2 * 1024 * 1024, "more than one copy chunk is written first"
    corrupt_crc(archive, "sounds/bad_crc.wav")
    break_deflate(archive, "sounds/broken.wav")
    beside = write_tone(tmp_path / "beside.wav", seconds=1.0, freq=330.0)

    report = workspace.add_uploads([archive, beside])

    rejected = dict(report.rejected)
    assert set(rejected) == {"pack.zip: sounds/bad_crc.wav", "pack.zip: sounds/broken.wav"}
    assert "checksum" in rejected["pack.zip: sounds/bad_crc.wav"]
    assert "compressed data is broken" in rejected["pack.zip: sounds/broken.wav"]
    assert sorted(report.added) == ["beside.wav", "good_a.wav", "good_b.wav"]
    # Nothing half-copied is left where the dataset scan (and training) would find it.
    dataset = workspace.dataset_dir()
    assert sorted(p.name for p in workspace.dataset_files()) == ["beside.wav", "good_a.wav", "good_b.wav"]
    assert not [p for p in dataset.rglob("*") if "bad_crc" in p.name or "broken" in p.name]
    # The kept entries are whole: byte for byte the originals, and they decode.
    assert (dataset / "good_b.wav").read_bytes() == good_b.read_bytes()
    decoded = decode_dataset(workspace.dataset_files())
    assert decoded.file_count == 3 and not decoded.issues
    # The table of left-out files names both damaged entries.
    assert {name for name, _ in workspace.rejected()} == set(rejected)


def test_a_failed_copy_removes_its_partial_file(tmp_path):
    from sda.server import ingest as ingest_module

    class FailsLate:
        """A source that gives two chunks and then fails, as a zip entry with a bad CRC does at its end."""

        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int) -> bytes:
            self.calls += 1
            if self.calls > 2:
                raise zipfile.BadZipFile("Bad CRC-32 for file 'x.wav'")
            return b"\x01" * size

    destination = tmp_path / "x.wav"
    with pytest.raises(zipfile.BadZipFile):
        ingest_module._copy_capped(FailsLate(), destination, cap=1 << 30)
    assert not destination.exists()


def test_a_zip_whose_every_entry_is_damaged_is_reported_and_the_upload_goes_on(tmp_path, workspace):
    src = tmp_path / "src"
    src.mkdir()
    archive = deflated_zip(tmp_path / "all_bad.zip", [noisy_wav(src / "only.wav", seconds=20.0, seed=6)])
    break_deflate(archive, "sounds/only.wav")
    beside = write_tone(tmp_path / "kept.wav", seconds=1.0)
    report = workspace.add_uploads([archive, beside])
    assert report.added == ["kept.wav"]
    assert [name for name, _ in report.rejected] == ["all_bad.zip: sounds/only.wav"]
    assert [p.name for p in workspace.dataset_files()] == ["kept.wav"]
