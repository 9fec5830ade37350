"""A SoundFont 2.01 file of one preset and one instrument, from mono samples and their zones.

Layout (SoundFont 2.01): RIFF ``sfbk`` holding LIST ``INFO`` (ifil 2.01,
isng, INAM, ISFT), LIST ``sdta`` (``smpl``: every sample as 16-bit PCM, each
followed by 46 zero points) and LIST ``pdta`` (phdr, pbag, pmod, pgen, inst,
ibag, imod, igen, shdr, each ending with its terminal record). The preset has
one global-free zone pointing at the instrument; each instrument zone carries
keyRange, velRange (first, in that order, as the format asks), then the root
key, the release and the exclusive class, and sampleID last.

SoundFont has no round robin. A zone of round robin k of n gets the k-th of n
consecutive slices of its velocity range instead, so every take still plays,
each at slightly different strengths of touch.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from sda.audio.sampler_zones import Zone

# Generator numbers (SoundFont 2.01, section 8.1.2).
RELEASE_VOL_ENV, INSTRUMENT, KEY_RANGE, VEL_RANGE = 38, 41, 43, 44
SAMPLE_ID, SAMPLE_MODES, EXCLUSIVE_CLASS, OVERRIDING_ROOT_KEY = 53, 54, 57, 58
MONO_SAMPLE = 1
ZERO_POINTS = 46  # at least 46 zero sample points after each sample


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack("<I", len(data)) + data + (b"\0" if len(data) % 2 else b"")


def _list(kind: bytes, chunks: list[bytes]) -> bytes:
    return _chunk(b"LIST", kind + b"".join(chunks))


def _name(text: str, size: int = 20) -> bytes:
    return text.encode("ascii", "replace")[: size - 1].ljust(size, b"\0")


def _zstr(text: str) -> bytes:
    data = text.encode("ascii", "replace")[:255] + b"\0"
    return data + (b"\0" if len(data) % 2 else b"")


def _gen(oper: int, amount: int, signed: bool = False) -> bytes:
    return struct.pack("<Hh" if signed else "<HH", oper, amount)


def _range(oper: int, low: int, high: int) -> bytes:
    return struct.pack("<HBB", oper, low, high)


def timecents(seconds: float) -> int:
    return int(round(1200 * math.log2(max(seconds, 0.001))))


def sf2_velocity_slice(zone: Zone) -> tuple[int, int]:
    """The velocities a zone plays in a SoundFont: its range, cut into one slice per round robin."""
    width = zone.hivel - zone.lovel + 1
    if zone.seq_length <= 1 or width < zone.seq_length:
        return zone.lovel, zone.hivel
    low = zone.lovel + (zone.seq_position - 1) * width // zone.seq_length
    high = zone.lovel + zone.seq_position * width // zone.seq_length - 1
    return low, high


def sf2_bytes(name: str, zones: list[Zone], samples: dict[str, np.ndarray], sample_rate: int) -> bytes:
    """The SoundFont: ``samples`` maps each zone's sample name to float audio in -1..1 (clipped there)."""
    order = list(dict.fromkeys(zone.sample for zone in zones))
    data, headers, index = bytearray(), [], {}
    keycenters = {zone.sample: zone.keycenter for zone in zones}
    for number, sample in enumerate(order):
        pcm = np.round(np.clip(np.asarray(samples[sample], dtype=np.float64), -1.0, 1.0) * 32767).astype("<i2")
        start = len(data) // 2
        data += pcm.tobytes() + bytes(2 * ZERO_POINTS)
        end = start + len(pcm)
        headers.append(_name(sample.rsplit(".", 1)[0]) + struct.pack(
            "<IIIIIBbHH", start, end, start, end, sample_rate, keycenters[sample], 0, 0, MONO_SAMPLE))
        index[sample] = number
    headers.append(_name("EOS") + bytes(26))

    igen, ibag = [], []
    for zone in zones:
        zone.check()
        low, high = sf2_velocity_slice(zone)
        ibag.append(struct.pack("<HH", len(igen), 0))
        igen += [_range(KEY_RANGE, zone.lokey, zone.hikey), _range(VEL_RANGE, low, high),
                 _gen(OVERRIDING_ROOT_KEY, zone.keycenter), _gen(SAMPLE_MODES, 0),
                 _gen(RELEASE_VOL_ENV, timecents(zone.release), signed=True)]
        if zone.choke:
            igen.append(_gen(EXCLUSIVE_CLASS, zone.choke))
        igen.append(_gen(SAMPLE_ID, index[zone.sample]))
    ibag.append(struct.pack("<HH", len(igen), 0))
    igen.append(bytes(4))

    info = _list(b"INFO", [_chunk(b"ifil", struct.pack("<HH", 2, 1)), _chunk(b"isng", _zstr("EMU8000")),
                           _chunk(b"INAM", _zstr(name)), _chunk(b"ISFT", _zstr("sda"))])
    sdta = _list(b"sdta", [_chunk(b"smpl", bytes(data))])
    pdta = _list(b"pdta", [
        _chunk(b"phdr", _name(name) + struct.pack("<HHHIII", 0, 0, 0, 0, 0, 0)
               + _name("EOP") + struct.pack("<HHHIII", 0, 0, 1, 0, 0, 0)),
        _chunk(b"pbag", struct.pack("<HH", 0, 0) + struct.pack("<HH", 1, 0)),
        _chunk(b"pmod", bytes(10)),
        _chunk(b"pgen", _gen(INSTRUMENT, 0) + bytes(4)),
        _chunk(b"inst", _name(name) + struct.pack("<H", 0) + _name("EOI") + struct.pack("<H", len(zones))),
        _chunk(b"ibag", b"".join(ibag)),
        _chunk(b"imod", bytes(10)),
        _chunk(b"igen", b"".join(igen)),
        _chunk(b"shdr", b"".join(headers)),
    ])
    return _chunk(b"RIFF", b"sfbk" + info + sdta + pdta)
