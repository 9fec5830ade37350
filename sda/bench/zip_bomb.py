"""A crafted zip of very many empty entries: small on disk, costly for anything that lists it.

Written header by header (stored, empty ``.wav`` entries), so that making
a million entries takes seconds and little memory. Used by
scripts/bench_zip_bomb.py and the tests of the upload's entry cap.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_EMPTY_CRC = zlib.crc32(b"")


def write_many_entry_zip(path: Path, entries: int, declared: int | None = None) -> Path:
    """A zip of ``entries`` empty entries; its end record claims ``declared`` (default: the truth)."""
    declared = entries if declared is None else declared
    central = bytearray()
    with open(path, "wb") as out:
        for i in range(entries):
            name = f"s{i:07d}.wav".encode()
            offset = out.tell()
            out.write(_LOCAL.pack(b"PK\x03\x04", 20, 0, 0, 0, 0, _EMPTY_CRC, 0, 0, len(name), 0))
            out.write(name)
            central += _CENTRAL.pack(b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, _EMPTY_CRC, 0, 0, len(name), 0, 0,
                                     0, 0, 0o100644 << 16, offset)
            central += name
        cd_offset = out.tell()
        out.write(central)
        cd_size = len(central)
        if declared > 0xFFFF:  # the count needs the ZIP64 end record
            zip64_at = out.tell()
            out.write(_ZIP64_END.pack(b"PK\x06\x06", _ZIP64_END.size - 12, 45, 45, 0, 0, declared, declared,
                                      cd_size, cd_offset))
            out.write(_ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, zip64_at, 1))
            out.write(_END.pack(b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            out.write(_END.pack(b"PK\x05\x06", 0, 0, declared, declared, cd_size, cd_offset, 0))
    return path
