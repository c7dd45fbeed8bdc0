"""The certificates' QR codes as 1-bit bitmaps: segno's codes, without segno's ~0.7 ms per code.

Every certificate carries a different verification URL, all of one length. At a fixed version, error correction
level and mask, a QR code is an affine function of its data bits over GF(2): the Reed-Solomon codewords are linear
in the data codewords, and placing and masking only move and flip bits. So segno encodes, once per data length,
the all-zero data and each single-bit data (8 codes a byte: ~0.3 s for a 51-byte URL, once per process); a URL's
code is then the all-zero code XOR the difference each of its bits makes, looked up four bits at a time (~6 µs).
tests/test_certificates.py checks that the codes equal segno's.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import segno

# Error correction M; one fixed mask pattern: any of the eight makes a valid code, and scoring all eight is most of
# segno's time. Byte mode, so the version depends on the length alone.
SEGNO_OPTIONS = {"error": "m", "mask": 0, "micro": False, "boost_error": False, "mode": "byte"}


@dataclass(frozen=True)
class QRBitmap:
    """`size` modules a side (no quiet zone); `rows` one bit a module, 1 for light, each row padded to a whole byte,
    top row first: the data of a 1-bit DeviceGray PDF image."""
    size: int
    rows: bytes


def qr_bitmap(data: str) -> QRBitmap:
    """The QR code of `data` (byte mode, error correction M, mask 0), exactly as segno makes it."""
    if not data.isascii():  # segno picks the bytes of other text (Latin-1 or UTF-8): let it
        return _bitmap(segno.make(data, **SEGNO_OPTIONS).matrix)
    encoded = data.encode("ascii")
    size, code, nibbles = _affine_code(len(encoded))
    for position, byte in enumerate(encoded):
        code ^= nibbles[2 * position][byte >> 4] ^ nibbles[2 * position + 1][byte & 15]
    return QRBitmap(size, code.to_bytes((size + 7) // 8 * size, "big"))


_LIGHT_BITS = bytes.maketrans(b"\x00\x01", b"10")  # segno's rows hold 0 (light) and 1 (dark)


def _packed(matrix) -> int:
    """segno's matrix as one integer: its rows' bits, 1 for light, each row padded to a whole byte."""
    pad = b"1" * (-len(matrix) % 8)
    return int(b"".join(bytes(row).translate(_LIGHT_BITS) + pad for row in matrix), 2)


def _bitmap(matrix) -> QRBitmap:
    size = len(matrix)
    return QRBitmap(size, _packed(matrix).to_bytes((size + 7) // 8 * size, "big"))


@lru_cache(maxsize=8)
def _affine_code(length: int) -> tuple[int, int, tuple[tuple[int, ...], ...]]:
    """(size, the code of `length` zero bytes, per half byte of the data a table of the bits each of its 16 values
    flips), all codes packed as by `_packed`."""
    zero = segno.make(bytes(length), **SEGNO_OPTIONS)  # the smallest version for the length
    options = {**SEGNO_OPTIONS, "version": zero.version}
    base = _packed(zero.matrix)
    flips = []  # by bit of the data, most significant bit of the first byte first
    for bit in range(8 * length):
        data = bytearray(length)
        data[bit // 8] = 0x80 >> bit % 8
        flips.append(_packed(segno.make(bytes(data), **options).matrix) ^ base)
    nibbles = []
    for position in range(2 * length):
        table = [0] * 16
        for value in range(1, 16):
            lowest = value & -value  # its bit 8 is the half byte's first data bit, its bit 1 the fourth
            table[value] = table[value ^ lowest] ^ flips[4 * position + 4 - lowest.bit_length()]
        nibbles.append(tuple(table))
    return len(zero.matrix), base, tuple(nibbles)
