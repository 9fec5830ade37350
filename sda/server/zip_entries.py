"""How many entries a zip holds, counted from its end without building the zipfile module's list.

``zipfile.ZipFile`` reads the whole central directory and makes one object
per entry before anything can be checked: a small zip of a million empty
entries costs about a gigabyte just to open. ``count_entries`` reads the
end-of-central-directory record (and its ZIP64 form) from the file's tail,
then walks the central directory's headers one by one from disk, stopping
as soon as the count passes the cap: memory stays flat whatever the zip claims.
"""

from __future__ import annotations

import struct
from pathlib import Path

_EOCD = struct.Struct("<4s4H2LH")  # signature, disk, cd disk, entries here, entries, cd size, cd offset, comment
_EOCD_SIG = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # signature, disk, offset of the ZIP64 record, disks
_ZIP64_LOCATOR_SIG = b"PK\x06\x07"
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")  # signature, size, versions, disks, entries here, entries, size, offset
_ZIP64_EOCD_SIG = b"PK\x06\x06"
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # one central directory header (46 bytes)
_CENTRAL_SIG = b"PK\x01\x02"
_TAIL = _EOCD.size + 0xFFFF  # the record, and a comment of at most 64 KB before the end


def count_entries(path: Path, cap: int) -> int | None:
    """The number of entries in zip ``path``, or a number above ``cap`` as soon as it is clear there are more.

    Both the count the zip declares and the headers actually in its central
    directory are checked (a zip may declare fewer than it holds). None when
    the end record cannot be found: the zip is damaged, and the zipfile
    module says so in its own words.
    """
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - _TAIL))
        tail = handle.read()
        at = tail.rfind(_EOCD_SIG)
        if at < 0 or len(tail) - at < _EOCD.size:
            return None
        eocd_pos = size - len(tail) + at
        _, _, _, _, declared, cd_size, _, _ = _EOCD.unpack_from(tail, at)
        zip64 = _zip64_record(handle, eocd_pos)
        if zip64 is not None:
            declared, cd_size, record_pos = zip64
            eocd_pos = record_pos
        if declared > cap:
            return declared
        # Like the zipfile module: the directory ends where the end record begins (data may precede the zip).
        return _walk(handle, eocd_pos - cd_size, eocd_pos, cap)


def _zip64_record(handle, eocd_pos: int) -> tuple[int, int, int] | None:
    """(entries, directory size, record position) from the ZIP64 end record, if the zip has one."""
    if eocd_pos < _ZIP64_LOCATOR.size:
        return None
    handle.seek(eocd_pos - _ZIP64_LOCATOR.size)
    signature, _, _, _ = _ZIP64_LOCATOR.unpack(handle.read(_ZIP64_LOCATOR.size))
    record_pos = eocd_pos - _ZIP64_LOCATOR.size - _ZIP64_EOCD.size
    if signature != _ZIP64_LOCATOR_SIG or record_pos < 0:
        return None
    handle.seek(record_pos)
    fields = _ZIP64_EOCD.unpack(handle.read(_ZIP64_EOCD.size))
    if fields[0] != _ZIP64_EOCD_SIG:
        return None
    return fields[7], fields[8], record_pos


def _walk(handle, start: int, end: int, cap: int) -> int | None:
    """Headers between ``start`` and ``end``, counted up to ``cap + 1``; None when they do not parse."""
    if start < 0:
        return None
    handle.seek(start)
    count, position = 0, start
    while position + _CENTRAL.size <= end and count <= cap:
        header = handle.read(_CENTRAL.size)
        if len(header) < _CENTRAL.size or header[:4] != _CENTRAL_SIG:
            return None
        fields = _CENTRAL.unpack(header)
        skip = fields[12] + fields[13] + fields[14]  # name, extra field and comment lengths
        handle.seek(skip, 1)
        position += _CENTRAL.size + skip
        count += 1
    return count
